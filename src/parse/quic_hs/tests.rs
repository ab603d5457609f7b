//! The method of RFC 9001 §A / RFC 9369 §A (a secret, then key/iv/hp, then a packet)
//! checked on their published packets: the Initial secrets stand in for handshake
//! secrets, since QUIC derives packet keys from either the same way. The ChaCha20 short
//! header packet of RFC 9001 §A.5 covers the other header protection.

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    let d: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    d.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// RFC 9001 §A.1 server_initial_secret.
const V1_SERVER_SECRET: &str = "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b";
/// RFC 9369 §A.1 server_initial_secret.
const V2_SERVER_SECRET: &str = "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1";

/// RFC 9001 §A.3: the server Initial (ACK + ServerHello).
const V1_SERVER_PACKET: &str = "
cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
2158407dd074ee";

/// RFC 9369 §A.3: the v2 server Initial.
const V2_SERVER_PACKET: &str = "
dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
4bed8521e2e140";

const SERVER_FRAMES: &str = "
02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739
88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94
0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00
020304";

fn aes128(k: &PacketKeys) -> Vec<u8> {
    match &k.hp {
        HeaderKey::Aes128(h) => h.to_vec(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc9001_and_rfc9369_key_derivation_from_a_secret() {
    let k = packet_keys(Suite::Aes128GcmSha256, &unhex(V1_SERVER_SECRET), false).unwrap();
    assert_eq!(k.aead.key(), unhex("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(k.aead.iv.to_vec(), unhex("0ac1493ca1905853b0bba03e"));
    assert_eq!(aes128(&k), unhex("c206b8d9b9f0f37644430b490eeaa314"));
    let k = packet_keys(Suite::Aes128GcmSha256, &unhex(V2_SERVER_SECRET), true).unwrap();
    assert_eq!(k.aead.key(), unhex("82db637861d55e1d011f19ea71d5d2a7"));
    assert_eq!(k.aead.iv.to_vec(), unhex("dd13c276499c0249d3310652"));
    assert_eq!(aes128(&k), unhex("edf6d05c83121201b436e16877593c3a"));
    // Agrees with the Initial reader's own derivation.
    let old = super::super::quic::keys_from_secret(&unhex(V1_SERVER_SECRET), false).unwrap();
    let k = packet_keys(Suite::Aes128GcmSha256, &unhex(V1_SERVER_SECRET), false).unwrap();
    assert_eq!(
        (k.aead.key(), k.aead.iv, aes128(&k)),
        (&old.key[..], old.iv, old.hp.to_vec())
    );
}

fn server_hello_from(pkt: &str, secret: &str, v2: bool) {
    let keys = packet_keys(Suite::Aes128GcmSha256, &unhex(secret), v2).unwrap();
    let o = open_packet(&unhex(pkt), 18, &keys, None, true).unwrap();
    assert_eq!(o.packet_number, 1);
    assert_eq!(o.payload, unhex(SERVER_FRAMES));
    let fs = frames(&o.payload).unwrap();
    assert_eq!(fs.len(), 1, "the ACK is skipped");
    let mut cs = CryptoStream::default();
    let mut msgs = Vec::new();
    for f in fs {
        let Frame::Crypto { offset, data } = f else {
            panic!("{f:?}")
        };
        cs.insert(offset, data, 4096, &mut msgs).unwrap();
    }
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0][0], 2, "ServerHello");
    assert_eq!(msgs[0].len(), 0x5a);
    // The client's direction keys do not open it.
    let wrong = packet_keys(Suite::Aes128GcmSha256, &[0x42; 32], v2).unwrap();
    assert_eq!(
        open_packet(&unhex(pkt), 18, &wrong, None, true),
        Err(QuicHsError::Authentication)
    );
}

#[test]
fn rfc9001_a3_server_packet_opens_with_keys_from_its_secret() {
    server_hello_from(V1_SERVER_PACKET, V1_SERVER_SECRET, false);
}

#[test]
fn rfc9369_a3_v2_server_packet_opens_with_keys_from_its_secret() {
    server_hello_from(V2_SERVER_PACKET, V2_SERVER_SECRET, true);
}

#[test]
fn rfc9001_a5_chacha20_poly1305_short_header() {
    let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
    let k = packet_keys(Suite::Chacha20Poly1305Sha256, &secret, false).unwrap();
    assert_eq!(
        k.aead.key(),
        unhex("c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8")
    );
    assert_eq!(k.aead.iv.to_vec(), unhex("e0459b3474bdd0e44a41c144"));
    assert_eq!(
        k.hp,
        HeaderKey::ChaCha20(
            unhex("25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4")
                .try_into()
                .unwrap()
        )
    );
    assert_eq!(
        k.hp.mask(&unhex("5e5cd55c41f69080575d7999c25a5bfb"))
            .unwrap()
            .to_vec(),
        unhex("aefefe7d03")
    );
    let pkt = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
    let o = open_packet(&pkt, 1, &k, Some(654_360_563), false).unwrap();
    assert_eq!(o.header, unhex("4200bff4"));
    assert_eq!(o.packet_number, 654_360_564);
    assert_eq!(o.payload, [0x01], "a PING frame");
}

#[test]
fn rfc9000_a3_packet_number_decoding() {
    assert_eq!(
        decode_packet_number(Some(0xa82f_30ea), 0x9b32, 2),
        0xa82f_9b32
    );
    assert_eq!(decode_packet_number(None, 0, 1), 0);
    assert_eq!(decode_packet_number(Some(0xff), 0x01, 1), 0x101);
    // Past the 62-bit range (hostile): no overflow.
    assert_eq!(decode_packet_number(Some(u64::MAX), 0xff, 1), u64::MAX);
}

#[test]
fn crypto_frames_in_any_order_overlapping_and_bounded() {
    let msg_a = [8u8, 0, 0, 3, 1, 2, 3];
    let msg_b = [11u8, 0, 0, 5, 9, 9, 9, 9, 9];
    let stream = [&msg_a[..], &msg_b[..]].concat();
    let mut cs = CryptoStream::default();
    let mut out = Vec::new();
    cs.insert(10, &stream[10..], 100, &mut out).unwrap();
    cs.insert(4, &stream[4..12], 100, &mut out).unwrap();
    assert!(out.is_empty());
    cs.insert(0, &stream[..5], 100, &mut out).unwrap();
    assert_eq!(out, vec![msg_a.to_vec(), msg_b.to_vec()]);
    assert_eq!(cs.held(), 0);
    cs.insert(0, &stream, 100, &mut out).unwrap();
    assert_eq!(out.len(), 2, "a retransmission adds nothing");
    // Over the bound.
    let mut cs = CryptoStream::default();
    assert_eq!(
        cs.insert(100, &[0u8; 60], 50, &mut out),
        Err(QuicHsError::OverLimit)
    );
    assert_eq!(
        cs.insert(u64::MAX, &[1], 50, &mut out),
        Err(QuicHsError::OverLimit)
    );
    // Frames a Handshake packet may not carry.
    assert_eq!(frames(&[0x08, 0, 0]), Err(QuicHsError::Frames));
    assert_eq!(frames(&[0x06, 0, 5, 1]), Err(QuicHsError::Frames));
    assert_eq!(
        open_packet(
            &[0xe0; 10],
            5,
            &packet_keys(Suite::Aes128GcmSha256, &[0; 32], false).unwrap(),
            None,
            true
        ),
        Err(QuicHsError::Short)
    );
}
