//! Staff access to a finished recording: the playable files of `export/`, playback and
//! download with HTTP ranges, chapters from the hearing's phases. Parties get 403, names
//! outside the export listing are refused, and every playback request is on the audit trail.

use crate::common::media_client::MediaClient;
use crate::common::{Backend, Client, TestServer, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

/// A raw GET (the body as bytes), with an optional `Range`.
async fn fetch(c: &Client, path: &str, range: Option<&str>) -> reqwest::Response {
    let mut rb = c.http.get(format!("{}{path}", c.base));
    if let Some(t) = &c.token {
        rb = rb.bearer_auth(t);
    }
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    rb.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staff_play_and_download_recordings_with_ranges_parties_cannot() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    let case = demo["case"]["id"].as_i64().unwrap();
    let chair = srv.staff(&demo, "arbitrator").await;
    let clerk = srv.staff(&demo, "clerk").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    let c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
    let a = MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, b) = chair
        .post(
            &format!("/api/hearings/{hearing}/control"),
            json!({"do": "phase", "phase": "announce_discipline"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let export = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "x")
        .await
        .join("export");
    drop((c, a));
    assert!(
        wait_for(Duration::from_secs(30), || {
            std::fs::read_to_string(export.join("STATE")).is_ok_and(|s| s.trim() == "done")
        })
        .await,
        "post-processing did not finish"
    );

    // The clerk lists the files: one per participant.
    let base = format!("/api/hearings/{hearing}/recording");
    let (s, status) = clerk.get(&base).await;
    assert_eq!(s, 200, "{status}");
    assert_eq!(
        (status["state"].as_str(), status["percent"].as_u64()),
        (Some("ready"), Some(100)),
        "{status}"
    );
    assert_eq!(status["verification"]["anchored"], true, "{status}");
    let (s, list) = clerk.get(&format!("{base}/files")).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["processing"], "done");
    let files = list["files"].as_array().unwrap();
    let webms: Vec<&Value> = files
        .iter()
        .filter(|f| f["name"].as_str().unwrap().ends_with(".webm"))
        .collect();
    assert!(webms.len() >= 2, "{list}");
    for f in &webms {
        assert_eq!(f["kind"], "participant");
        assert_eq!(f["mime"], "video/webm");
        assert!(
            f["participant"].as_str().is_some_and(|p| !p.is_empty()),
            "{f}"
        );
        assert!(f["size"].as_u64().unwrap() > 100);
    }
    assert!(
        webms.iter().any(|f| f["participant_id"].is_string()),
        "file names are matched to the manifest's tracks: {list}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f["name"] == "report.txt" || f["name"] == "STATE")
    );

    // The whole file: exactly the bytes on disk.
    let f = webms[0];
    let name = f["name"].as_str().unwrap();
    let url = f["url"].as_str().unwrap();
    let on_disk = std::fs::read(export.join(name)).unwrap();
    assert_eq!(f["size"].as_u64().unwrap(), on_disk.len() as u64);
    let size = on_disk.len();
    let r = fetch(&clerk, url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "video/webm");
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(header(&r, "content-length"), size.to_string());
    assert_eq!(r.bytes().await.unwrap().as_ref(), on_disk.as_slice());

    // Ranges: the first 100 bytes, the last 10, from an offset to the end, and beyond.
    let r = fetch(&clerk, url, Some("bytes=0-99")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&r, "content-range"), format!("bytes 0-99/{size}"));
    assert_eq!(header(&r, "content-type"), "video/webm");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &on_disk[..100]);

    let r = fetch(&clerk, url, Some("bytes=-10")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&r, "content-range"),
        format!("bytes {}-{}/{size}", size - 10, size - 1)
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &on_disk[size - 10..]);

    let r = fetch(&clerk, url, Some("bytes=50-")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &on_disk[50..]);

    let r = fetch(&clerk, url, Some(&format!("bytes={size}-"))).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&r, "content-range"), format!("bytes */{size}"));
    let r = fetch(&clerk, url, Some("bytes=9-3")).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Only what export/ lists: the manifest next to it, traversal, unknown names.
    for (path, status) in [
        ("manifest.json", StatusCode::NOT_FOUND),
        ("report.txt", StatusCode::NOT_FOUND),
        ("STATE", StatusCode::NOT_FOUND),
        ("nope.webm", StatusCode::NOT_FOUND),
        ("..%2Fmanifest.json", StatusCode::BAD_REQUEST),
        ("..%5Cmanifest.json", StatusCode::BAD_REQUEST),
        ("x..webm", StatusCode::BAD_REQUEST),
        (".STATE", StatusCode::BAD_REQUEST),
    ] {
        let r = fetch(&clerk, &format!("{base}/files/{path}"), None).await;
        assert_eq!(r.status(), status, "{path}");
    }
    // A literal `../` is resolved by the client before sending: it never reaches a file.
    let r = fetch(&clerk, &format!("{base}/files/../manifest.json"), None).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    // An unknown hearing.
    assert_eq!(
        clerk.get("/api/hearings/999999/recording/files").await.0,
        404
    );

    // Parties cannot list, play or download recordings.
    // (The applicant verified before the hearing; the respondent verifies only now.)
    let respondent = srv.verified_party(&demo, "respondent").await;
    for party in [&applicant, &respondent] {
        assert_eq!(party.get(&format!("{base}/files")).await.0, 403);
        assert_eq!(
            fetch(party, url, None).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            fetch(party, url, Some("bytes=0-99")).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(party.get(&format!("{base}/chapters")).await.0, 403);
    }
    // Nor anyone signed out.
    assert_eq!(srv.client().get(&format!("{base}/files")).await.0, 401);

    // Chapters: the phases, relative to the start of the recording.
    let (s, ch) = clerk.get(&format!("{base}/chapters")).await;
    assert_eq!(s, 200, "{ch}");
    assert_eq!(ch["sealed"], true);
    let chapters = ch["chapters"].as_array().unwrap();
    let discipline = chapters
        .iter()
        .find(|c| c["title"] == "宣布庭审纪律")
        .unwrap_or_else(|| panic!("{ch}"));
    let at = discipline["offset_s"].as_f64().unwrap();
    assert!((1.0..5.0).contains(&at), "{ch}");
    // They are the chapters of hearing.mp4 itself, so the player lands on each phase.
    let p = crate::common::ffprobe(&export.join("hearing.mp4"), false);
    let in_file: Vec<(f64, String)> = p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                crate::common::num(&c["start_time"]),
                c["tags"]["title"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(in_file.len(), chapters.len(), "{ch} vs {p}");
    for ((start, title), c) in in_file.iter().zip(chapters) {
        assert_eq!(c["title"].as_str(), Some(title.as_str()), "{ch} vs {p}");
        assert!(
            (c["offset_s"].as_f64().unwrap() - start).abs() < 0.05,
            "{ch} vs {p}"
        );
    }
    assert!(
        chapters
            .windows(2)
            .all(|w| w[0]["offset_s"].as_f64() <= w[1]["offset_s"].as_f64()),
        "{ch}"
    );

    // The audit trail: listings, every playback request, the chapters and the refusals.
    let actions = crate::common::audit_actions(&clerk, case).await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert!(count("recording.files_read") >= 1, "{actions:?}");
    assert!(count("recording.played") >= 6, "{actions:?}");
    assert!(count("recording.chapters_read") >= 1, "{actions:?}");
    assert!(count("recording.access_refused") >= 4, "{actions:?}");
    let (_, trail) = clerk.get(&format!("/api/cases/{case}/audit")).await;
    let played: Vec<&Value> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "recording.played")
        .collect();
    assert!(
        played
            .iter()
            .any(|e| e.to_string().contains("bytes=0-99") && e.to_string().contains(name)),
        "{played:?}"
    );
}
