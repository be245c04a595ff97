//! A party on a weak network, with real WebRTC peers: the applicant reaches the media
//! server through a relay that loses a share of what the server sends it. Its receiver
//! reports say so; the server's estimate for it falls; its video pauses while its audio
//! keeps flowing (in a hearing, being heard comes first); when the network recovers the
//! estimate climbs back and the video resumes on a keyframe. The other participants are
//! not disturbed. And a phone that changes networks restarts ICE from a new address and
//! keeps its seat: nobody sees it leave.

use crate::common::media_client::MediaClient;
use crate::common::relay::LossyRelay;
use crate::common::{Backend, Client, TestServer, wait_for};
use serde_json::Value;
use std::time::{Duration, Instant};

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

/// The applicant's own line in the staff stats.
async fn stats_of(chair: &Client, hearing: i64, pid: &str) -> Value {
    let (_, st) = chair.get(&format!("/api/hearings/{hearing}/stats")).await;
    st["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == pid)
        .cloned()
        .unwrap_or(Value::Null)
}

fn video_target(p: &Value) -> Option<u64> {
    p["subscribed"]
        .as_array()?
        .iter()
        .find(|t| t["kind"] == "video")?
        .get("target_layer")?
        .as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_loss_video_pauses_audio_flows_and_video_returns_when_the_network_does() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let server = srv.app.sfu.get().unwrap().local_addr;
    let relay = LossyRelay::start(server).await;

    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let k = MediaClient::join(&srv.base, hearing, token(&clerk)).await;
    let a = MediaClient::join_via(
        &srv.base,
        hearing,
        token(&applicant),
        Some(token(&chair)),
        relay.addr,
    )
    .await;
    assert!(
        wait_for(Duration::from_secs(10), || {
            let r = a.received_from(&c.participant_id);
            r.video_packets > 30 && r.audio_packets > 30
        })
        .await,
        "the applicant receives the chair through the relay"
    );

    // Half of what the server sends the applicant is lost.
    relay.set_loss_permille(500);
    let lossy_since = Instant::now();
    let mut paused_after = None;
    while lossy_since.elapsed() < Duration::from_secs(20) {
        let p = stats_of(&chair, hearing, &a.participant_id).await;
        if video_target(&p).is_none() && p["loss_permille"].as_u64().unwrap_or(0) > 100 {
            paused_after = Some(lossy_since.elapsed());
            println!(
                "paused after {:?}: estimate {} bps, loss {}‰",
                lossy_since.elapsed(),
                p["estimate_bps"],
                p["loss_permille"]
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        paused_after.is_some(),
        "video to the lossy applicant never paused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Paused: video stops; audio keeps coming (what survives the loss).
    let before = a.received_from(&c.participant_id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = a.received_from(&c.participant_id);
    assert!(
        after.video_packets - before.video_packets <= 3,
        "video still forwarded while paused: {before:?} → {after:?}"
    );
    assert!(
        after.audio_packets - before.audio_packets >= 20,
        "audio must keep flowing under loss: {before:?} → {after:?}"
    );
    // The clerk, on a clean network, is not disturbed.
    let kb = k.received_from(&c.participant_id).video_packets;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(k.received_from(&c.participant_id).video_packets > kb + 15);

    // The network recovers: the estimate climbs back and video resumes.
    relay.set_loss_permille(0);
    let clean_since = Instant::now();
    let v0 = a.received_from(&c.participant_id).video_packets;
    assert!(
        wait_for(Duration::from_secs(30), || a
            .received_from(&c.participant_id)
            .video_packets
            > v0 + 30)
        .await,
        "video did not come back after the network recovered"
    );
    println!(
        "video back {:?} after the loss stopped",
        clean_since.elapsed()
    );
    let p = stats_of(&chair, hearing, &a.participant_id).await;
    assert_eq!(video_target(&p), Some(0), "{p}");
    assert!(relay.dropped.load(std::sync::atomic::Ordering::Relaxed) > 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_that_changes_networks_restarts_ice_and_keeps_its_seat() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    assert!(
        wait_for(Duration::from_secs(10), || a
            .received_from(&c.participant_id)
            .video_packets
            > 30
            && c.received_from(&a.participant_id).video_packets > 30)
        .await
    );
    let before = stats_of(&chair, hearing, &a.participant_id).await;

    a.restart_ice().await;
    let (to_a, to_c) = (
        a.received_from(&c.participant_id).video_packets,
        c.received_from(&a.participant_id).video_packets,
    );
    assert!(
        wait_for(Duration::from_secs(10), || a
            .received_from(&c.participant_id)
            .video_packets
            > to_a + 60
            && c.received_from(&a.participant_id).video_packets > to_c + 60)
        .await,
        "media did not flow both ways after the ICE restart"
    );
    // (Gapless numbering across the restart is tested in `media::seq_map` and
    // `sfu::subscribed_track`, and its effect in Chromium by room.mjs: this client's
    // receiver reports never showed the gap, so a loss check here could not fail.)
    let after = stats_of(&chair, hearing, &a.participant_id).await;
    // The same seat and participant: the chair never saw it leave or reconnect.
    assert_eq!(after["participant_id"], before["participant_id"]);
    assert_eq!(after["connected"], true, "{after}");
    while let Ok(ev) = c.events.try_recv() {
        assert!(
            !matches!(
                ev["type"].as_str(),
                Some("participant_left" | "participant_reconnecting")
            ),
            "the chair was told {ev}"
        );
    }
}
