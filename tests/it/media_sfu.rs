//! The hearing room's media path with real WebRTC peers (the async `webrtc` crate) over
//! loopback: signaling through `/ws/hearing/<id>`, DTLS-SRTP, forwarding by the SFU.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, TestServer, wait_for};
use std::time::Duration;

async fn server() -> (TestServer, serde_json::Value) {
    server_with(&[]).await
}

async fn server_with(env: &[(&str, &str)]) -> (TestServer, serde_json::Value) {
    TestServer::with_media(Backend::Sqlite, env).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_participants_each_receive_the_other_two_and_a_late_joiner_starts_on_a_keyframe() {
    let (srv, demo) = server().await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    // The respondent joins while the others are mid-stream.
    let Three {
        clerk,
        applicant,
        clients: [a, b, c],
    } = clerk_applicant_respondent(&srv, &demo, Duration::from_secs(2)).await;

    let clients = [&a, &b, &c];
    let all_flowing = wait_for(Duration::from_secs(15), || {
        clients.iter().all(|me| {
            clients
                .iter()
                .filter(|o| o.participant_id != me.participant_id)
                .all(|o| {
                    let r = me.received_from(&o.participant_id);
                    r.video_packets > 30 && r.audio_packets > 20
                })
        })
    })
    .await;
    for me in clients {
        for o in clients
            .iter()
            .filter(|o| o.participant_id != me.participant_id)
        {
            eprintln!(
                "{} from {}: {:?}",
                me.participant_id,
                o.participant_id,
                me.received_from(&o.participant_id)
            );
        }
    }
    assert!(
        all_flowing,
        "every participant receives audio and video from the other two"
    );

    // The late joiner's first video from each publisher is a keyframe, asked for when its
    // path came up and answered by the publisher at its next frame: well within the
    // issue's 1 s (the publishers' own keyframes are 1 s apart, so a request that went
    // nowhere would mostly miss this bound; here it takes about 50 ms).
    for o in [&a, &b] {
        let r = c.received_from(&o.participant_id);
        assert_eq!(
            r.first_video_was_keyframe,
            Some(true),
            "late joiner must start on a keyframe from {}",
            o.participant_id
        );
        let waited = r
            .first_video_at
            .unwrap()
            .saturating_duration_since(c.connected_at.unwrap());
        eprintln!(
            "late joiner: first video from {} {waited:?} after connecting",
            o.participant_id
        );
        assert!(
            waited <= Duration::from_millis(400),
            "first frame from {} after {waited:?}",
            o.participant_id
        );
    }
    // Staff see the counters; parties do not; /metrics has the totals.
    let (s, stats) = clerk.get(&format!("/api/hearings/{hearing}/stats")).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{stats}");
    let ps = stats["participants"].as_array().unwrap();
    assert_eq!(ps.len(), 3);
    for p in ps {
        assert_eq!(p["connected"], true);
        assert_eq!(p["published"].as_array().unwrap().len(), 2, "{p}");
        assert_eq!(p["subscribed"].as_array().unwrap().len(), 4, "{p}");
        assert!(
            p["subscribed"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["packets"].as_u64().unwrap() > 0),
            "{p}"
        );
    }
    assert_eq!(
        applicant
            .get(&format!("/api/hearings/{hearing}/stats"))
            .await
            .0,
        reqwest::StatusCode::FORBIDDEN
    );
    let metrics = metrics_text(&srv).await;
    assert!(metrics.contains("yunting_sfu_participants 3"), "{metrics}");
    let forwarded = metric(&metrics, "yunting_sfu_rtp_packets_forwarded");
    assert!(forwarded > 300, "{metrics}");

    // Nobody receives their own media back.
    for me in clients {
        assert_eq!(me.received_from(&me.participant_id).video_packets, 0);
    }
    for x in [a, b, c] {
        x.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_connection_is_reconnecting_then_returns_to_its_seat() {
    let (srv, demo) = server().await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let mut a = MediaClient::join(&srv.base, hearing, clerk.token.as_deref().unwrap()).await;
    let mut b = MediaClient::join_admitted(
        &srv.base,
        hearing,
        applicant.token.as_deref().unwrap(),
        clerk.token.as_deref().unwrap(),
    )
    .await;
    let joined = a
        .wait_event("participant_joined", Duration::from_secs(5))
        .await;
    assert_eq!(
        joined["participant"]["participant_id"],
        b.participant_id.as_str()
    );
    assert_eq!(joined["participant"]["role"], "applicant");

    // The phone loses its network: the others are told "reconnecting", not "left".
    b.drop_signaling();
    let ev = a
        .wait_event("participant_reconnecting", Duration::from_secs(5))
        .await;
    assert_eq!(ev["participant_id"], b.participant_id.as_str());

    // It comes back on a new connection and takes the same seat.
    let b2 = MediaClient::join(&srv.base, hearing, applicant.token.as_deref().unwrap()).await;
    let left = a
        .wait_event("participant_left", Duration::from_secs(5))
        .await;
    assert_eq!(left["participant_id"], b.participant_id.as_str());
    assert_eq!(left["reason"], "rejoined");
    let back = a
        .wait_event("participant_joined", Duration::from_secs(5))
        .await;
    assert_eq!(
        back["participant"]["participant_id"],
        b2.participant_id.as_str()
    );
    assert!(
        wait_for(Duration::from_secs(10), || a
            .received_from(&b2.participant_id)
            .video_packets
            > 10)
        .await,
        "media flows again after the return"
    );

    // Leaving on purpose is a different event from losing the network.
    b2.send(serde_json::json!({"type": "leave"}));
    let left = a
        .wait_event("participant_left", Duration::from_secs(5))
        .await;
    assert_eq!(left["reason"], "left");

    let actions = crate::common::audit_actions(&clerk, 1).await;
    for x in [
        "hearing.connect",
        "hearing.join",
        "hearing.connection_lost",
        "hearing.leave",
    ] {
        assert!(actions.iter().any(|a| a == x), "missing {x} in {actions:?}");
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn signaling_refuses_strangers_and_bad_messages() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (srv, demo) = server().await;
    let url = format!("{}/ws/hearing/1", srv.base.replacen("http", "ws", 1));
    // No session: refused before the upgrade.
    assert!(tokio_tungstenite::connect_async(url.clone()).await.is_err());

    // A verified party of another case is refused too.
    let clerk = srv.staff(&demo, "clerk").await;
    let (_, stranger) = srv.party_of_another_case(&clerk).await;
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", stranger.token.as_deref().unwrap())
            .parse()
            .unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("a party of another case must be refused, got {other:?}"),
    }

    let applicant = srv.verified_party(&demo, "applicant").await;
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", applicant.token.as_deref().unwrap())
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    for (frame, code) in [
        (r#"{"type":"offer","sdp":"v=0"}"#, "not_joined"),
        ("not json", "bad_message"),
        (r#"{"type":"promote_me"}"#, "unknown_message"),
    ] {
        ws.send(Message::Text(frame.into())).await.unwrap();
        let reply: serde_json::Value = loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                break serde_json::from_str(&t).unwrap();
            }
        };
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["code"], code, "{frame}");
    }
    // State broadcasts come and go; these checks are about replies.
    macro_rules! next {
        () => {
            loop {
                if let Some(Ok(Message::Text(t))) = ws.next().await {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                    if v["type"] != "hearing_state" {
                        break v;
                    }
                }
            }
        };
    }
    // Without the device check and the discipline acknowledgement the party cannot enter.
    ws.send(Message::Text(r#"{"type":"join"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next!()["code"], "device_check_required");
    let (s, _) = applicant
        .post(
            "/api/hearings/1/device-check",
            serde_json::json!({"camera": true, "microphone": true, "rtt_ms": 50, "down_kbps": 5000, "up_kbps": 2000}),
        )
        .await;
    assert_eq!(s, 200);
    ws.send(Message::Text(r#"{"type":"join"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next!()["code"], "discipline_required");
    applicant
        .post("/api/hearings/1/discipline", serde_json::json!({}))
        .await;
    // Now to the waiting room; media is refused until admitted.
    ws.send(Message::Text(r#"{"type":"join"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next!()["type"], "waiting");
    ws.send(Message::Text(r#"{"type":"offer","sdp":"v=0\r\n"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next!()["code"], "not_admitted");
    let seat = format!(
        "invitation:{}",
        demo["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["role"] == "applicant")
            .unwrap()["invitation_id"]
    );
    let (s, b) = clerk
        .post(
            "/api/hearings/1/control",
            serde_json::json!({"do": "admit", "seat": seat}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(next!()["type"], "admitted");
    assert_eq!(next!()["type"], "joined");
    ws.send(Message::Text(
        r#"{"type":"offer","sdp":"v=0\r\nthis is not sdp\r\n"}"#.into(),
    ))
    .await
    .unwrap();
    let reply = next!();
    assert_eq!(reply["code"], "bad_sdp", "{reply}");
    // The server is still fine.
    assert_eq!(srv.client().get("/healthz").await.1["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audio_only_stops_video_keeps_audio_and_resumes_on_a_keyframe() {
    let (srv, demo) = server().await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let a = MediaClient::join(&srv.base, hearing, clerk.token.as_deref().unwrap()).await;
    let b = MediaClient::join_admitted(
        &srv.base,
        hearing,
        applicant.token.as_deref().unwrap(),
        clerk.token.as_deref().unwrap(),
    )
    .await;
    assert!(
        wait_for(Duration::from_secs(10), || b
            .received_from(&a.participant_id)
            .video_packets
            > 20)
        .await
    );

    // Connection quality is measured by the server and told to the room.
    let mut a = a;
    let q = a.wait_event("quality", Duration::from_secs(6)).await;
    assert_eq!(q["level"], "good", "{q}");
    assert!(q["rtt_ms"].as_u64().unwrap() < 300, "{q}");
    let (_, stats) = clerk.get(&format!("/api/hearings/{hearing}/stats")).await;
    assert!(
        stats["participants"][0]["loss_permille"].is_u64(),
        "{stats}"
    );

    b.send(serde_json::json!({"type": "audio_only", "enabled": true}));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = b.received_from(&a.participant_id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = b.received_from(&a.participant_id);
    assert!(
        after.video_packets - before.video_packets <= 2,
        "video kept flowing: {before:?} → {after:?}"
    );
    assert!(
        after.audio_packets - before.audio_packets >= 50,
        "audio must keep flowing: {before:?} → {after:?}"
    );
    // The other direction is unaffected.
    let a_before = a.received_from(&b.participant_id).video_packets;

    b.send(serde_json::json!({"type": "audio_only", "enabled": false}));
    assert!(
        wait_for(Duration::from_secs(3), || b
            .received_from(&a.participant_id)
            .video_packets
            > after.video_packets + 20)
        .await,
        "video resumes"
    );
    assert!(a.received_from(&b.participant_id).video_packets > a_before);
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_rtp_flood_is_cut_to_the_participant_budget() {
    // A budget far below what a normal publisher sends (~90 video + 50 audio packets/s)
    // stands in for a flood; the excess must be dropped and counted.
    let (srv, demo) = server_with(&[("YUNTING_MEDIA_MAX_PPS", "40")]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let a = MediaClient::join(&srv.base, hearing, clerk.token.as_deref().unwrap()).await;
    let b = MediaClient::join_admitted(
        &srv.base,
        hearing,
        applicant.token.as_deref().unwrap(),
        clerk.token.as_deref().unwrap(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = b.received_from(&a.participant_id);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = b.received_from(&a.participant_id);
    let got =
        (after.audio_packets + after.video_packets) - (before.audio_packets + before.video_packets);
    assert!(
        got <= 40 * 4 + 20,
        "forwarded {got} packets in 4 s with a budget of 40/s"
    );
    let (_, stats) = clerk.get(&format!("/api/hearings/{hearing}/stats")).await;
    let dropped = stats["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == a.participant_id.as_str())
        .unwrap()["dropped_packets"]
        .as_u64()
        .unwrap();
    assert!(dropped > 100, "{stats}");
    let metrics = reqwest::get(format!("{}/metrics", srv.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("yunting_sfu_rtp_packets_dropped 0\n"),
        "{metrics}"
    );
    a.close().await;
    b.close().await;
}

/// The clerk, the applicant and the respondent in the demo hearing: their API clients and
/// their media clients, joined in that order (the respondent after `stagger`), the parties
/// admitted by the clerk.
struct Three {
    clerk: crate::common::Client,
    applicant: crate::common::Client,
    clients: [MediaClient; 3],
}

async fn clerk_applicant_respondent(
    srv: &TestServer,
    demo: &serde_json::Value,
    stagger: Duration,
) -> Three {
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(demo, "clerk").await;
    let applicant = srv.ready_party(demo, "applicant", hearing).await;
    let respondent = srv.ready_party(demo, "respondent", hearing).await;
    let staff = clerk.token.as_deref().unwrap();
    let token = |p: &crate::common::Client| p.token.clone().unwrap();
    let a = MediaClient::join(&srv.base, hearing, staff).await;
    let b = MediaClient::join_admitted(&srv.base, hearing, &token(&applicant), staff).await;
    tokio::time::sleep(stagger).await;
    let c = MediaClient::join_admitted(&srv.base, hearing, &token(&respondent), staff).await;
    Three {
        clients: [a, b, c],
        clerk,
        applicant,
    }
}

/// The clerk over UDP and the applicant over ICE-TCP only (a network that blocks UDP).
async fn udp_and_tcp_participants(
    srv: &TestServer,
    demo: &serde_json::Value,
) -> (MediaClient, MediaClient) {
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(demo, "clerk").await;
    let applicant = srv.ready_party(demo, "applicant", hearing).await;
    let a = MediaClient::join(&srv.base, hearing, clerk.token.as_deref().unwrap()).await;
    let b = MediaClient::join_with(
        &srv.base,
        hearing,
        applicant.token.as_deref().unwrap(),
        true,
        clerk.token.as_deref(),
    )
    .await;
    (a, b)
}

/// Audio and video flow both ways between `a` and `b` within 10 s.
async fn assert_both_ways(a: &MediaClient, b: &MediaClient) {
    let flowing = wait_for(Duration::from_secs(10), || {
        let (ab, ba) = (
            a.received_from(&b.participant_id),
            b.received_from(&a.participant_id),
        );
        ab.video_packets > 30
            && ab.audio_packets > 20
            && ba.video_packets > 30
            && ba.audio_packets > 20
    })
    .await;
    assert!(
        flowing,
        "{:?} / {:?}",
        a.received_from(&b.participant_id),
        b.received_from(&a.participant_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_participant_on_a_network_without_udp_joins_over_ice_tcp() {
    let (srv, demo) = server().await;
    let (a, b) = udp_and_tcp_participants(&srv, &demo).await;
    assert_both_ways(&a, &b).await;
    a.close().await;
    b.close().await;
}

async fn metrics_text(srv: &TestServer) -> String {
    reqwest::get(format!("{}/metrics", srv.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One counter or gauge of a Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

/// The ICE credentials `a=ice-ufrag` / `a=ice-pwd` of an SDP.
fn ice_credentials(sdp: &str) -> (String, String) {
    let find = |k: &str| {
        sdp.lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .unwrap()
            .to_string()
    };
    (find("a=ice-ufrag:"), find("a=ice-pwd:"))
}

/// A STUN connectivity check towards the server, as the client would send it.
fn binding_request(server_ufrag: &str, client_ufrag: &str, server_pwd: &str) -> Vec<u8> {
    use rtc::ice::attributes::control::AttrControlling;
    use rtc::ice::attributes::priority::PriorityAttr;
    use rtc::stun::attributes::ATTR_USERNAME;
    use rtc::stun::fingerprint::FINGERPRINT;
    use rtc::stun::integrity::MessageIntegrity;
    use rtc::stun::message::{BINDING_REQUEST, Message, TransactionId};
    use rtc::stun::textattrs::Username;
    let crypto = rtc::crypto::default_provider().unwrap();
    let mut m = Message::new();
    m.build(&[
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(Username::new(
            ATTR_USERNAME,
            format!("{server_ufrag}:{client_ufrag}"),
        )),
        Box::new(AttrControlling(u64::MAX)),
        Box::new(PriorityAttr(1)),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            server_pwd.to_string(),
            crypto.crypto(),
        )),
        Box::new(FINGERPRINT),
    ])
    .unwrap();
    m.raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_several_event_loops_every_packet_reaches_the_loop_of_its_hearing() {
    let (srv, demo) = server_with(&[("YUNTING_MEDIA_SHARDS", "3")]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    // Over UDP, and over ICE-TCP, whose frames always enter through the first loop.
    let (a, b) = udp_and_tcp_participants(&srv, &demo).await;
    // Participant ids carry their loop: the hearing's.
    for p in [&a, &b] {
        let id: u64 = p
            .participant_id
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap();
        assert_eq!(id % 3, hearing.rem_euclid(3) as u64, "{}", p.participant_id);
    }
    assert_both_ways(&a, &b).await;

    // Connectivity checks from 24 new addresses: the kernel spreads them over the three
    // sockets by address, and every one is answered by the loop that owns the participant.
    let server_sdp = a.pc.remote_description().await.unwrap().sdp;
    let client_sdp = a.pc.local_description().await.unwrap().sdp;
    let (server_ufrag, server_pwd) = ice_credentials(&server_sdp);
    let (client_ufrag, _) = ice_credentials(&client_sdp);
    let media = srv.app.sfu.get().unwrap().local_addr;
    let mut answered = 0;
    for _ in 0..24 {
        let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let req = binding_request(&server_ufrag, &client_ufrag, &server_pwd);
        s.send_to(&req, media).await.unwrap();
        let mut buf = [0u8; 1500];
        if let Ok(Ok((n, from))) =
            tokio::time::timeout(Duration::from_secs(2), s.recv_from(&mut buf)).await
        {
            // A Binding success response (0x0101) with our transaction id, from the port.
            assert_eq!(from, media);
            assert!(
                n >= 20 && buf[..2] == [0x01, 0x01],
                "{:02x?}",
                &buf[..n.min(20)]
            );
            assert_eq!(buf[8..20], req[8..20]);
            answered += 1;
        }
    }
    assert_eq!(
        answered, 24,
        "every check answered, whichever socket took it"
    );
    let metrics = metrics_text(&srv).await;
    assert!(metrics.contains("yunting_sfu_event_loops 3"), "{metrics}");
    let handed = metric(&metrics, "yunting_sfu_datagrams_handed_over");
    // 24 addresses all hashing to the owner's socket: (1/3)^24.
    assert!(handed > 0, "{metrics}");
    a.close().await;
    b.close().await;
}

/// The forwarding path does not allocate per packet: over a steady stretch of three
/// participants sending audio and video to each other, reading RTP (decryption and `rtc`'s
/// pipeline), the forwarding decisions, and the flush that encrypts and sends make no heap
/// allocation worth counting. Counted by the test binary's counting allocator
/// (`yunting::alloc_count`), read from `/metrics`. Before this was built the same path made
/// about 17 allocations per forwarded packet. The loop's other work (RTCP reports, timers,
/// stats) allocates per report and per tick, which the benchmark reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forwarding_does_not_allocate_per_packet() {
    let (srv, demo) = server().await;
    let [a, b, c] = clerk_applicant_respondent(&srv, &demo, Duration::ZERO)
        .await
        .clients;
    assert_both_ways(&a, &b).await;
    assert_both_ways(&a, &c).await;
    assert_both_ways(&b, &c).await;
    // Past the joins: connections up, keyframes asked, histories and buffers grown.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let before = metrics_text(&srv).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = metrics_text(&srv).await;
    let delta = |name: &str| metric(&after, name) - metric(&before, name);
    let forwarded = delta("yunting_sfu_rtp_packets_forwarded");
    let on_path = delta("yunting_sfu_forwarding_heap_allocations");
    let on_loops = delta("yunting_sfu_loop_heap_allocations");
    let per_packet = on_path as f64 / forwarded as f64;
    eprintln!(
        "{forwarded} packets forwarded; allocations on the per-packet path {on_path} \
         ({per_packet:.4} per packet), on the media loops in all {on_loops}"
    );
    assert!(forwarded > 1000, "media flowed: {forwarded} packets");
    // The counter is live (RTCP and timers do allocate), so a low count below is the
    // path's, not a binary that counts nothing.
    assert!(
        on_loops > 0,
        "no allocation counted on the media loops at all"
    );
    assert!(on_loops >= on_path, "the loops' count includes the path's");
    // Not zero: the blocks packet buffers are cut from (64 KiB in SRTP, 256 KiB for
    // received datagrams) are refilled now and then.
    assert!(
        per_packet < 0.05,
        "{on_path} allocations on the per-packet path for {forwarded} forwarded packets \
         ({per_packet:.4} per packet)"
    );
    for c in [a, b, c] {
        c.close().await;
    }
}
