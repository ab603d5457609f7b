//! RFC 9001 Appendix A (QUIC v1) and RFC 9369 Appendix A (QUIC v2) test vectors, the
//! reader on real-shaped packets built with the same keys, and hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use aes_gcm::aead::Aead;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const DCID: &str = "8394c8f03e515708";

/// RFC 9001 A.2 / RFC 9369 A.2: the CRYPTO frame with the ClientHello (SNI example.com),
/// padded with 917 zero bytes to 1162.
const CLIENT_FRAMES: &str = "
060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
616d706c652e636f6dff01000100000a00080006001d00170018001000070005
04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
0d0010000e0403050306030203080408050806002d00020101001c0002400100
3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
75300901100f088394c8f03e51570806048000ffff";

/// RFC 9001 A.2: the protected client Initial (1200 bytes).
const V1_CLIENT_PACKET: &str = "
c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
e221af44860018ab0856972e194cd934";

/// RFC 9001 A.3: the server Initial (ACK + ServerHello).
const V1_SERVER_PACKET: &str = "
cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
2158407dd074ee";

const SERVER_FRAMES: &str = "
02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739
88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94
0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00
020304";

/// RFC 9369 A.2: the v2 client Initial.
const V2_CLIENT_PACKET: &str = "
d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
a18b2faa745b6fe189cf772a9f84cbfc";

/// RFC 9369 A.3: the v2 server Initial.
const V2_SERVER_PACKET: &str = "
dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
4bed8521e2e140";

fn client_payload() -> Vec<u8> {
    let mut p = unhex(CLIENT_FRAMES);
    p.resize(p.len() + 917, 0);
    p
}

