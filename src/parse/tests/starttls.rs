//! STARTTLS dialogues transcribed from the RFCs (3207, 2595, 2449, 6120).

use super::super::starttls::{detect, Proto, MAX_LINE};
use super::*;

#[test]
fn smtp_starttls_rfc3207_dialogue() {
    let mut f = flow(40000, 25);
    f.down(b"220 mail.imc.org SMTP service ready\r\n")
        .up(b"EHLO mail.example.com\r\n")
        .down(b"250-mail.imc.org offers a warm hug of welcome\r\n250-8BITMIME\r\n")
        .down(b"250-STARTTLS\r\n250 DSN\r\n")
        .up(b"STARTTLS\r\n");
    assert!(f.starttls().is_empty(), "not before the server's answer");
    f.down(b"220 Go ahead\r\n");
    assert_eq!(f.starttls(), ["smtp"]);
    tls_after(&mut f, "mail.imc.org");
    assert_eq!(f.snis(), ["mail.imc.org"]);
    assert_eq!(f.server_hellos(), 1);
    assert!(f.refused().is_empty());
}

#[test]
fn smtp_on_any_port_is_told_by_its_greeting() {
    let mut f = flow(40000, 2525);
    f.down(b"220 mx.example ESMTP\r\n")
        .up(b"EHLO c\r\n")
        .down(b"250 STARTTLS\r\n")
        .up(b"STARTTLS\r\n")
        .down(b"220 2.0.0 Ready\r\n");
    tls_after(&mut f, "mx.example");
    assert_eq!(f.starttls(), ["smtp"]);
    assert_eq!(f.snis(), ["mx.example"]);
}

#[test]
fn smtp_refused_starttls_is_reported() {
    let mut f = flow(40000, 587);
    f.down(b"220 mx.example ESMTP\r\n")
        .up(b"EHLO c\r\n")
        .down(b"250 STARTTLS\r\n")
        .up(b"STARTTLS\r\n")
        .down(b"454 4.7.0 TLS not available due to temporary reason\r\n")
        .up(b"QUIT\r\n")
        .down(b"221 2.0.0 Bye\r\n");
    assert_eq!(
        f.refused(),
        [(
            "smtp",
            "454 4.7.0 TLS not available due to temporary reason".to_string()
        )]
    );
    assert!(f.starttls().is_empty());
    assert_eq!(f.p.stats.starttls_refused, 1);
}

#[test]
fn smtp_multiline_reply_counts_only_its_last_line() {
    let mut f = flow(40000, 25);
    f.down(b"220 mx ESMTP\r\n")
        .up(b"STARTTLS\r\n")
        .down(b"220-wait for it\r\n");
    assert!(f.starttls().is_empty());
    f.down(b"220 go\r\n");
    assert_eq!(f.starttls(), ["smtp"]);
}

#[test]
fn smtp_commands_and_replies_split_across_segments() {
    let mut f = flow(40000, 25);
    f.down(b"220 mx ES")
        .down(b"MTP\r\n")
        .up(b"EHLO c\r\nSTART")
        .up(b"TLS\r")
        .up(b"\n")
        .down(b"22")
        .down(b"0 go ahead\r");
    assert!(f.starttls().is_empty(), "the line is not finished");
    f.down(b"\n");
    tls_after(&mut f, "mx.example");
    assert_eq!(f.starttls(), ["smtp"]);
    assert_eq!(f.snis(), ["mx.example"]);
}

#[test]
fn smtp_seen_from_the_clients_first_command_when_the_greeting_was_missed() {
    let mut f = flow(40000, 25);
    f.up(b"EHLO c\r\n")
        .down(b"250 STARTTLS\r\n")
        .up(b"STARTTLS\r\n")
        .down(b"220 go\r\n");
    tls_after(&mut f, "mx.example");
    assert_eq!(f.starttls(), ["smtp"]);
    assert_eq!(f.snis(), ["mx.example"]);
}

#[test]
fn a_client_hello_without_a_seen_answer_still_starts_tls() {
    // The server's side of the dialogue was not captured.
    let mut f = flow(40000, 25);
    f.up(b"EHLO c\r\nSTARTTLS\r\n")
        .up(&client_hello("mx.example"));
    assert_eq!(f.starttls(), ["smtp"]);
    assert_eq!(f.snis(), ["mx.example"]);
}

