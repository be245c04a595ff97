//! Case-file bundle throughput for `docs/performance.md`: write a bundle of recording-
//! sized files (stored ZIP, each file hashed on the way) and verify it (every file's
//! SHA-256 streamed, the manifest's seal signature, the trust chain), in MB/s.
//! Run: `cargo bench --bench records` (`YT_BENCH_MB` sets the payload, default 1024).

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use std::sync::Arc;
use std::time::Instant;
use yunting::esign::ca::CommissionCa;
use yunting::records::bundle::{self, Progress};
use yunting::records::collect::{Plan, PlannedFile, Source};
use yunting::records::manifest::{CA_CERT, CaseInfo, CommissionInfo, FileKind, Part, SEAL_CERT};
use yunting::records::verify::{VerifyOptions, verify_bundle};

fn main() {
    // `cargo test --all-targets` runs this too (without `--bench`): a small smoke run then,
    // so the suite exercises it without writing a gigabyte.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mb: usize = std::env::var("YT_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if smoke { 16 } else { 1024 });
    let dir = tempfile::tempdir().unwrap();
    let rng = SystemRandom::new();
    let seal = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let ca = CommissionCa::load_or_create(dir.path(), 1, "基准测试仲裁委", None).unwrap();
    let seal_cert = ca.seal_cert(dir.path(), 1, seal.as_ref()).unwrap();
    let public = yunting::recording::manifest::public_key_hex(seal.as_ref()).unwrap();

    // Recording-like files: 64 MB each of random bytes (incompressible, like media).
    let files_dir = dir.path().join("files");
    std::fs::create_dir_all(&files_dir).unwrap();
    let mut files = vec![
        PlannedFile {
            path: CA_CERT.into(),
            kind: FileKind::Trust,
            title: "ca".into(),
            source: Source::Bytes(ca.cert_pem().into_bytes()),
        },
        PlannedFile {
            path: SEAL_CERT.into(),
            kind: FileKind::Trust,
            title: "seal".into(),
            source: Source::Bytes(
                yunting::esign::ca::cert_pem_of(&seal_cert)
                    .unwrap()
                    .into_bytes(),
            ),
        },
    ];
    let file_mb = mb.min(64);
    let mut chunk = vec![0u8; file_mb << 20];
    for i in 0..mb.div_ceil(file_mb) {
        rng.fill(&mut chunk).unwrap();
        let p = files_dir.join(format!("f{i}.bin"));
        std::fs::write(&p, &chunk).unwrap();
        files.push(PlannedFile {
            path: format!("recordings/hearing-1/export/f{i}.webm"),
            kind: FileKind::RecordingExport,
            title: "media".into(),
            source: Source::File(p),
        });
    }
    let plan = Plan {
        part: Part::Main,
        video: true,
        for_party: false,
        case: CaseInfo {
            id: 1,
            number: "基准〔2026〕1号".into(),
            cause: "bench".into(),
            procedure: "simplified".into(),
            status: "closed".into(),
            closing_method: Some("mediation".into()),
            accepted_at_ms: 0,
            closed_at_ms: None,
        },
        commission: CommissionInfo {
            id: 1,
            name: "基准测试仲裁委".into(),
            seal_public_key: public,
            ca_certificate_sha256: yunting::esign::ca::cert_sha256_hex(ca.cert_der()),
        },
        created_by: "bench".into(),
        created_at_ms: 1_790_000_000_000,
        audit_head: None,
        files,
        omitted: vec![],
        seal_pkcs8: seal.as_ref().to_vec(),
    };
    let payload = plan.total_bytes() as f64 / 1e6;
    let out = dir.path().join("out");
    let t = Instant::now();
    let built = bundle::write(plan, &out, &Arc::new(Progress::default())).unwrap();
    let write_s = t.elapsed().as_secs_f64();
    // Drop the page cache's advantage as far as we can: read once before timing, so
    // both runs see the same (warm) cache and the figure is the CPU-bound one.
    let _ = std::fs::read(&built.path).map(|b| b.len());
    let t = Instant::now();
    let f = std::fs::File::open(&built.path).unwrap();
    let report = verify_bundle(
        std::io::BufReader::with_capacity(1 << 20, f),
        &VerifyOptions::default(),
    );
    let verify_s = t.elapsed().as_secs_f64();
    assert!(report.ok, "{}", report.render_text());
    println!("payload: {payload:.0} MB in {} files", report.files_checked);
    println!(
        "bundle write: {write_s:.2} s = {:.0} MB/s",
        payload / write_s
    );
    println!(
        "bundle verify: {verify_s:.2} s = {:.0} MB/s",
        payload / verify_s
    );
}