#[test]
fn rfc9001_a1_initial_secrets_and_keys() {
    let (c, s) = initial_secrets(VERSION_1, &unhex(DCID)).unwrap();
    assert_eq!(
        c.to_vec(),
        unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
    );
    assert_eq!(
        s.to_vec(),
        unhex("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b")
    );
    let (ck, sk) = initial_keys(VERSION_1, &unhex(DCID)).unwrap();
    assert_eq!(ck.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(ck.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(ck.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
    assert_eq!(sk.key.to_vec(), unhex("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(sk.iv.to_vec(), unhex("0ac1493ca1905853b0bba03e"));
    assert_eq!(sk.hp.to_vec(), unhex("c206b8d9b9f0f37644430b490eeaa314"));
}

#[test]
fn rfc9001_a2_header_protection_mask() {
    let (ck, _) = initial_keys(VERSION_1, &unhex(DCID)).unwrap();
    let mask = hp_mask(&ck.hp, &unhex("d1b1c98dd7689fb8ec11d242b123dc9b")).unwrap();
    assert_eq!(mask.to_vec(), unhex("437b9aec36"));
}

#[test]
fn rfc9001_a2_client_initial_decrypts() {
    let pkt = unhex(V1_CLIENT_PACKET);
    assert_eq!(pkt.len(), 1200);
    let (ck, sk) = initial_keys(VERSION_1, &unhex(DCID)).unwrap();
    let o = open(&pkt, 18, &ck).unwrap();
    assert_eq!(
        o.header,
        unhex("c300000001088394c8f03e5157080000449e00000002")
    );
    assert_eq!(o.packet_number, 2);
    assert_eq!(o.payload, client_payload());
    // The server's keys do not open the client's packet.
    assert!(open(&pkt, 18, &sk).is_none());
}

#[test]
fn rfc9001_a3_server_initial_decrypts() {
    let (_, sk) = initial_keys(VERSION_1, &unhex(DCID)).unwrap();
    let o = open(&unhex(V1_SERVER_PACKET), 18, &sk).unwrap();
    assert_eq!(o.header, unhex("c1000000010008f067a5502a4262b50040750001"));
    assert_eq!(o.packet_number, 1);
    assert_eq!(o.payload, unhex(SERVER_FRAMES));
}

#[test]
fn rfc9369_a1_v2_secrets_and_keys() {
    let (c, s) = initial_secrets(VERSION_2, &unhex(DCID)).unwrap();
    assert_eq!(
        c.to_vec(),
        unhex("14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b")
    );
    assert_eq!(
        s.to_vec(),
        unhex("0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1")
    );
    let (ck, sk) = initial_keys(VERSION_2, &unhex(DCID)).unwrap();
    assert_eq!(ck.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(ck.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
    assert_eq!(ck.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
    assert_eq!(sk.key.to_vec(), unhex("82db637861d55e1d011f19ea71d5d2a7"));
    assert_eq!(sk.iv.to_vec(), unhex("dd13c276499c0249d3310652"));
    assert_eq!(sk.hp.to_vec(), unhex("edf6d05c83121201b436e16877593c3a"));
}

#[test]
fn rfc9369_a2_a3_v2_packets_decrypt() {
    let (ck, sk) = initial_keys(VERSION_2, &unhex(DCID)).unwrap();
    let o = open(&unhex(V2_CLIENT_PACKET), 18, &ck).unwrap();
    assert_eq!(
        o.header,
        unhex("d36b3343cf088394c8f03e5157080000449e00000002")
    );
    assert_eq!(o.packet_number, 2);
    assert_eq!(o.payload, client_payload());
    let o = open(&unhex(V2_SERVER_PACKET), 18, &sk).unwrap();
    assert_eq!(o.header, unhex("d16b3343cf0008f067a5502a4262b50040750001"));
    assert_eq!(o.payload, unhex(SERVER_FRAMES));
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ts() -> Timestamp {
    Timestamp::default()
}

const C: &str = "198.51.100.10:50000";
const S: &str = "192.0.2.10:4433";

fn hello_of(out: &[Out]) -> Vec<(ClientHello, u32, u32)> {
    out.iter()
        .filter_map(|(_, _, _, i)| match i {
            QuicItem::Hello {
                hello,
                packets,
                version,
                ..
            } => Some((hello.as_ref().clone(), *packets, *version)),
            _ => None,
        })
        .collect()
}

#[test]
fn reader_follows_the_rfc_exchange_v1_and_v2() {
    for (version, client, server) in [
        (VERSION_1, V1_CLIENT_PACKET, V1_SERVER_PACKET),
        (VERSION_2, V2_CLIENT_PACKET, V2_SERVER_PACKET),
    ] {
        let mut r = QuicReader::new(QuicLimits::default());
        let mut out = Vec::new();
        assert!(r.datagram(ts(), addr(C), addr(S), &unhex(client), None, &mut out));
        let h = hello_of(&out);
        assert_eq!(h.len(), 1);
        let (hello, packets, v) = &h[0];
        assert_eq!(*v, version);
        assert_eq!(*packets, 1);
        assert_eq!(hello.sni.as_deref(), Some("example.com"));
        assert_eq!(hello.alpn, vec!["alpn".to_string()]);
        assert_eq!(hello.versions, vec![0x0304]);
        let j = hello.ja4.clone().unwrap();
        assert!(j.starts_with("q13d0211an_"), "{j}");
        out.clear();
        assert!(r.datagram(ts(), addr(S), addr(C), &unhex(server), None, &mut out));
        assert!(matches!(out[0].3, QuicItem::ServerInitial));
        assert!(
            matches!(&out[1].3, QuicItem::ServerHello(sh) if sh.cipher == 0x1301 && sh.version == 0x0304)
        );
        // Client and server addresses stay the same in every item.
        assert!(out.iter().all(|o| o.1 == addr(C) && o.2 == addr(S)));
        assert_eq!(r.stats.initials_decrypted, 2);
    }
}

/// Builds a protected long-header packet the way a QUIC sender does (RFC 9001 §5.3/5.4),
/// with the keys under test; used to make split, reordered and coalesced Initials.
fn seal(
    version: u32,
    ty_bits: u8,
    dcid: &[u8],
    scid: &[u8],
    keys: &Keys,
    pn: u32,
    frames: &[u8],
) -> Vec<u8> {
    let mut h = vec![0xc0 | (ty_bits << 4) | 0x03];
    h.extend_from_slice(&version.to_be_bytes());
    h.push(dcid.len() as u8);
    h.extend_from_slice(dcid);
    h.push(scid.len() as u8);
    h.extend_from_slice(scid);
    if (version != VERSION_2 && ty_bits == 0) || (version == VERSION_2 && ty_bits == 1) {
        h.push(0); // no token
    }
    let len = 4 + frames.len() + 16;
    h.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
    let pn_offset = h.len();
    h.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, p) in nonce
        .iter_mut()
        .rev()
        .zip(u64::from(pn).to_be_bytes().iter().rev())
    {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).unwrap();
    let ct = aead
        .encrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: frames,
                aad: &h,
            },
        )
        .unwrap();
    let mut pkt = h;
    pkt.extend_from_slice(&ct);
    let mask = hp_mask(&keys.hp, &pkt[pn_offset + 4..pn_offset + 20]).unwrap();
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        pkt[pn_offset + i] ^= mask[1 + i];
    }
    pkt
}

fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06, 0, 0, 0, 0];
    f[1..5].copy_from_slice(&(0x8000_0000u32 | offset as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// The ClientHello message of RFC 9001 A.2 (behind its CRYPTO frame header).
fn rfc_hello() -> Vec<u8> {
    unhex(CLIENT_FRAMES)[4..].to_vec()
}

#[test]
fn hello_split_over_two_initials_out_of_order() {
    let dcid = unhex("0011223344556677");
    let (ck, _) = initial_keys(VERSION_1, &dcid).unwrap();
    let hello = rfc_hello();
    let (a, b) = hello.split_at(100);
    // The second half arrives first, in packet 1; the first half, split into two frames
    // in reverse order, in packet 0.
    let p1 = seal(VERSION_1, 0, &dcid, b"", &ck, 1, &crypto_frame(100, b));
    let mut f0 = crypto_frame(40, &a[40..]);
    f0.extend(crypto_frame(0, &a[..40]));
    let p0 = seal(VERSION_1, 0, &dcid, b"", &ck, 0, &f0);
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    assert!(r.datagram(ts(), addr(C), addr(S), &p1, None, &mut out));
    assert!(hello_of(&out).is_empty(), "half a hello is not a hello");
    r.datagram(ts(), addr(C), addr(S), &p0, None, &mut out);
    let h = hello_of(&out);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0.sni.as_deref(), Some("example.com"));
    assert_eq!(h[0].1, 2, "two Initial packets carried it");
    // A retransmission of the same bytes does not make a second probe.
    r.datagram(ts(), addr(C), addr(S), &p0, None, &mut out);
    assert_eq!(hello_of(&out).len(), 1);
}

#[test]
fn coalesced_server_packets_retry_and_close() {
    let dcid = unhex("a1a2a3a4a5a6a7a8");
    let (ck, _) = initial_keys(VERSION_1, &dcid).unwrap();
    let hello = seal(
        VERSION_1,
        0,
        &dcid,
        b"\x01\x02",
        &ck,
        0,
        &crypto_frame(0, &rfc_hello()),
    );
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    r.datagram(ts(), addr(C), addr(S), &hello, None, &mut out);
    assert_eq!(hello_of(&out).len(), 1);

    // The server answers with a Retry carrying a new connection ID.
    let new_cid = unhex("b1b2b3b4");
    let mut retry = vec![0xf0];
    retry.extend_from_slice(&VERSION_1.to_be_bytes());
    retry.extend_from_slice(&[2, 1, 2, 4]);
    retry.extend_from_slice(&new_cid);
    retry.extend_from_slice(b"token-bytes");
    retry.extend_from_slice(&[0u8; 16]);
    out.clear();
    r.datagram(ts(), addr(S), addr(C), &retry, None, &mut out);
    assert!(matches!(out.as_slice(), [(_, _, _, QuicItem::Retry)]));

    // The client sends the hello again under keys from the new DCID: same attempt.
    let (ck2, sk2) = initial_keys(VERSION_1, &new_cid).unwrap();
    let again = seal(
        VERSION_1,
        0,
        &new_cid,
        b"\x01\x02",
        &ck2,
        1,
        &crypto_frame(0, &rfc_hello()),
    );
    out.clear();
    r.datagram(ts(), addr(C), addr(S), &again, None, &mut out);
    assert!(hello_of(&out).is_empty());

    // Server Initial (with a CONNECTION_CLOSE carrying TLS alert 120) coalesced with a
    // Handshake packet, then zero padding.
    let mut close = vec![0x1c, 0x41, 0x78, 0x06, 0x0b];
    close.extend_from_slice(b"no h3 here!");
    let mut dg = seal(VERSION_1, 0, b"\x01\x02", b"\x09\x09", &sk2, 0, &close);
    dg.extend(seal(
        VERSION_1,
        2,
        b"\x01\x02",
        b"\x09\x09",
        &sk2,
        0,
        &[0u8; 24],
    ));
    dg.extend_from_slice(&[0u8; 40]);
    out.clear();
    r.datagram(ts(), addr(S), addr(C), &dg, None, &mut out);
    let kinds: Vec<String> = out.iter().map(|o| format!("{:?}", o.3)).collect();
    assert!(matches!(out[0].3, QuicItem::ServerInitial), "{kinds:?}");
    match &out[1].3 {
        QuicItem::Close {
            from_server,
            code,
            reason,
            ..
        } => {
            assert!(*from_server);
            assert_eq!(*code, 0x178);
            assert_eq!(reason, "no h3 here!");
            assert_eq!(
                error_name(*code, false),
                "CRYPTO_ERROR (TLS alert no_application_protocol)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(out[2].3, QuicItem::ServerHandshake), "{kinds:?}");
    assert_eq!(r.stats.malformed, 0);
}

#[test]
fn version_negotiation_answers_a_followed_client() {
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    let mut vn = vec![0x80, 0, 0, 0, 0, 0, 8];
    vn.extend_from_slice(&unhex(DCID));
    vn.extend_from_slice(&VERSION_2.to_be_bytes());
    vn.extend_from_slice(&0x1a2a_3a4au32.to_be_bytes());
    // Nobody asked: not believed.
    r.datagram(ts(), addr(S), addr(C), &vn, None, &mut out);
    assert!(out.is_empty());
    r.datagram(
        ts(),
        addr(C),
        addr(S),
        &unhex(V1_CLIENT_PACKET),
        None,
        &mut out,
    );
    out.clear();
    r.datagram(ts(), addr(S), addr(C), &vn, None, &mut out);
    assert!(
        matches!(&out[0].3, QuicItem::VersionNegotiation { versions } if versions[0] == VERSION_2)
    );
}

#[test]
fn crypto_bound_is_counted() {
    let limits = QuicLimits {
        max_conns: 1,
        max_crypto: 200,
    };
    let mut r = QuicReader::new(limits);
    let mut out = Vec::new();
    r.datagram(
        ts(),
        addr(C),
        addr(S),
        &unhex(V1_CLIENT_PACKET),
        None,
        &mut out,
    );
    assert!(hello_of(&out).is_empty());
    assert_eq!(r.stats.crypto_over_limit, 1);
    // A second client pushes the first out of the one-entry table.
    r.datagram(
        ts(),
        addr("198.51.100.11:1"),
        addr(S),
        &unhex(V1_CLIENT_PACKET),
        None,
        &mut out,
    );
    assert_eq!(r.stats.conn_evictions, 1);
}

#[test]
fn hostile_datagrams_never_panic() {
    let good = unhex(V1_CLIENT_PACKET);
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    // Every truncation.
    for n in 0..good.len() {
        r.datagram(ts(), addr(C), addr(S), &good[..n], None, &mut out);
    }
    assert!(hello_of(&out).is_empty());
    assert!(r.stats.malformed > 0);
    // Every single-byte corruption (header and payload) fails authentication or parsing.
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let c = format!("198.51.100.{}:{}", i % 250, 1000 + i);
        r.datagram(ts(), addr(&c), addr(S), &bad, None, &mut out);
    }
    assert!(r.stats.undecryptable > 0);
    // Garbage with a QUIC-looking start, on a followed pair and not.
    let mut x: u32 = 0x1234_5678;
    for _ in 0..2000 {
        let mut d = vec![0xc0, 0, 0, 0, 1];
        for _ in 0..(x % 1300) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            d.push((x & 0xff) as u8);
        }
        r.datagram(ts(), addr(C), addr(S), &d, None, &mut out);
        r.datagram(ts(), addr(S), addr(C), &d, None, &mut out);
        d[0] = 0x40;
        r.datagram(ts(), addr(C), addr(S), &d, None, &mut out);
    }
    // Decrypted but nonsense frames, and absurd CRYPTO offsets.
    let dcid = unhex("0102030405060708");
    let (ck, _) = initial_keys(VERSION_1, &dcid).unwrap();
    for frames in [
        vec![
            0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00,
        ],
        vec![0x06, 0x00, 0x44, 0x00],
        vec![0x1c, 0x00],
        vec![0x02, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x30, 0x00, 0x00],
        crypto_frame(0, &[0x02, 0x00, 0x00, 0x04, 1, 2, 3, 4]),
    ] {
        let p = seal(VERSION_1, 0, &dcid, b"", &ck, 0, &frames);
        r.datagram(ts(), addr("198.51.100.99:9"), addr(S), &p, None, &mut out);
    }
    assert!(hello_of(&out).is_empty());
}

// ---------------------------------------------------------------------------------------
// Drafts 23–28, drafts 33–34, Google's T050/T051, and versions not decoded

/// draft-ietf-quic-tls-27 Appendix A (version 0xff00001b, salt 0xc3eef712…, the same
/// DCID as RFC 9001's), as kept in aws/s2n-quic specs/tools.ietf.org/id/draft-ietf-quic-tls-27.txt.
const DRAFT27: u32 = 0xff00_001b;
const D27_CLIENT_FRAMES: &str = "\
060040c4010000c003036660261ff947 cea49cce6cfad687f457cf1b14531ba1
4131a0e8f309a1d0b9c4000006130113 031302010000910000000b0009000006
736572766572ff01000100000a001400 12001d00170018001901000101010201
03010400230000003300260024001d00 204cfdfcd178b784bf328cae793b136f
2aedce005ff183d7bb14952072366470 37002b0003020304000d0020001e0403
05030603020308040805080604010501 060102010402050206020202002d0002
0101001c00024001";
const D27_CLIENT_PACKET: &str = "\
c0ff00001b088394c8f03e5157080000 449e3b343aa8535064a4268a0d9d7b1c
9d250ae355162276e9b1e3011ef6bbc0 ab48ad5bcc2681e953857ca62becd752
4daac473e68d7405fbba4e9ee616c870 38bdbe908c06d9605d9ac49030359eec
b1d05a14e117db8cede2bb09d0dbbfee 271cb374d8f10abec82d0f59a1dee29f
e95638ed8dd41da07487468791b719c5 5c46968eb3b54680037102a28e53dc1d
12903db0af5821794b41c4a93357fa59 ce69cfe7f6bdfa629eef78616447e1d6
11c4baf71bf33febcb03137c2c75d253 17d3e13b684370f668411c0f00304b50
1c8fd422bd9b9ad81d643b20da89ca05 25d24d2b142041cae0af205092e43008
0cd8559ea4c5c6e4fa3f66082b7d303e 52ce0162baa958532b0bbc2bc785681f
cf37485dff6595e01e739c8ac9efba31 b985d5f656cc092432d781db95221724
87641c4d3ab8ece01e39bc85b1543661 4775a98ba8fa12d46f9b35e2a55eb72d
7f85181a366663387ddc20551807e007 673bd7e26bf9b29b5ab10a1ca87cbb7a
d97e99eb66959c2a9bc3cbde4707ff77 20b110fa95354674e395812e47a0ae53
b464dcb2d1f345df360dc227270c7506 76f6724eb479f0d2fbb6124429990457
ac6c9167f40aab739998f38b9eccb24f d47c8410131bf65a52af841275d5b3d1
880b197df2b5dea3e6de56ebce3ffb6e 9277a82082f8d9677a6767089b671ebd
244c214f0bde95c2beb02cd1172d58bd f39dce56ff68eb35ab39b49b4eac7c81
5ea60451d6e6ab82119118df02a58684 4a9ffe162ba006d0669ef57668cab38b
62f71a2523a084852cd1d079b3658dc2 f3e87949b550bab3e177cfc49ed190df
f0630e43077c30de8f6ae081537f1e83 da537da980afa668e7b7fb25301cf741
524be3c49884b42821f17552fbd1931a 813017b6b6590a41ea18b6ba49cd48a4
40bd9a3346a7623fb4ba34a3ee571e3c 731f35a7a3cf25b551a680fa68763507
b7fde3aaf023c50b9d22da6876ba337e b5e9dd9ec3daf970242b6c5aab3aa4b2
96ad8b9f6832f686ef70fa938b31b4e5 ddd7364442d3ea72e73d668fb0937796
f462923a81a47e1cee7426ff6d922126 9b5a62ec03d6ec94d12606cb485560ba
b574816009e96504249385bb61a819be 04f62c2066214d8360a2022beb316240
b6c7d78bbe56c13082e0ca272661210a bf020bf3b5783f1426436cf9ff418405
93a5d0638d32fc51c5c65ff291a3a7a5 2fd6775e623a4439cc08dd25582febc9
44ef92d8dbd329c91de3e9c9582e41f1 7f3d186f104ad3f90995116c682a2a14
a3b4b1f547c335f0be710fc9fc03e0e5 87b8cda31ce65b969878a4ad4283e6d5
b0373f43da86e9e0ffe1ae0fddd35162 55bd74566f36a38703d5f34249ded1f6
6b3d9b45b9af2ccfefe984e13376b1b2 c6404aa48c8026132343da3f3a33659e
c1b3e95080540b28b7f3fcd35fa5d843 b579a84c089121a60d8c1754915c344e
eaf45a9bf27dc0c1e784161691220913 13eb0e87555abd706626e557fc36a04f
cd191a58829104d6075c5594f627ca50 6bf181daec940f4a4f3af0074eee89da
acde6758312622d4fa675b39f728e062 d2bee680d8f41a597c262648bb18bcfc
13c8b3d97b1a77b2ac3af745d61a34cc 4709865bac824a94bb19058015e4e42d
38d3b779d72edc00c5cd088eff802b05";
const D27_SERVER_FRAMES: &str = "\
0d0000000018410a020000560303eefc e7f7b37ba1d1632e96677825ddf73988
cfc79825df566dc5430b9a045a120013 0100002e00330024001d00209d3c940d
89690b84d08a60993c144eca684d1081 287c834d5311bcf32bb9da1a002b0002
0304";
const D27_SERVER_PACKET: &str = "\
c9ff00001b0008f067a5502a4262b500 4074168bf22b7002596f99ae67abf65a
5852f54f58c37c808682e2e40492d8a3 899fb04fc0afe9aabc8767b18a0aa493
537426373b48d502214dd856d63b78ce e37bc664b3fe86d487ac7a77c53038a3
cd32f0b5004d9f5754c4f7f2d1f35cf3 f7116351c92bd8c3a9528d2b6aca20f0
8047d9f017f0";

#[test]
fn draft27_appendix_a_secrets_keys_and_mask() {
    let (c, s) = initial_secrets(DRAFT27, &unhex(DCID)).unwrap();
    assert_eq!(
        c.to_vec(),
        unhex("fda3953aecc040e48b34e27ef87de3a6098ecf0e38b7e032c5c57bcbd5975b84")
    );
    assert_eq!(
        s.to_vec(),
        unhex("554366b81912ff90be41f17e8022213090ab17d8149179bcadf222f29ff2ddd5")
    );
    let (ck, sk) = initial_keys(DRAFT27, &unhex(DCID)).unwrap();
    assert_eq!(ck.key.to_vec(), unhex("af7fd7efebd21878ff66811248983694"));
    assert_eq!(ck.iv.to_vec(), unhex("8681359410a70bb9c92f0420"));
    assert_eq!(ck.hp.to_vec(), unhex("a980b8b4fb7d9fbc13e814c23164253d"));
    assert_eq!(sk.key.to_vec(), unhex("5d51da9ee897a21b2659ccc7e5bfa577"));
    assert_eq!(sk.iv.to_vec(), unhex("5e5ae651fd1e8495af13508b"));
    assert_eq!(sk.hp.to_vec(), unhex("a8ed82e6664f865aedf6106943f95fb8"));
    let mask = hp_mask(&ck.hp, &unhex("535064a4268a0d9d7b1c9d250ae35516")).unwrap();
    assert_eq!(mask.to_vec(), unhex("833b343aaa"));
    // Every draft from 23 to 28 has this salt: the same keys.
    for d in 23..=28u32 {
        let (c2, _) = initial_secrets(0xff00_0000 | d, &unhex(DCID)).unwrap();
        assert_eq!(c2, c, "draft-{d}");
    }
}

#[test]
fn draft27_appendix_a_packets_decrypt() {
    let pkt = unhex(D27_CLIENT_PACKET);
    let (ck, sk) = initial_keys(DRAFT27, &unhex(DCID)).unwrap();
    let o = open(&pkt, 18, &ck).unwrap();
    assert_eq!(
        o.header,
        unhex("c3ff00001b088394c8f03e5157080000449e00000002")
    );
    assert_eq!(o.packet_number, 2);
    let mut want = unhex(D27_CLIENT_FRAMES);
    assert_eq!(o.payload.get(..want.len()), Some(&want[..]));
    want.resize(1162, 0);
    assert_eq!(
        o.payload, want,
        "the CRYPTO frame, then PADDING to 1162 bytes"
    );
    let o = open(&unhex(D27_SERVER_PACKET), 18, &sk).unwrap();
    assert_eq!(o.header, unhex("c1ff00001b0008f067a5502a4262b50040740001"));
    assert_eq!(o.packet_number, 1);
    assert_eq!(o.payload, unhex(D27_SERVER_FRAMES));
}

/// The reader on the draft-27 exchange: the hello's SNI ("server" in the draft's sample)
/// and the server's ServerHello; before drafts 23–28 were decoded, both were ignored.
#[test]
fn draft27_exchange_is_read_not_ignored() {
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    assert!(r.datagram(
        ts(),
        addr(C),
        addr(S),
        &unhex(D27_CLIENT_PACKET),
        None,
        &mut out
    ));
    let h = hello_of(&out);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0.sni.as_deref(), Some("server"));
    assert_eq!(h[0].2, DRAFT27);
    let j = h[0].0.ja4.clone().unwrap();
    assert!(j.starts_with("q13"), "a hello over QUIC is JA4 `q`: {j}");
    out.clear();
    // The draft's server sample decrypts with the server keys, but its frames carry the
    // codes of draft 14 (ACK 0x0d, CRYPTO 0x18, an error of the draft's example): the
    // Initial is seen, its frames are counted as malformed, as a draft-27 peer would
    // refuse them.
    assert!(r.datagram(
        ts(),
        addr(S),
        addr(C),
        &unhex(D27_SERVER_PACKET),
        None,
        &mut out
    ));
    assert!(matches!(out[0].3, QuicItem::ServerInitial), "{out:?}");
    assert_eq!(r.stats.initials_decrypted, 2);
    assert_eq!(r.stats.malformed, 1);
    assert!(r.stats.undecoded_versions.is_empty());
    assert_eq!(version_name(DRAFT27), "draft-27");
}

/// Regression: drafts 33 and 34 were read with draft 29's salt, so their Initials did not
/// decrypt; they use RFC 9001's (draft-ietf-quic-tls-34 §5.2).
#[test]
fn drafts_33_and_34_use_the_v1_salt() {
    let (v1, _) = initial_secrets(VERSION_1, &unhex(DCID)).unwrap();
    for d in [0xff00_0021u32, 0xff00_0022] {
        assert_eq!(initial_secrets(d, &unhex(DCID)).unwrap().0, v1);
    }
    let (d29, _) = initial_secrets(0xff00_001d, &unhex(DCID)).unwrap();
    assert_ne!(d29, v1);
    assert_eq!(initial_secrets(0xff00_0020, &unhex(DCID)).unwrap().0, d29);
}

/// A T050/T051 client Initial as quiche builds one: IETF long header, Initial keys from
/// the version's salt, Google frames (CRYPTO 0x08, then PADDING 0x00 to the end).
fn google_initial(version: u32, dcid: &[u8], hello: &[u8], before: &[u8]) -> Vec<u8> {
    let (ck, _) = initial_keys(version, dcid).unwrap();
    let mut f = before.to_vec();
    f.push(0x08);
    f.push(0x00); // offset 0
    f.extend_from_slice(&(0x4000u16 | hello.len() as u16).to_be_bytes());
    f.extend_from_slice(hello);
    f.resize(1150, 0x00);
    seal(version, 0, dcid, b"", &ck, 0, &f)
}

#[test]
fn google_t050_and_t051_initials_are_read() {
    let dcid = unhex("0011223344556677");
    for (v, name) in [(VERSION_T050, "T050"), (VERSION_T051, "T051")] {
        assert_eq!(version_name(v), name);
        let mut r = QuicReader::new(QuicLimits::default());
        let mut out = Vec::new();
        let pkt = google_initial(v, &dcid, &rfc_hello(), &[0x07]); // PING first
        assert!(r.datagram(ts(), addr(C), addr(S), &pkt, None, &mut out));
        let h = hello_of(&out);
        assert_eq!(h.len(), 1, "{name}");
        assert_eq!(h[0].0.sni.as_deref(), Some("example.com"));
        assert_eq!(h[0].2, v);
        assert_eq!(r.stats.malformed, 0);
    }
    // The two salts differ: T050's keys do not open a T051 packet (nor v1's).
    let pkt = google_initial(VERSION_T051, &dcid, &rfc_hello(), &[]);
    let (t050, _) = initial_keys(VERSION_T050, &dcid).unwrap();
    let (v1, _) = initial_keys(VERSION_1, &dcid).unwrap();
    let (t051, _) = initial_keys(VERSION_T051, &dcid).unwrap();
    assert!(open(&pkt, 18, &t051).is_some());
    assert!(open(&pkt, 18, &t050).is_none());
    assert!(open(&pkt, 18, &v1).is_none());
}

#[test]
fn google_frames_stop_at_a_layout_of_googles_own() {
    // A Google ACK (0x40) before the CRYPTO frame: not read, nothing taken for a hello,
    // and not counted as malformed.
    let f = [0x40u8, 0x01, 0x02, 0x08, 0x00, 0x01, 0xaa];
    assert!(google_frames(&f).is_empty());
    // CONNECTION_CLOSE: a 32-bit code, a 16-bit reason length.
    let f = [0x02u8, 0, 0, 0, 0x19, 0, 2, b'n', b'o', 0x00, 0x00];
    assert_eq!(
        google_frames(&f),
        vec![Frame::Close {
            code: 0x19,
            frame_type: None,
            reason: b"no",
            app: false
        }]
    );
    // Cut short anywhere: what was read before stays, nothing panics.
    let full = [0x08u8, 0x00, 0x03, 1, 2, 3];
    for n in 0..full.len() {
        assert!(google_frames(&full[..n]).is_empty());
    }
    assert_eq!(google_frames(&full).len(), 1);
}

/// An Initial-sized datagram with a long header of `version` (fixed bit set, 8-byte DCID).
fn unknown_initial(version: u32) -> Vec<u8> {
    let mut d = vec![0xc3];
    d.extend_from_slice(&version.to_be_bytes());
    d.push(8);
    d.extend_from_slice(&[0x11; 8]);
    d.push(0);
    d.resize(1200, 0x5a);
    d
}

#[test]
fn versions_not_decoded_are_counted_by_version_within_the_bound() {
    let mut r = QuicReader::new(QuicLimits::default());
    let mut out = Vec::new();
    let d22 = 0xff00_0016; // draft-22: its salt is not decoded
    let grease = 0x1a2a_3a4a;
    for v in [d22, grease, d22, 0x5130_3530] {
        assert!(r.datagram(ts(), addr(C), addr(S), &unknown_initial(v), None, &mut out));
    }
    let got: Vec<(u32, u64)> = r.stats.undecoded_versions.iter().collect();
    assert_eq!(got, vec![(d22, 2), (grease, 1), (0x5130_3530, 1)]);
    assert_eq!(r.stats.datagrams, 4);
    assert!(out.is_empty());
    assert_eq!(version_name(0x5130_3530), "Q050");
    // Not counted: shorter than a client Initial, no fixed bit, version 0, a decoded
    // version, connection IDs longer than QUIC allows.
    let mut short = unknown_initial(d22);
    short.truncate(600);
    let mut no_fixed = unknown_initial(d22);
    no_fixed[0] = 0x83;
    let mut long_cid = unknown_initial(d22);
    long_cid[5] = 21;
    for d in [short, no_fixed, long_cid] {
        assert!(!r.datagram(ts(), addr(C), addr(S), &d, None, &mut out));
    }
    assert_eq!(r.stats.datagrams, 4);
    // The bound: versions past it are counted together.
    let mut r = QuicReader::new(QuicLimits::default());
    for i in 0..(MAX_UNDECODED_VERSIONS as u32 + 3) {
        r.datagram(
            ts(),
            addr(C),
            addr(S),
            &unknown_initial(0x0a0a_0a0a + i),
            None,
            &mut out,
        );
    }
    assert_eq!(
        r.stats.undecoded_versions.iter().count(),
        MAX_UNDECODED_VERSIONS
    );
    assert_eq!(r.stats.undecoded_versions.other, 3);
}
