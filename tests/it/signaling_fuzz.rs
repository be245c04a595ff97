//! Property tests (fuzzing) of the signaling parser: arbitrary text, arbitrary JSON and
//! mutations of valid messages never panic, and every error carries a code; valid messages
//! survive a serialise → parse round trip.

use proptest::prelude::*;
use yunting::media::signaling::{
    ClientMessage, MAX_MESSAGE_BYTES, MediaKind, SessionState, next_state, parse,
};

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "join",
            "offer",
            "answer",
            "candidate",
            "mute",
            "view_size",
            "audio_only",
            "leave",
            "ping",
            "audio",
            "video",
            "v=0\r\n"
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop::collection::btree_map(
            prop::sample::select(vec![
                "type",
                "sdp",
                "candidate",
                "sdp_mid",
                "sdp_mline_index",
                "kind",
                "muted",
                "audio_only",
                "participant_id",
                "height",
                "enabled",
                "x",
            ])
            .prop_map(String::from),
            inner,
            0..6,
        )
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
    })
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        any::<bool>().prop_map(|audio_only| ClientMessage::Join { audio_only }),
        "[a-z0-9=\r\n ]{0,200}".prop_map(|s| ClientMessage::Offer {
            sdp: format!("v=0\r\n{s}")
        }),
        "[a-z0-9 .]{0,100}".prop_map(|s| ClientMessage::Candidate {
            candidate: format!("candidate:{s}"),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0)
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(a, muted)| ClientMessage::Mute {
            kind: if a {
                MediaKind::Audio
            } else {
                MediaKind::Video
            },
            muted
        }),
        ("[a-z0-9]{1,20}", 0u16..4000).prop_map(|(participant_id, height)| {
            ClientMessage::ViewSize {
                participant_id,
                height,
            }
        }),
        Just(ClientMessage::Leave),
        Just(ClientMessage::Ping),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,300}") {
        if let Err(e) = parse(&s) {
            prop_assert!(!e.code.is_empty());
        }
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let text = v.to_string();
        match parse(&text) {
            Ok(m) => { let _ = next_state(SessionState::Joined, &m); }
            Err(e) => prop_assert!(!e.code.is_empty()),
        }
    }

    #[test]
    fn valid_messages_round_trip(m in client_message()) {
        let text = serde_json::to_string(&m).unwrap();
        prop_assert!(text.len() <= MAX_MESSAGE_BYTES);
        prop_assert_eq!(parse(&text).unwrap(), m);
    }

    #[test]
    fn truncated_valid_messages_are_refused_cleanly(m in client_message(), cut in 0usize..400) {
        let text = serde_json::to_string(&m).unwrap();
        let mut end = cut.min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        if end < text.len() {
            prop_assert!(parse(&text[..end]).is_err());
        }
    }
}
