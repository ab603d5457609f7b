//! RFC 8448 §3 (Simple 1-RTT Handshake) vectors, and flights sealed here for the suites
//! the RFC does not cover.

use super::*;
use crate::parse::keylog::{KeyLog, Secret};

fn unhex(s: &str) -> Vec<u8> {
    let d: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    d.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn secret(s: &str) -> Secret {
    Secret::new(&unhex(s)).unwrap()
}

/// {client} ClientHello random.
const CLIENT_RANDOM: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";

/// {server} derive secret "tls13 s hs traffic".
const SERVER_HS_SECRET: &str = "
    b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4
    e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";
const SERVER_HS_KEY: &str = "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc";
const SERVER_HS_IV: &str = "5d 31 3e b2 67 12 76 ee 13 00 0b 30";

/// {client} derive secret "tls13 c hs traffic".
const CLIENT_HS_SECRET: &str = "
    b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f
    3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";
const CLIENT_HS_KEY: &str = "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01";
const CLIENT_HS_IV: &str = "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f";

/// {client} send handshake record (the client's Finished).
const CLIENT_FINISHED_RECORD: &str = "
    17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c
    56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac
    98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46";

/// {server} Finished (the last message of the flight below).
const SERVER_FINISHED: &str = "
    14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da
    4a b4 2c 30 95 72 cb 7f ff ee 54 54 b7 8f 07 18";

/// {server} send handshake record: EncryptedExtensions, Certificate, CertificateVerify
/// and Finished in one record.
const SERVER_HS_RECORD: &str = "
    17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07
    cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e
    df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca
    07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78
    b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61
    34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b
    d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79
    02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9
    d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
    7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e
    d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3
    60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92
    8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82
    04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94
    5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8
    94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68
    45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63
    aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
    44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26
    4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26
    f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3
    6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31
    7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64
    7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
    1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24
    3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da
    8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
    f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4
    61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c
    74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be
    5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18
    a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 af bb
    99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb
    56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59
    77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14
    63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
    eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97
    8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84
    5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
    40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5
    d2 af 93 98 28 fd 4a e3 79 4e 44 f9 4d f5 a6 31
    ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e
    75 0e dc 53 37 0d 2b";

#[test]
fn rfc8448_handshake_traffic_keys() {
    let k = traffic_keys(Suite::Aes128GcmSha256, &secret(SERVER_HS_SECRET)).unwrap();
    assert_eq!(k.key(), unhex(SERVER_HS_KEY));
    assert_eq!(k.iv.to_vec(), unhex(SERVER_HS_IV));
    let k = traffic_keys(Suite::Aes128GcmSha256, &secret(CLIENT_HS_SECRET)).unwrap();
    assert_eq!(k.key(), unhex(CLIENT_HS_KEY));
    assert_eq!(k.iv.to_vec(), unhex(CLIENT_HS_IV));
    // A SHA-256 secret is not a SHA-384 suite's.
    assert_eq!(
        traffic_keys(Suite::Aes256GcmSha384, &secret(SERVER_HS_SECRET)),
        Err(Tls13Error::SecretLength)
    );
}

#[test]
fn rfc8448_server_flight_decrypts_to_its_four_messages() {
    // The secret comes from a key log line, as it will in a capture.
    let mut log = KeyLog::default();
    let line = format!(
        "SERVER_HANDSHAKE_TRAFFIC_SECRET {CLIENT_RANDOM} {}",
        SERVER_HS_SECRET.split_whitespace().collect::<String>()
    );
    log.read_all(line.as_bytes());
    let cr: [u8; 32] = unhex(CLIENT_RANDOM).try_into().unwrap();
    let s = log.get(&cr).unwrap().server_handshake.unwrap();

    let record = unhex(SERVER_HS_RECORD);
    assert_eq!(record.len(), 679);
    let mut d = HandshakeDecryptor::new(Suite::Aes128GcmSha256, &s).unwrap();
    let mut msgs = Vec::new();
    assert_eq!(d.record(&record, &mut msgs), Ok(RecordContent::Handshake));
    let types: Vec<u8> = msgs.iter().map(|m| m[0]).collect();
    // EncryptedExtensions, Certificate, CertificateVerify, Finished.
    assert_eq!(types, [8, 11, 15, 20]);
    let lens: Vec<usize> = msgs.iter().map(Vec::len).collect();
    assert_eq!(lens, [4 + 0x24, 4 + 0x1b9, 4 + 0x84, 4 + 0x20]);
    assert_eq!(msgs[3], unhex(SERVER_FINISHED));
    assert!(d.finished());
    assert_eq!(d.held(), 0);
    // The Certificate holds the RFC's one self-signed certificate, CN "rsa".
    let chain = certificate(&msgs[1]).unwrap();
    assert_eq!(chain.chain_len, 1);
    assert_eq!(chain.leaf.unwrap().subject_cn.as_deref(), Some("rsa"));
    // After Finished the handshake keys are done with.
    assert_eq!(
        d.record(&record, &mut msgs),
        Ok(RecordContent::AfterFinished)
    );
}

#[test]
fn rfc8448_client_finished_decrypts_with_the_client_secret() {
    let mut d = HandshakeDecryptor::new(Suite::Aes128GcmSha256, &secret(CLIENT_HS_SECRET)).unwrap();
    let mut msgs = Vec::new();
    d.record(&unhex(CLIENT_FINISHED_RECORD), &mut msgs).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0][..4], &[20, 0, 0, 0x20]);
    assert!(d.finished());
}