#[test]
fn imap_starttls_rfc2595_dialogue() {
    let mut f = flow(40000, 143);
    f.down(b"* OK IMAP4rev1 Server\r\n")
        .up(b"a001 CAPABILITY\r\n")
        .down(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n")
        .down(b"a001 OK CAPABILITY completed\r\n")
        .up(b"a002 STARTTLS\r\n");
    assert!(f.starttls().is_empty());
    // An untagged line or another tag's answer is not the answer.
    f.down(b"* OK still here\r\na001 OK late\r\n");
    assert!(f.starttls().is_empty());
    f.down(b"a002 OK Begin TLS negotiation now\r\n");
    assert_eq!(f.starttls(), ["imap"]);
    tls_after(&mut f, "imap.example");
    assert_eq!(f.snis(), ["imap.example"]);
    assert_eq!(f.server_hellos(), 1);
}

#[test]
fn imap_on_another_port_and_a_refusal() {
    let mut f = flow(40000, 10143);
    f.down(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
        .up(b"x1 STARTTLS\r\n")
        .down(b"x1 BAD TLS already active\r\n");
    assert_eq!(
        f.refused(),
        [("imap", "x1 BAD TLS already active".to_string())]
    );
    f.up(b"x2 STARTTLS\r\n").down(b"x2 NO not now\r\n");
    assert_eq!(f.refused().len(), 2);
    assert!(f.starttls().is_empty());
}

#[test]
fn pop3_stls_rfc2595_and_rfc2449_dialogue() {
    let mut f = flow(40000, 110);
    f.down(b"+OK POP3 server ready\r\n")
        .up(b"CAPA\r\n")
        .down(b"+OK Capability list follows\r\nTOP\r\nSTLS\r\n.\r\n")
        .up(b"STLS\r\n");
    assert!(f.starttls().is_empty());
    f.down(b"+OK Begin TLS negotiation\r\n");
    assert_eq!(f.starttls(), ["pop3"]);
    tls_after(&mut f, "pop.example");
    assert_eq!(f.snis(), ["pop.example"]);
}

#[test]
fn pop3_refused_stls() {
    let mut f = flow(40000, 110);
    f.down(b"+OK ready\r\n")
        .up(b"STLS\r\n")
        .down(b"-ERR Command not permitted when TLS active\r\n");
    assert_eq!(
        f.refused(),
        [(
            "pop3",
            "-ERR Command not permitted when TLS active".to_string()
        )]
    );
    assert!(f.starttls().is_empty());
}

const XMPP_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

fn xmpp_opening(f: &mut Flow) {
    f.up(b"<?xml version='1.0'?><stream:stream from='juliet@im.example.com' to='im.example.com' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        .down(b"<?xml version='1.0'?><stream:stream from='im.example.com' id='t7AMCin9zjMNwQKDnplntZPIDEI=' to='juliet@im.example.com' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        .down(format!("<stream:features><starttls xmlns='{XMPP_TLS}'><required/></starttls></stream:features>").as_bytes());
}

#[test]
fn xmpp_starttls_rfc6120_dialogue() {
    let mut f = flow(40000, 5222);
    xmpp_opening(&mut f);
    // Split inside the element.
    f.up(b"<starttls xmlns='urn:ietf:par")
        .up(b"ams:xml:ns:xmpp-tls'/>");
    assert!(f.starttls().is_empty());
    f.down(format!("<proceed xmlns='{XMPP_TLS}'/>").as_bytes());
    assert_eq!(f.starttls(), ["xmpp"]);
    tls_after(&mut f, "im.example.com");
    assert_eq!(f.snis(), ["im.example.com"]);
    assert_eq!(f.server_hellos(), 1);
}

#[test]
fn xmpp_failure_is_a_refusal() {
    let mut f = flow(40000, 5222);
    xmpp_opening(&mut f);
    f.up(format!("<starttls xmlns='{XMPP_TLS}'/>").as_bytes())
        .down(format!("<failure xmlns='{XMPP_TLS}'/></stream:stream>").as_bytes());
    assert_eq!(
        f.refused(),
        [("xmpp", format!("<failure xmlns='{XMPP_TLS}'/>"))]
    );
    assert!(f.starttls().is_empty());
}

#[test]
fn protocols_are_told_by_greeting_or_first_command() {
    assert_eq!(
        detect(Dir::Down, b"220 mx ESMTP\r\n", 2525),
        Some(Proto::Smtp)
    );
    assert_eq!(detect(Dir::Down, b"220 ftp ready\r\n", 21), None, "FTP");
    assert_eq!(detect(Dir::Down, b"* OK hi\r\n", 1), Some(Proto::Imap));
    assert_eq!(detect(Dir::Down, b"+OK hi\r\n", 1), Some(Proto::Pop3));
    assert_eq!(detect(Dir::Up, b"ehlo me\r\n", 1), Some(Proto::Smtp));
    assert_eq!(detect(Dir::Up, b"A1 capability\r\n", 1), Some(Proto::Imap));
    assert_eq!(detect(Dir::Up, b"CAPA\r\n", 1), Some(Proto::Pop3));
    assert_eq!(
        detect(Dir::Up, b"<?xml version='1.0'?>", 1),
        Some(Proto::Xmpp)
    );
    assert_eq!(detect(Dir::Up, b"\x05\x01\x00", 1080), None);
}

#[test]
fn an_overlong_plaintext_line_is_dropped_and_counted() {
    let mut f = flow(40000, 25);
    f.down(b"220 mx ESMTP\r\n")
        .up(&vec![b'x'; MAX_LINE + 10])
        .up(b"yyy\r\nSTARTTLS\r\n")
        .down(b"220 go\r\n");
    assert_eq!(f.p.stats.starttls_long_lines, 1);
    assert_eq!(f.starttls(), ["smtp"], "the next line is read");
}

#[test]
fn a_gap_in_the_dialogue_is_reported_and_ends_the_watch() {
    let mut f = flow(40000, 25);
    f.down(b"220 mx ESMTP\r\n").gap(Dir::Up).up(b"STARTTLS\r\n");
    assert!(matches!(
        f.out.as_slice(),
        [Parsed::Gap { dir: Dir::Up, .. }]
    ));
    assert_eq!(f.stops.len(), 2, "both directions are given up");
}
