//! The hearing procedure against the real server with real WebRTC peers: admission from
//! the waiting room, phases seen by everyone and recorded with server time, side-room
//! isolation and chair mutes enforced on the media path, removal, lock, presence, and the
//! audit events each action writes.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, assert_error, audit_actions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn server_with(env: &[(&str, &str)]) -> (TestServer, Value) {
    server_on(Backend::Sqlite, env).await.unwrap()
}

/// `None` only when PostgreSQL tests are explicitly skipped.
async fn server_on(backend: Backend, env: &[(&str, &str)]) -> Option<(TestServer, Value)> {
    TestServer::with_media(backend, env).await
}

fn seat_of(demo: &Value, role: &str) -> String {
    let inv = demo["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == role)
        .unwrap();
    format!("invitation:{}", inv["invitation_id"])
}

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

async fn control(c: &Client, hearing: i64, cmd: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/hearings/{hearing}/control"), cmd)
        .await
}

/// The next `hearing_state` satisfying `ok`.
async fn state_where(m: &mut MediaClient, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no matching hearing_state");
        let v = m.wait_event("hearing_state", left).await;
        if ok(&v) {
            return v;
        }
    }
}

/// Packets `to` received from `from` during `window`, as (audio, video).
async fn flow(to: &MediaClient, from: &MediaClient, window: Duration) -> (u64, u64) {
    let before = to.received_from(&from.participant_id);
    tokio::time::sleep(window).await;
    let after = to.received_from(&from.participant_id);
    (
        after.audio_packets - before.audio_packets,
        after.video_packets - before.video_packets,
    )
}