#[test]
fn a_wrong_key_or_a_damaged_record_is_an_authentication_failure() {
    let record = unhex(SERVER_HS_RECORD);
    // The client's secret does not open the server's record.
    let mut d = HandshakeDecryptor::new(Suite::Aes128GcmSha256, &secret(CLIENT_HS_SECRET)).unwrap();
    let mut msgs = Vec::new();
    assert_eq!(
        d.record(&record, &mut msgs),
        Err(Tls13Error::Authentication)
    );
    assert!(msgs.is_empty() && d.records == 0);
    // One flipped bit.
    let mut bad = record.clone();
    bad[300] ^= 1;
    let mut d = HandshakeDecryptor::new(Suite::Aes128GcmSha256, &secret(SERVER_HS_SECRET)).unwrap();
    assert_eq!(d.record(&bad, &mut msgs), Err(Tls13Error::Authentication));
    // The sequence number did not advance: the good record still opens.
    assert_eq!(d.record(&record, &mut msgs), Ok(RecordContent::Handshake));
    // At the wrong sequence number it does not.
    let mut o =
        RecordOpener::new(traffic_keys(Suite::Aes128GcmSha256, &secret(SERVER_HS_SECRET)).unwrap());
    o.seq = 1;
    assert_eq!(o.open(&record), Err(Tls13Error::Authentication));
    // Not a protected record at all.
    assert_eq!(o.open(&record[..20]), Err(Tls13Error::NotProtected));
    assert_eq!(o.open(&[]), Err(Tls13Error::NotProtected));
}

/// Seals `content` with inner type `ct` and `pad` zero bytes, as a sender would.
fn seal(keys: &TrafficKeys, seq: u64, ct: u8, content: &[u8], pad: usize) -> Vec<u8> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let mut plain = content.to_vec();
    plain.push(ct);
    plain.resize(plain.len() + pad, 0);
    let len = u16::try_from(plain.len() + 16).unwrap();
    let mut header = vec![23, 3, 3];
    header.extend_from_slice(&len.to_be_bytes());
    let n = nonce(&keys.iv, seq);
    let n = aes_gcm::Nonce::from_slice(&n);
    let p = Payload {
        msg: &plain,
        aad: &header,
    };
    let sealed = match keys.suite {
        Suite::Aes128GcmSha256 => Aes128Gcm::new_from_slice(keys.key()).unwrap().encrypt(n, p),
        Suite::Aes256GcmSha384 => Aes256Gcm::new_from_slice(keys.key()).unwrap().encrypt(n, p),
        Suite::Chacha20Poly1305Sha256 => ChaCha20Poly1305::new_from_slice(keys.key())
            .unwrap()
            .encrypt(n, p),
        Suite::Aes128CcmSha256 => Aes128Ccm::new_from_slice(keys.key()).unwrap().encrypt(n, p),
    }
    .unwrap();
    header.extend_from_slice(&sealed);
    header
}

