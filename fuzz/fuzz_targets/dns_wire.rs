//! Any bytes through the DNS codec and the portal's DNS rules: nothing may
//! panic, whatever parses must survive a write-and-read round trip, and
//! every reply we would send must itself parse and, over UDP, fit 4096
//! bytes with at most one question; the UDP server's in-place answers are
//! those same replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderspot::portal::dns::wire::Message;
use orderspot::portal::dns::{answer_in_place, fit_udp, plan, Plan, MAX_UDP};
use orderspot::portal::{Mode, PortalConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        let again = Message::parse(&message.encode()).expect("our encoding parses");
        assert_eq!(again, message);
        for question in &message.questions {
            let _ = question.name.to_text();
        }
    }
    let config = PortalConfig {
        ip: Some([10, 213, 0, 1].into()),
        ip6: Some("fd13::1".parse().unwrap()),
        mode: Mode::Internet,
        ..PortalConfig::default()
    };
    for accepted in [false, true] {
        // The server's fast path gives exactly what `plan` and `fit_udp` give.
        if data.len() <= MAX_UDP {
            let mut buf = [0; MAX_UDP];
            buf[..data.len()].copy_from_slice(data);
            if let Some(len) = answer_in_place(&mut buf, data.len(), &config, || accepted) {
                let planned = match plan(data, &config, accepted) {
                    Plan::Reply(reply) => fit_udp(reply, data),
                    _ => None,
                };
                assert_eq!(planned.as_deref(), Some(&buf[..len]));
            }
        }
        if let Plan::Reply(reply) = plan(data, &config, accepted) {
            let parsed = Message::parse(&reply).expect("our replies parse");
            assert!(parsed.is_response());
            assert!(parsed.questions.len() <= 1);
            let sent = fit_udp(reply, data).expect("our replies fit UDP");
            assert!(sent.len() <= MAX_UDP);
            Message::parse(&sent).expect("cut replies parse");
        }
    }
});
