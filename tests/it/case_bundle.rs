//! The electronic case file as a bundle: a case built through the API (a signed
//! confirmation, a short recorded hearing) is downloaded as a ZIP that `yunting verify`
//! passes offline; flipping one byte in any file, removing a file, adding one or editing
//! the manifest makes it fail and name the item. Permissions per role, resumable
//! downloads, the background job with progress, the verify endpoint, and archives made
//! to attack the verifier (zip bombs, absolute paths, `..`, duplicate names, huge
//! manifests).

use crate::common::esign::{certify, sign};
use crate::common::media_client::MediaClient;
use crate::common::{
    Backend, Client, TestServer, add_user, assert_error, other_commission_clerk, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use yunting::domain::roles::StaffRole;
use yunting::records::verify::{BundleReport, VerifyOptions, verify_bundle};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Percent-encodes a file name for a query string.
fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn token(c: &Client) -> &str {
    c.token.as_deref().unwrap()
}

fn check(bytes: &[u8]) -> BundleReport {
    verify_bundle(Cursor::new(bytes.to_vec()), &VerifyOptions::default())
}

fn failed_items(r: &BundleReport) -> Vec<String> {
    r.failures().map(|f| f.item.clone()).collect()
}

/// Every entry of a ZIP, in order.
fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(
            name.as_str(),
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn manifest_of(bytes: &[u8]) -> Value {
    let e = entries(bytes);
    let m = &e.iter().find(|(n, _)| n == "manifest.json").unwrap().1;
    serde_json::from_slice(m).unwrap()
}

fn verify_cli(path: &Path, ca: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yunting"));
    cmd.arg("verify").arg(path);
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

async fn download(c: &Client, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = c
        .http
        .get(format!("{}{path}", c.base))
        .bearer_auth(token(c))
        .send()
        .await
        .unwrap();
    let (s, h) = (resp.status(), resp.headers().clone());
    (s, h, resp.bytes().await.unwrap().to_vec())
}

/// Tamper with each kind of item and check the verifier names it.
fn tampering_is_named(bundle: &[u8]) {
    let original = entries(bundle);
    let m = manifest_of(bundle);
    let files: Vec<String> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    // One byte flipped in any listed file.
    for victim in &files {
        let changed: Vec<(String, Vec<u8>)> = original
            .iter()
            .map(|(n, d)| {
                let mut d = d.clone();
                if n == victim && !d.is_empty() {
                    let i = d.len() / 2;
                    d[i] ^= 0x01;
                }
                (n.clone(), d)
            })
            .collect();
        let r = check(&zip_of(&changed));
        assert!(!r.ok, "flipping a byte of {victim} went unnoticed");
        assert!(
            failed_items(&r).contains(victim),
            "{victim} not named: {:?}",
            failed_items(&r)
        );
    }
    // A file removed.
    let victim = files.iter().find(|f| f.starts_with("documents/")).unwrap();
    let removed: Vec<(String, Vec<u8>)> = original
        .iter()
        .filter(|(n, _)| n != victim)
        .cloned()
        .collect();
    let r = check(&zip_of(&removed));
    assert!(!r.ok);
    let f = r
        .failures()
        .find(|f| &f.item == victim)
        .expect("removal named");
    assert!(f.message.contains("missing"), "{f:?}");
    // A file added.
    let mut added = original.clone();
    added.push(("documents/extra.pdf".into(), b"%PDF-1.7 forged".to_vec()));
    let r = check(&zip_of(&added));
    assert!(failed_items(&r).contains(&"documents/extra.pdf".to_string()));
    // The manifest edited (a file's hash replaced with the hash of forged content).
    let edited: Vec<(String, Vec<u8>)> = original
        .iter()
        .map(|(n, d)| {
            if n == "manifest.json" {
                let text = String::from_utf8(d.clone()).unwrap();
                (
                    n.clone(),
                    text.replacen("\"size\": ", "\"size\": 1", 1).into_bytes(),
                )
            } else {
                (n.clone(), d.clone())
            }
        })
        .collect();
    let r = check(&zip_of(&edited));
    assert!(!r.ok);
    assert!(
        r.failures()
            .any(|f| f.item == "manifest.json" && f.message.contains("INVALID")),
        "{:?}",
        r.findings
    );
    // The signature removed.
    let unsigned: Vec<(String, Vec<u8>)> = original
        .iter()
        .filter(|(n, _)| n != "manifest.sig")
        .cloned()
        .collect();
    let r = check(&zip_of(&unsigned));
    assert!(failed_items(&r).contains(&"manifest.sig".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_file_round_trips_and_any_change_is_named() {
    let (srv, demo) = TestServer::with_media(Backend::Sqlite, &[]).await.unwrap();
    let case = demo["case"]["id"].as_i64().unwrap();
    let hearing = demo["hearing"]["id"].as_i64().unwrap();
    srv.confirm_simplified_procedure(&demo).await;
    let clerk = srv.staff(&demo, "clerk").await;
    let chair = srv.staff(&demo, "arbitrator").await;
    let applicant = srv.ready_party(&demo, "applicant", hearing).await;
    {
        let _c = MediaClient::join(&srv.base, hearing, token(&chair)).await;
        let _a =
            MediaClient::join_admitted(&srv.base, hearing, token(&applicant), token(&chair)).await;
        // An exhibit with a long Chinese name (77+ characters used to make a path the
        // verifier refused), shown by the chair: it belongs in the main file.
        let long_name = format!("{}.png", "申请人提交的工资支付记录及银行流水截图".repeat(6));
        let (s, ex) = applicant
            .post_raw(
                &format!(
                    "/api/hearings/{hearing}/exhibits?name={}",
                    utf8_percent(&long_name)
                ),
                "image/png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{ex}");
        let (s, b) = chair
            .post(
                &format!("/api/hearings/{hearing}/control"),
                json!({"do": "show_exhibit", "exhibit_id": ex["id"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let dir = srv
        .end_hearing_and_wait_for_seal(&chair, &demo, "卷宗测试")
        .await;
    // The transcript (庭审笔录), signed by both parties, the arbitrator and the clerk.
    let (s, doc) = clerk
        .post(
            &format!("/api/cases/{case}/documents"),
            json!({"kind": "transcript", "hearing_id": hearing,
                   "fields": {"transcript_text": "仲裁员：现在开庭。\n申请人：请求支付工资差额。"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    let transcript = doc["id"].as_i64().unwrap();
    srv.age_sent_codes().await;
    let respondent = srv.verified_party(&demo, "respondent").await;
    for c in [&applicant, &respondent, &chair, &clerk] {
        let phone = certify(c, transcript).await;
        sign(c, transcript, &phone).await;
    }
    let (_, doc) = clerk.get(&format!("/api/documents/{transcript}")).await;
    assert_eq!(doc["status"], "effective", "{doc}");
    assert!(
        wait_for(Duration::from_secs(180), || {
            yunting::recording::jobs::state(&dir).as_deref() == Some("done")
        })
        .await,
        "post-processing did not finish"
    );

    // The main file, as the clerk downloads it.
    let (s, headers, bundle) =
        download(&clerk, &format!("/api/cases/{case}/bundle?part=main")).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bundle));
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        bundle.len().to_string()
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    let m = manifest_of(&bundle);
    let kinds: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for k in [
        "document",
        "certificate",
        "signatures",
        "recording_manifest",
        "recording_seal",
        "recording_segment",
        "recording_export",
        "hearing_events",
        "trust",
        "case",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    assert!(
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with("/export/hearing.mp4")),
        "the composite is in the main file"
    );
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("documents/transcript") && p.ends_with(".pdf")),
        "the signed transcript is in the main file: {paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("exhibits/")
            && p.contains("工资支付记录")
            && p.ends_with(".png")),
        "the shown exhibit, its long name cut to fit: {paths:?}"
    );
    assert!(kinds.contains(&"exhibit"), "{kinds:?}");
    // The main file shows masked ID numbers only.
    let case_json = entries(&bundle)
        .into_iter()
        .find(|(n, _)| n == "case.json")
        .unwrap()
        .1;
    assert!(String::from_utf8_lossy(&case_json).contains("****"));

    let r = check(&bundle);
    assert!(r.ok, "{}", r.render_text());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bundle.zip");
    std::fs::write(&path, &bundle).unwrap();
    let (ok, out) = verify_cli(&path, None);
    assert!(ok, "{out}");
    assert!(out.contains("通过 PASSED"), "{out}");
    assert!(out.contains("签章公钥指纹"), "{out}");

    // Pinned to the commission CA it passes; pinned to another CA it fails and says so.
    let ca_pem = entries(&bundle)
        .into_iter()
        .find(|(n, _)| n == "trust/commission-ca.pem")
        .unwrap()
        .1;
    std::fs::write(tmp.path().join("ca.pem"), &ca_pem).unwrap();
    let (ok, out) = verify_cli(&path, Some(&tmp.path().join("ca.pem")));
    assert!(ok, "{out}");
    let other = rcgen::generate_simple_self_signed(vec!["other.example".into()]).unwrap();
    std::fs::write(tmp.path().join("other.pem"), other.cert.pem()).unwrap();
    let (ok, out) = verify_cli(&path, Some(&tmp.path().join("other.pem")));
    assert!(!ok, "{out}");
    assert!(out.contains("trust/commission-ca.pem"), "{out}");

    // Tampering, file by file, through the library; once through the binary.
    tampering_is_named(&bundle);
    let mut e = entries(&bundle);
    let (victim, data) = e.iter_mut().find(|(n, _)| n.ends_with(".ytr")).unwrap();
    data[40] ^= 0x80;
    let victim = victim.clone();
    std::fs::write(&path, zip_of(&e)).unwrap();
    let (ok, out) = verify_cli(&path, None);
    assert!(!ok, "{out}");
    assert!(out.contains(&victim) && out.contains("FAIL"), "{out}");

    // Resuming: a range of the same bundle, by ETag or by id.
    let id = etag.trim_matches('"').to_string();
    let resp = clerk
        .http
        .get(format!("{}/api/cases/{case}/bundle?part=main", clerk.base))
        .bearer_auth(token(&clerk))
        .header("range", "bytes=0-99")
        .header("if-range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.headers()["content-range"].to_str().unwrap(),
        format!("bytes 0-99/{}", bundle.len())
    );
    let head = resp.bytes().await.unwrap().to_vec();
    let resp = clerk
        .http
        .get(format!(
            "{}/api/cases/{case}/bundle?part=main&bundle={id}",
            clerk.base
        ))
        .bearer_auth(token(&clerk))
        .header("range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let tail = resp.bytes().await.unwrap().to_vec();
    assert_eq!(
        [head, tail].concat(),
        bundle,
        "the resumed download is the same file"
    );

    // Without video: the recording's sealed manifest still verifies; no media inside.
    let (s, _, novideo) = download(
        &clerk,
        &format!("/api/cases/{case}/bundle?part=main&video=false"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = check(&novideo);
    assert!(r.ok, "{}", r.render_text());
    let m = manifest_of(&novideo);
    assert!(
        !m["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "recording_segment" || f["kind"] == "recording_export")
    );
    assert!(!m["omitted"].as_array().unwrap().is_empty());

    // The secondary file: the audit trail, checked entry by entry.
    let (s, _, secondary) =
        download(&clerk, &format!("/api/cases/{case}/bundle?part=secondary")).await;
    assert_eq!(s, StatusCode::OK);
    let r = check(&secondary);
    assert!(r.ok, "{}", r.render_text());
    let m = manifest_of(&secondary);
    assert_eq!(m["part"], "secondary");
    assert!(
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "audit/audit-log.jsonl")
    );

    // Every build and download is on the case's audit trail.
    let actions = crate::common::audit_actions(&clerk, case).await;
    assert!(actions.iter().any(|a| a == "case.bundle_built"));
    assert!(
        actions
            .iter()
            .filter(|a| *a == "case.bundle_downloaded")
            .count()
            >= 4
    );

    // The background job: progress, then the same kind of download.
    let (s, job) = clerk
        .post(
            &format!("/api/cases/{case}/bundles"),
            json!({"part": "main", "video": false}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let status_url = job["status_url"].as_str().unwrap().to_string();
    let mut ready = Value::Null;
    for _ in 0..100 {
        let (_, j) = clerk.get(&status_url).await;
        assert!(j["percent"].as_u64().unwrap() <= 100);
        if j["state"] == "ready" {
            ready = j;
            break;
        }
        assert_ne!(j["state"], "failed", "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready["percent"], 100, "{ready}");
    let (s, _, via_job) = download(&clerk, ready["result"]["download_url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(check(&via_job).ok);
    // Another person cannot see the job.
    assert_error(
        &chair.get(&status_url).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn bundle_and_verify_permissions_per_role() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(srv) = TestServer::start(backend).await else {
            continue;
        };
        let demo = srv.demo().await;
        let case = demo["case"]["id"].as_i64().unwrap();
        srv.confirm_simplified_procedure(&demo).await;
        let main = format!("/api/cases/{case}/bundle?part=main");
        let secondary = format!("/api/cases/{case}/bundle?part=secondary");
        let expect = [
            ("clerk", StatusCode::OK, StatusCode::OK),
            ("admin", StatusCode::OK, StatusCode::OK),
            ("arbitrator", StatusCode::OK, StatusCode::FORBIDDEN),
            ("mediator", StatusCode::OK, StatusCode::FORBIDDEN),
        ];
        for (who, m, s) in expect {
            let c = srv.staff(&demo, who).await;
            let (got, _, body) = download(&c, &main).await;
            assert_eq!(got, m, "{who} main: {}", String::from_utf8_lossy(&body));
            if got == StatusCode::OK {
                assert!(check(&body).ok, "{who}: {}", check(&body).render_text());
            }
            let (got, _, body) = download(&c, &secondary).await;
            assert_eq!(got, s, "{who} secondary");
            if got == StatusCode::OK {
                // The secondary file keeps the handwriting strokes each signature record
                // binds, named by their hash.
                let r = check(&body);
                assert!(r.ok, "{who}: {}", r.render_text());
                let files = entries(&body);
                let strokes: Vec<&(String, Vec<u8>)> = files
                    .iter()
                    .filter(|(n, _)| n.starts_with("documents/strokes/"))
                    .collect();
                assert!(
                    !strokes.is_empty(),
                    "{who}: no strokes in the secondary file"
                );
                let records: Value = serde_json::from_slice(
                    &files
                        .iter()
                        .find(|(n, _)| n == "documents/signatures.json")
                        .unwrap()
                        .1,
                )
                .unwrap();
                let signed: Vec<&Value> = records
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["strokes_sha256"].is_string())
                    .collect();
                assert!(signed.len() >= 2, "{who}: {records}");
                for rec in signed {
                    let sha = rec["strokes_sha256"].as_str().unwrap();
                    let (_, bytes) = strokes
                        .iter()
                        .find(|(n, _)| n == &format!("documents/strokes/{sha}.json"))
                        .unwrap_or_else(|| panic!("{who}: no strokes file for {sha}"));
                    assert_eq!(yunting::crypto::sha256_hex(bytes), sha);
                }
            }
        }
        // A party: the main file of their own case, without recordings; never the
        // secondary file; never another case.
        let party = srv.verified_party(&demo, "applicant").await;
        let (s, _, body) = download(&party, &main).await;
        assert_eq!(s, StatusCode::OK);
        let r = check(&body);
        assert!(r.ok, "{}", r.render_text());
        let m = manifest_of(&body);
        assert!(
            !m["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"].as_str().unwrap().starts_with("recordings/"))
        );
        assert!(m["omitted"].as_array().unwrap().iter().any(|o| {
            o["reason"]
                .as_str()
                .unwrap()
                .contains("parties may not download")
        }));
        assert_eq!(download(&party, &secondary).await.0, StatusCode::FORBIDDEN);
        let clerk = srv.staff(&demo, "clerk").await;
        let (other_case, other_party) = srv.party_of_another_case(&clerk).await;
        assert_eq!(download(&other_party, &main).await.0, StatusCode::FORBIDDEN);
        assert_ne!(other_case, case);
        // Staff not on this case, and another commission's clerk: nothing.
        let commission = demo["commission"]["id"].as_i64().unwrap();
        let (_, arb2) = add_user(&srv, commission, "arb2", "郑仲裁", StaffRole::Arbitrator).await;
        let (_, med2) = add_user(&srv, commission, "med2", "钱调解", StaffRole::Mediator).await;
        let other_clerk = other_commission_clerk(&srv).await;
        for (who, c) in [
            ("unassigned arbitrator", &arb2),
            ("unassigned mediator", &med2),
            ("another commission's clerk", &other_clerk),
        ] {
            for path in [&main, &secondary] {
                let (got, _, _) = download(c, path).await;
                assert!(
                    got == StatusCode::FORBIDDEN || got == StatusCode::NOT_FOUND,
                    "{who} {path}: {got}"
                );
            }
        }
        // A party holding the id of a staff bundle (with recordings) cannot fetch it:
        // kept bundles are kept per audience.
        let (got, h, _) = download(&clerk, &main).await;
        assert_eq!(got, StatusCode::OK);
        let staff_bundle = h["x-bundle-id"].to_str().unwrap().to_string();
        assert_error(
            &party
                .get(&format!(
                    "/api/cases/{case}/bundle?part=main&bundle={staff_bundle}"
                ))
                .await,
            StatusCode::GONE,
            "bundle_expired",
        );
        let anonymous = srv.client();
        assert_eq!(
            anonymous
                .http
                .get(format!("{}{main}", anonymous.base))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );

        // Bad requests.
        assert_error(
            &clerk
                .get(&format!("/api/cases/{case}/bundle?part=everything"))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
        assert_error(
            &clerk
                .get(&format!("/api/cases/{case}/bundle?bundle=../../etc/passwd"))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
        assert_error(
            &clerk
                .get(&format!(
                    "/api/cases/{case}/bundle?bundle={}",
                    "a".repeat(64)
                ))
                .await,
            StatusCode::GONE,
            "bundle_expired",
        );
        assert_eq!(
            clerk
                .get(&format!("/api/cases/{case}/bundle?sneaky=1"))
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            clerk.get("/api/cases/999999/bundle").await.0,
            StatusCode::NOT_FOUND
        );

        // The verify endpoint: staff only; a bundle and a PDF are checked, nothing else.
        let (_, _, bundle) = download(&clerk, &main).await;
        let (s, v) = clerk
            .post_raw("/api/verify", "application/zip", bundle.clone())
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["kind"], "bundle");
        assert_eq!(v["ok"], true, "{}", v["text"]);
        let mut broken = bundle.clone();
        let mid = broken.len() / 3;
        broken[mid] ^= 0x55;
        let (s, v) = clerk
            .post_raw("/api/verify", "application/zip", broken)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["ok"], false);
        let pdf = entries(&bundle)
            .into_iter()
            .find(|(n, _)| n.starts_with("documents/confirmation") && n.ends_with("-v1.pdf"))
            .unwrap()
            .1;
        // The sealed PDF alone carries its signature records, which match its signatures.
        let alone = yunting::esign::pdf_verify::verify_pdf(&pdf, None);
        assert_eq!(alone.records_checked, Some(2), "{}", alone.render_text());
        let (s, v) = clerk.post_raw("/api/verify", "application/pdf", pdf).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["kind"].as_str(), v["ok"].as_bool()),
            (Some("pdf"), Some(true)),
            "{v}"
        );
        assert_error(
            &clerk
                .post_raw("/api/verify", "text/plain", b"hello".to_vec())
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_file",
        );
        // Every staff role may check a file (nothing is stored, nothing of a case is
        // read); parties may not.
        for who in ["admin", "arbitrator", "mediator"] {
            let c = srv.staff(&demo, who).await;
            let (s, v) = c
                .post_raw("/api/verify", "application/zip", bundle.clone())
                .await;
            assert_eq!(
                (s, v["ok"].as_bool()),
                (StatusCode::OK, Some(true)),
                "{who}: {v}"
            );
        }
        assert_eq!(
            party
                .post_raw("/api/verify", "application/zip", bundle.clone())
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            anonymous
                .post_raw("/api/verify", "application/zip", bundle)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        let actions = crate::common::audit_actions(&clerk, case).await;
        assert!(actions.iter().any(|a| a == "case.bundle_downloaded"));

        // Archive export: a closed case's two bundles land in the directory once; both
        // verify; a second run skips it.
        let (s, b) = clerk
            .post(
                &format!("/api/cases/{other_case}/close"),
                json!({"closing_method": "rejection", "reason": "不属于劳动争议受理范围"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let archive = tempfile::tempdir().unwrap();
        let r = yunting::records::archive::export_closed(&srv.app, archive.path())
            .await
            .unwrap();
        assert_eq!(r.exported.len(), 1, "{r:?}");
        assert!(r.failed.is_empty(), "{r:?}");
        let folder = std::fs::read_dir(archive.path())
            .unwrap()
            .flatten()
            .find(|e| e.path().is_dir())
            .unwrap()
            .path();
        for part in ["main", "secondary"] {
            let bytes = std::fs::read(folder.join(format!("{part}.zip"))).unwrap();
            let r = check(&bytes);
            assert!(r.ok, "{part}: {}", r.render_text());
        }
        assert!(archive.path().join("index.json").is_file());
        let again = yunting::records::archive::export_closed(&srv.app, archive.path())
            .await
            .unwrap();
        assert_eq!((again.exported.len(), again.skipped), (0, 1));
        assert!(
            crate::common::audit_actions(&clerk, other_case)
                .await
                .iter()
                .any(|a| a == "case.archived")
        );
    }
}

/// Archives made to hurt the verifier are refused with a named reason; nothing panics and
/// nothing is written.
#[test]
fn hostile_archives_are_refused_by_name() {
    // Duplicate names: two entries written as "a.txt" and "b.txt", then renamed alike.
    let mut dup = zip_of(&[
        ("a.txt".into(), b"one".to_vec()),
        ("b.txt".into(), b"two".to_vec()),
    ]);
    let mut i = 0;
    while i + 5 <= dup.len() {
        if &dup[i..i + 5] == b"b.txt" {
            dup[i] = b'a';
        }
        i += 1;
    }
    let r = check(&dup);
    assert!(!r.ok);
    assert!(
        r.findings[0].message.contains("duplicate"),
        "{:?}",
        r.findings
    );

    // Absolute paths and `..` are named and refused.
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for name in ["/etc/passwd", "../../escape.txt", "ok/../../x"] {
        w.start_file(name, SimpleFileOptions::default()).unwrap();
        w.write_all(b"x").unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let r = check(&bytes);
    assert!(!r.ok);
    let named = failed_items(&r);
    for name in ["/etc/passwd", "../../escape.txt", "ok/../../x"] {
        assert!(
            named.contains(&name.to_string()),
            "{name} not named: {named:?}"
        );
    }

    // A zip bomb: a few KB that would expand to 64 MB.
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "manifest.json",
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
    )
    .unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        w.write_all(&zeros).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20);
    let r = check(&bytes);
    assert!(!r.ok);
    assert!(
        r.findings
            .iter()
            .any(|f| f.item == "manifest.json" && f.message.contains("zip bomb")),
        "{:?}",
        r.findings
    );

    // A huge manifest (stored, so not a bomb): refused unread.
    let huge = vec![b' '; 33 << 20];
    let r = check(&zip_of(&[("manifest.json".into(), huge)]));
    assert!(!r.ok);
    assert!(
        r.findings
            .iter()
            .any(|f| f.item == "manifest.json" && f.message.contains("too large")),
        "{:?}",
        r.findings
    );

    // A manifest listing an escaping path is refused before anything is read.
    let m = json!({"format": "yunting-case-bundle/1", "part": "main", "video": false,
        "case": {"id": 1, "number": "x", "cause": "x", "procedure": "simplified", "status": "closed",
                 "closing_method": null, "accepted_at_ms": 0, "closed_at_ms": null},
        "commission": {"id": 1, "name": "x", "seal_public_key": "00", "ca_certificate_sha256": "00"},
        "created_at_ms": 0, "created_by": "x", "audit_head": null,
        "files": [{"path": "../outside", "sha256": "00", "size": 1, "kind": "case", "title": "x"}],
        "omitted": []});
    let r = check(&zip_of(&[(
        "manifest.json".into(),
        serde_json::to_vec(&m).unwrap(),
    )]));
    assert!(!r.ok);
    assert!(
        r.findings
            .iter()
            .any(|f| f.item == "manifest.json" && f.message.contains("unsafe path")),
        "{:?}",
        r.findings
    );

    // Not a ZIP at all, and an empty file.
    assert!(!check(b"PK\x03\x04 but nothing else").ok);
    assert!(!check(b"").ok);
}