fn message(ty: u8, len: usize) -> Vec<u8> {
    let mut m = vec![ty, 0, (len >> 8) as u8, len as u8];
    m.extend((0..len).map(|i| i as u8));
    m
}

#[test]
fn every_suite_opens_flights_split_across_records_with_padding() {
    for (suite, hash_len) in [
        (Suite::Aes128GcmSha256, 32),
        (Suite::Aes256GcmSha384, 48),
        (Suite::Chacha20Poly1305Sha256, 32),
        (Suite::Aes128CcmSha256, 32),
    ] {
        let s = Secret::new(&vec![7u8; hash_len]).unwrap();
        let keys = traffic_keys(suite, &s).unwrap();
        // EncryptedExtensions and the start of a 3000-byte Certificate in the first
        // record, the middle alone in the second (padded), the end with
        // CertificateVerify and Finished in the third.
        let flight = [
            message(8, 10),
            message(11, 3000),
            message(15, 70),
            message(20, hash_len),
        ]
        .concat();
        let cuts = [0, 1000, 2500, flight.len()];
        let mut d = HandshakeDecryptor::new(suite, &s).unwrap();
        let mut msgs = Vec::new();
        for (i, w) in cuts.windows(2).enumerate() {
            let rec = seal(&keys, i as u64, 22, &flight[w[0]..w[1]], i * 100);
            assert_eq!(
                d.record(&rec, &mut msgs),
                Ok(RecordContent::Handshake),
                "{suite:?}"
            );
            if i == 0 {
                assert_eq!(
                    msgs.len(),
                    1,
                    "EncryptedExtensions complete, Certificate held"
                );
                assert_eq!(d.held(), 1000 - 14);
            }
        }
        let types: Vec<u8> = msgs.iter().map(|m| m[0]).collect();
        assert_eq!(types, [8, 11, 15, 20], "{suite:?}");
        assert_eq!(msgs.concat(), flight);
        assert!(d.finished());
        // An alert under handshake keys, and a record that is all padding.
        let mut d = HandshakeDecryptor::new(suite, &s).unwrap();
        assert_eq!(
            d.record(&seal(&keys, 0, 21, &[2, 42], 5), &mut msgs),
            Ok(RecordContent::Alert(2, 42))
        );
        let mut o = RecordOpener::new(keys.clone());
        let mut zeros = seal(&keys, 0, 0, &[], 20);
        assert_eq!(o.open(&zeros), Err(Tls13Error::NoContentType));
        zeros[10] ^= 0x80;
        assert_eq!(o.open(&zeros), Err(Tls13Error::Authentication));
    }
}

#[test]
fn a_handshake_message_over_the_bound_is_refused() {
    let mut hs = HandshakeBuf::default();
    let mut out = Vec::new();
    assert_eq!(
        hs.push(&[11, 0x20, 0, 0, 1, 2, 3], &mut out),
        Err(Tls13Error::HandshakeTooLarge)
    );
    assert_eq!(hs.held(), 0);
    // A Certificate whose lengths do not hold.
    assert!(certificate(&[11, 0, 0, 8, 0, 0, 0, 4, 0, 0, 9, 1]).is_none());
    assert!(certificate(&[11, 0, 0, 4, 0, 0, 0, 0]).is_some_and(|c| c.chain_len == 0));
    assert_eq!(Suite::from_id(0x1305), None, "CCM_8 is not decrypted");
    assert_eq!(Suite::from_id(0x1303), Some(Suite::Chacha20Poly1305Sha256));
}