async fn wait_flowing(to: &MediaClient, from: &MediaClient) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let (a, v) = flow(to, from, Duration::from_millis(300)).await;
        if a > 0 && v > 0 {
            return;
        }
    }
    panic!(
        "{} receives nothing from {}",
        to.participant_id, from.participant_id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admission_and_phases_are_enforced_seen_by_all_and_recorded() {
    admission_and_phases(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admission_and_phases_on_postgres() {
    admission_and_phases(Backend::Postgres).await;
}

async fn admission_and_phases(backend: Backend) {
    let Some((srv, demo)) = server_on(backend, &[]).await else {
        return;
    };
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let case_id = demo["case"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;

    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let me = state_where(&mut c, |_| true).await;
    assert_eq!(me["my_role"], "presiding_arbitrator");
    assert_eq!(me["recording_notice"], "本庭审全程录音录像");
    // A merged hearing shows both case numbers.
    assert_eq!(me["case_numbers"].as_array().unwrap().len(), 2, "{me}");

    // A party cannot give chair commands over HTTP.
    let (s, _) = control(
        &applicant,
        hearing,
        json!({"do": "admit", "seat": seat_of(&demo, "applicant")}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut a =
        MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&clerk)).await;
    // ... nor over the socket; and it cannot unmute what the chair muted.
    a.send(json!({"type": "control", "command": {"do": "phase", "phase": "announce_discipline"}}));
    let e = a.wait_event("error", Duration::from_secs(5)).await;
    assert_eq!(e["code"], "forbidden");
    wait_flowing(&c, &a).await;

    // A simplified-procedure hearing does not open before both parties' confirmation is
    // in effect: attendance and discipline may go ahead, the opening may not, and the
    // chair is told what is missing.
    let (s, b) = control(&chair, hearing, json!({"do": "phase", "phase": "opening"})).await;
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("确认书"),
        "{b}"
    );
    assert_error(&(s, b), StatusCode::CONFLICT, "confirmation_not_effective");
    srv.confirm_simplified_procedure(&demo).await;

    // The chair moves through every phase; the party sees each one.
    let phases = [
        "announce_discipline",
        "opening",
        "claims_and_defence",
        "investigation",
        "debate",
        "final_statements",
        "mediation",
    ];
    for p in phases {
        c.send(json!({"type": "control", "command": {"do": "phase", "phase": p}}));
        let st = state_where(&mut a, |v| v["phase"] == p).await;
        assert!(!st["phase_label"].as_str().unwrap().is_empty());
    }
    // Out of order without a reason: refused, nothing changes.
    let (s, b) = control(&chair, hearing, json!({"do": "phase", "phase": "opening"})).await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    // The clerk may admit but not move phases.
    let (s, _) = control(&clerk, hearing, json!({"do": "phase", "phase": "closed"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = control(
        &chair,
        hearing,
        json!({"do": "phase", "phase": "debate", "reason": "补充辩论意见"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    state_where(&mut a, |v| v["phase"] == "debate").await;

    // The timeline has every phase with server time, in order.
    let (s, ev) = chair.get(&format!("/api/hearings/{hearing}/events")).await;
    assert_eq!(s, StatusCode::OK);
    let recorded: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "hearing.phase")
        .map(|e| e["detail"]["to"].as_str().unwrap())
        .collect();
    let mut expected = phases.to_vec();
    expected.push("debate");
    assert_eq!(recorded, expected);
    assert_eq!(
        applicant
            .get(&format!("/api/hearings/{hearing}/events"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // 闭庭: everyone is told; nobody gets back in.
    let (s, _) = control(&chair, hearing, json!({"do": "end", "reason": "辩论终结"})).await;
    assert_eq!(s, StatusCode::OK);
    a.wait_event("hearing_ended", Duration::from_secs(5)).await;
    let (_, h) = chair.get(&format!("/api/hearings/{hearing}")).await;
    assert_eq!(h["status"], "closed", "{h}");

    let actions = audit_actions(&clerk, case_id).await;
    for want in [
        "hearing.waiting_room",
        "hearing.admit",
        "hearing.phase",
        "hearing.control_refused",
        "hearing.discipline_acknowledged",
        "hearing.device_check",
        "hearing.ended",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "no {want} in {actions:?}"
        );
    }
    let (entries, problems) = yunting::audit::verify_database(&srv.app.db).await.unwrap();
    assert!(entries > 0 && problems.is_empty(), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_side_room_hides_each_side_from_the_other_and_chair_mutes_hold() {
    let (srv, demo) = server_with(&[]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let mediator = srv.staff(&demo, "mediator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let m = MediaClient::join(&srv.base, hearing, token(&mediator)).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    let mut r =
        MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    for (to, from) in [(&a, &r), (&r, &a), (&m, &a), (&c, &r)] {
        wait_flowing(to, from).await;
    }

    // The commission records side rooms (the default is not to); only its admin decides.
    let admin = srv.staff(&demo, "admin").await;
    assert_eq!(
        admin.get("/api/commission/settings").await.1["record_caucus"],
        false
    );
    let set = json!({"record_caucus": true});
    assert_eq!(
        chair.post("/api/commission/settings", set.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post("/api/commission/settings", set).await.0,
        StatusCode::OK
    );

    // The mediator takes the applicant's side aside.
    let (s, b) = control(
        &mediator,
        hearing,
        json!({"do": "caucus_open", "side": "applicant"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let st = state_where(&mut r, |v| !v["caucus"].is_null()).await;
    assert_eq!(st["caucus"]["recorded"], true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = Duration::from_millis(1500);
    assert_eq!(
        flow(&r, &a, w).await,
        (0, 0),
        "respondent must not hear or see the applicant"
    );
    assert_eq!(
        flow(&a, &r, w).await,
        (0, 0),
        "applicant must not hear or see the respondent"
    );
    assert_eq!(
        flow(&r, &m, w).await,
        (0, 0),
        "the mediator is in the side room"
    );
    assert_eq!(
        flow(&c, &a, w).await,
        (0, 0),
        "the chair stays in the main room"
    );
    wait_flowing(&a, &m).await;
    wait_flowing(&m, &a).await;
    wait_flowing(&r, &c).await;

    let (s, _) = control(&mediator, hearing, json!({"do": "caucus_close"})).await;
    assert_eq!(s, StatusCode::OK);
    wait_flowing(&r, &a).await;
    wait_flowing(&a, &r).await;

    // The chair mutes the respondent's microphone: the server drops it, whatever the client does.
    let (s, _) = control(
        &chair,
        hearing,
        json!({"do": "mute", "seat": seat_of(&demo, "respondent"), "kind": "audio", "muted": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    r.wait_event("chair_mute", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (audio, video) = flow(&a, &r, w).await;
    assert_eq!(audio, 0, "muted audio still forwarded");
    assert!(video > 0, "video must keep flowing");
    r.send(json!({"type": "mute", "kind": "audio", "muted": false}));
    assert_eq!(
        r.wait_event("error", Duration::from_secs(5)).await["code"],
        "mute_held"
    );
    let (s, _) = control(
        &chair,
        hearing,
        json!({"do": "mute", "seat": seat_of(&demo, "respondent"), "kind": "audio", "muted": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    wait_flowing(&a, &r).await;

    let events = chair
        .get(&format!("/api/hearings/{hearing}/events"))
        .await
        .1;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for want in [
        "hearing.caucus_opened",
        "hearing.caucus_closed",
        "hearing.mute",
    ] {
        assert!(kinds.contains(&want), "{want} missing from {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removal_lock_and_presence() {
    let (srv, demo) = server_with(&[("YUNTING_RECONNECT_GRACE_SECS", "2")]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let respondent = srv.ready_party(&demo, "respondent", hearing).await;
    let mut c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let mut a =
        MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    let mut r =
        MediaClient::join_admitted(&srv.base, hearing, token(&respondent), token(&chair)).await;
    wait_flowing(&c, &a).await;

    // The respondent's network drops: reconnecting, then did not return.
    r.drop_signaling();
    let roster_presence = |v: &Value, seat: &str| -> String {
        v["seats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["seat"] == seat)
            .map(|s| s["presence"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let rseat = seat_of(&demo, "respondent");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(&"did_not_return".to_string()) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "presence went {seen:?}");
        let v = c.wait_event("roster", left).await;
        let p = roster_presence(&v, &rseat);
        if seen.last() != Some(&p) {
            seen.push(p);
        }
    }
    assert!(seen.contains(&"reconnecting".to_string()), "{seen:?}");

    // Removal is final.
    let (s, b) = control(
        &chair,
        hearing,
        json!({"do": "remove", "seat": seat_of(&demo, "applicant"), "reason": "  "}),
    )
    .await;
    assert_error(&(s, b), StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    let (s, _) = control(
        &chair,
        hearing,
        json!({"do": "remove", "seat": seat_of(&demo, "applicant"), "reason": "多次不听劝阻扰乱庭审秩序"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let removed = a.wait_event("removed", Duration::from_secs(5)).await;
    assert_eq!(removed["reason"], "多次不听劝阻扰乱庭审秩序");
    // The party's page learns it on reload, and its socket is refused.
    let (_, me) = applicant.get("/api/party/hearing").await;
    assert_eq!(me["removed"], "多次不听劝阻扰乱庭审秩序");
    let url = format!(
        "{}/ws/hearing/{hearing}",
        srv.base.replacen("http", "ws", 1)
    );
    let reply = one_reply(&url, token(&applicant), json!({"type": "join"})).await;
    assert_eq!(reply["code"], "removed");

    // A locked room keeps newcomers out (the respondent's grace ran out: it is new again).
    let (s, _) = control(&chair, hearing, json!({"do": "lock", "locked": true})).await;
    assert_eq!(s, StatusCode::OK);
    let reply = one_reply(&url, token(&respondent), json!({"type": "join"})).await;
    assert_eq!(reply["code"], "room_locked");

    let events = chair
        .get(&format!("/api/hearings/{hearing}/events"))
        .await
        .1;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for want in [
        "hearing.connection_lost",
        "hearing.did_not_return",
        "hearing.remove",
        "hearing.lock",
        "hearing.control_refused",
        "hearing.join_refused",
    ] {
        assert!(kinds.contains(&want), "{want} missing from {kinds:?}");
    }
}

/// Open a socket, send one frame, return the first reply that is not a state broadcast.
async fn one_reply(url: &str, token: &str, msg: Value) -> Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "hearing_state" && v["type"] != "roster" {
                    return v;
                }
            }
            other => panic!("no reply: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_check_discipline_network_test_and_exhibits_over_http() {
    checks_and_exhibits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_check_discipline_and_exhibits_on_postgres() {
    checks_and_exhibits(Backend::Postgres).await;
}

async fn checks_and_exhibits(backend: Backend) {
    let Some((srv, demo)) = server_on(backend, &[]).await else {
        return;
    };
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.verified_party(&demo, "applicant").await;
    let respondent = srv.verified_party(&demo, "respondent").await;
    let (_, stranger) = srv.party_of_another_case(&clerk).await;

    // The network test needs a session and returns what it was asked for.
    assert_eq!(
        srv.client().get("/api/netcheck/ping").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, b) = applicant.get("/api/netcheck/ping").await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["t"].as_i64().unwrap() > 0);
    let blob = applicant
        .http
        .get(format!("{}/api/netcheck/blob?kb=4", srv.base))
        .bearer_auth(token(&applicant))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(blob.len(), 4096);
    let (s, b) = applicant
        .post_raw(
            "/api/netcheck/blob",
            "application/octet-stream",
            vec![7; 300_000],
        )
        .await;
    assert_eq!((s, b["bytes"].as_u64()), (StatusCode::OK, Some(300_000)));

    // The device check's verdict, in plain words, recorded for the hearing.
    let check = |camera: bool, microphone: bool, up: u32| json!({"camera": camera, "microphone": microphone, "rtt_ms": 60, "down_kbps": 6000, "up_kbps": up});
    let path = format!("/api/hearings/{hearing}/device-check");
    let (s, b) = applicant.post(&path, check(false, true, 2000)).await;
    assert_eq!(
        (s, b["verdict"].as_str()),
        (StatusCode::OK, Some("audio_only"))
    );
    assert!(b["message"].as_str().unwrap().contains("语音"));
    let (_, b) = applicant.post(&path, check(true, false, 2000)).await;
    assert_eq!(b["verdict"], "cannot_join");
    let (s, b) = applicant
        .post(&path, json!({"camera": true, "microphone": true, "rtt_ms": 99_999_999, "down_kbps": 1, "up_kbps": 1}))
        .await;
    assert_error(&(s, b), StatusCode::BAD_REQUEST, "invalid_device_check");
    let (s, _) = applicant.post(&path, json!({"camera": true})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        stranger.post(&path, check(true, true, 2000)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, me) = applicant.get("/api/party/hearing").await;
    assert_eq!(me["device_check"]["verdict"], "cannot_join");
    assert!(me["discipline_ack_at"].is_null());

    // The discipline text, and its acknowledgement (parties only).
    let dpath = format!("/api/hearings/{hearing}/discipline");
    let (s, d) = applicant.get(&dpath).await;
    assert_eq!(s, StatusCode::OK);
    assert!(d["text"].as_str().unwrap().contains("庭审纪律"));
    assert_eq!(d["recording_notice"], "本庭审全程录音录像");
    let (s, b) = chair.post(&dpath, json!({})).await;
    assert_error(&(s, b), StatusCode::FORBIDDEN, "not_a_party");
    let (s, b) = applicant.post(&dpath, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = applicant.get("/api/party/hearing").await;
    assert_eq!(me["discipline_ack_at"], b["acknowledged_at"]);
    assert_eq!(me["hearing"]["id"], hearing);

    // Exhibits: the content decides the type; a party sees its own and the shown ones.
    let epath = format!("/api/hearings/{hearing}/exhibits");
    let (s, b) = applicant
        .post_raw(
            &format!("{epath}?name=a.txt"),
            "image/png",
            b"not an image".to_vec(),
        )
        .await;
    assert_error(
        &(s, b),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
    );
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let (s, ex) = applicant
        .post_raw(
            &format!("{epath}?name=%E5%B7%A5%E8%B5%84%E6%9D%A1.png"),
            "image/png",
            png.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ex}");
    assert_eq!(ex["status"], "pending");
    assert_eq!(ex["name"], "工资条.png");
    let id = ex["id"].as_i64().unwrap();
    let listed = |v: &Value| v["exhibits"].as_array().unwrap().len();
    assert_eq!(listed(&applicant.get(&epath).await.1), 1);
    assert_eq!(listed(&respondent.get(&epath).await.1), 0);
    assert_eq!(
        respondent.get(&format!("/api/exhibits/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(stranger.get(&epath).await.0, StatusCode::NOT_FOUND);
    // A stranger's upload is refused before anything reaches the disk.
    let (s, _) = stranger
        .post_raw(
            &format!("{epath}?name=x.pdf"),
            "application/pdf",
            b"%PDF-1.4 other".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let stored = std::fs::read_dir(srv.dir.path().join("exhibits"))
        .unwrap()
        .count();
    assert_eq!(stored, 1, "only the applicant's exhibit is on disk");
    // Only the chair shows it to everyone.
    let show = json!({"do": "show_exhibit", "exhibit_id": id});
    assert_eq!(
        control(&clerk, hearing, show.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, b) = control(
        &chair,
        hearing,
        json!({"do": "show_exhibit", "exhibit_id": 999}),
    )
    .await;
    assert_error(&(s, b), StatusCode::NOT_FOUND, "unknown_exhibit");
    assert_eq!(control(&chair, hearing, show).await.0, StatusCode::OK);
    assert_eq!(listed(&respondent.get(&epath).await.1), 1);
    let got = respondent
        .http
        .get(format!("{}/api/exhibits/{id}", srv.base))
        .bearer_auth(token(&respondent))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_observer_receives_but_sends_nothing_and_a_witness_waits_to_be_called() {
    let (srv, demo) = server_with(&[]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let observer = srv.ready_party(&demo, "observer", hearing).await;
    let witness = srv.ready_party(&demo, "witness", hearing).await;
    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    // The test client publishes audio and video whatever its role: the server drops them.
    let o = MediaClient::join_admitted(&srv.base, hearing, token(&observer), token(&chair)).await;
    wait_flowing(&o, &c).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(flow(&c, &o, Duration::from_millis(1500)).await, (0, 0));

    // A witness cannot be admitted like a party: the chair calls them.
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!(
        "{}/ws/hearing/{hearing}",
        srv.base.replacen("http", "ws", 1)
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", token(&witness)).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(json!({"type": "join"}).to_string().into()))
        .await
        .unwrap();
    let mut next = async || loop {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("socket closed")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["type"] != "hearing_state" {
            return v;
        }
    };
    assert_eq!(
        next().await,
        json!({"type": "waiting", "reason": "witness"})
    );
    let seat = seat_of(&demo, "witness");
    let (s, b) = control(&chair, hearing, json!({"do": "admit", "seat": seat})).await;
    assert_error(&(s, b), StatusCode::CONFLICT, "not_waiting");
    let (s, b) = control(&chair, hearing, json!({"do": "call_witness", "seat": seat})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(next().await["type"], "admitted");
    assert_eq!(next().await["type"], "joined");
    let (s, _) = control(
        &chair,
        hearing,
        json!({"do": "dismiss_witness", "seat": seat}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    loop {
        let v = next().await;
        if v["type"] == "waiting" {
            assert_eq!(v["reason"], "witness");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_deny_with_a_reason_or_ask_to_verify_again() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (srv, demo) = server_with(&[]).await;
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let clerk = srv.staff(&demo, "clerk").await;
    let url = format!(
        "{}/ws/hearing/{hearing}",
        srv.base.replacen("http", "ws", 1)
    );
    for (role, cmd, expect) in [
        (
            "applicant",
            json!({"do": "deny", "reason": "非本案当事人"}),
            "denied",
        ),
        (
            "respondent",
            json!({"do": "reverify"}),
            "reverify_requested",
        ),
    ] {
        let party = srv.ready_party(&demo, role, hearing).await;
        let mut req = url.clone().into_client_request().unwrap();
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", token(&party)).parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(Message::Text(json!({"type": "join"}).to_string().into()))
            .await
            .unwrap();
        let mut cmd = cmd;
        cmd["seat"] = json!(seat_of(&demo, role));
        let mut seen_waiting = false;
        let reply = loop {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("closed early")
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "waiting" {
                seen_waiting = true;
                let (s, b) = control(&clerk, hearing, cmd.clone()).await;
                assert_eq!(s, StatusCode::OK, "{b}");
            }
            if v["type"] == expect {
                break v;
            }
        };
        assert!(seen_waiting);
        if expect == "denied" {
            assert_eq!(reply["reason"], "非本案当事人");
        } else {
            // The party's session is over: the identity check starts again.
            assert_eq!(
                party.get("/api/party/hearing").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let (_, ev) = clerk.get(&format!("/api/hearings/{hearing}/events")).await;
    let kinds: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"hearing.deny") && kinds.contains(&"hearing.reverify"),
        "{kinds:?}"
    );
}
