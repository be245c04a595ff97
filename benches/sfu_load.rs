//! Load generator for the SFU: N rooms × M participants, each publishing VP8 (~1 Mbps)
//! and Opus over real DTLS-SRTP on loopback, against a separately started `yunting serve`
//! process whose CPU time is read from /proc/<pid>/stat.
//!
//! cargo bench --bench sfu_load -- [rooms] [participants] [seconds]
//! (defaults 10 4 20). Prints one result line for docs/performance.md.

#[path = "../tests/it/common/media_client.rs"]
mod media_client;

use media_client::MediaClient;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo test --all-targets` runs this binary too (without `--bench`): do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("sfu_load: run with `cargo bench --bench sfu_load`");
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rooms: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let per_room: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    media_client::VIDEO_KBPS.store(1000, std::sync::atomic::Ordering::Relaxed);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let bin = env!("CARGO_BIN_EXE_yunting");
    let data = dir.path().join("data");
    let demo = Command::new(bin)
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--public-url",
            &base,
            "demo",
        ])
        .output()
        .unwrap();
    let demo: Value = serde_json::from_slice(&demo.stdout).unwrap();
    // YUNTING_BENCH_WRAP runs the server under a profiler, e.g. `heaptrack` or
    // `valgrind --tool=callgrind` (its figures are then the profiler's, not the server's).
    let wrap: Vec<String> = std::env::var("YUNTING_BENCH_WRAP")
        .map(|w| w.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let mut server_command = match wrap.split_first() {
        Some((tool, tool_args)) => {
            let mut c = Command::new(tool);
            c.args(tool_args).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut server = server_command
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--public-url",
            &base,
            "serve",
        ])
        .env("YUNTING_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("YUNTING_HTTPS_ADDR", "off")
        .env("YUNTING_MEDIA_UDP_ADDR", "127.0.0.1:0")
        .env("YUNTING_MEDIA_TCP_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        // Recording is on unless YUNTING_RECORDING=off is set for the run (on/off comparison).
        .env("YUNTING_RECORDINGS_DIR", dir.path().join("recordings"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pw = |u: &str| {
        demo["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["username"] == u)
            .unwrap()["password"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let login = |u: String, p: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/api/auth/login"))
                .json(&json!({"username": u, "password": p}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let admin = login("admin".into(), pw("admin")).await;
    let clerk = login("clerk".into(), pw("clerk")).await;
    let arbitrator_id = demo["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == "arbitrator")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let clerk_id = demo["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == "clerk")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    // One clerk account per seat position, one hearing per room.
    let mut tokens = Vec::new();
    for m in 0..per_room {
        let username = format!("bench{m}");
        post(&http, format!("{base}/api/users"), &admin, json!({"username": username, "display_name": format!("压测{m}"), "role": "clerk", "password": "bench-password-1"})).await;
        tokens.push(login(username, "bench-password-1".into()).await);
    }
    let mut hearings = Vec::new();
    for _ in 0..rooms {
        let case = post(
            &http,
            format!("{base}/api/cases"),
            &clerk,
            json!({"cause": "压测", "procedure": "simplified"}),
        )
        .await;
        let h = post(&http, format!("{base}/api/cases/{}/hearings", case["id"]), &clerk, json!({"scheduled_at": yunting::time::now_ms() + 3_600_000, "presiding_arbitrator_id": arbitrator_id, "clerk_id": clerk_id})).await;
        hearings.push(h["id"].as_i64().unwrap());
    }

    let mut clients = Vec::new();
    let mut join_times = Vec::new();
    for h in &hearings {
        for (i, t) in tokens.iter().enumerate() {
            if i + 1 == per_room {
                // The measured joiner comes after the others' keyframe requests (one per
                // 500 ms per track), as in a hearing where people join seconds apart;
                // right behind another joiner it would wait out that throttle.
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            let start = Instant::now();
            let c = MediaClient::join(&base, *h, t).await;
            join_times.push((start, c.connected_at.unwrap()));
            clients.push(c);
        }
    }
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    media_client::probe::take();
    media_client::probe::ON.store(true, std::sync::atomic::Ordering::Relaxed);
    let cpu0 = cpu_seconds(pid);
    let fwd0 = metric(&http, &base, "yunting_sfu_rtp_packets_forwarded").await;
    let rcv0 = metric(&http, &base, "yunting_sfu_rtp_packets_received").await;
    let io_names = [
        "yunting_sfu_datagrams_sent",
        "yunting_sfu_gso_datagrams",
        "yunting_sfu_gso_messages",
        "yunting_sfu_datagrams_handed_over",
        "yunting_sfu_loop_heap_allocations",
        "yunting_sfu_forwarding_heap_allocations",
    ];
    let mut io0 = [0u64; 6];
    for (v, n) in io0.iter_mut().zip(io_names) {
        *v = metric(&http, &base, n).await;
    }
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu1 = cpu_seconds(pid);
    let fwd1 = metric(&http, &base, "yunting_sfu_rtp_packets_forwarded").await;
    let rcv1 = metric(&http, &base, "yunting_sfu_rtp_packets_received").await;
    let mut io = [0u64; 6];
    for ((v, n), before) in io.iter_mut().zip(io_names).zip(io0) {
        *v = metric(&http, &base, n).await - before;
    }
    media_client::probe::ON.store(false, std::sync::atomic::Ordering::Relaxed);
    // Audio frames: publisher hands a frame to its stack → subscriber's stack delivers
    // it, through the server (all on loopback: an upper bound of what the server adds).
    let mut delays = media_client::probe::take();
    delays.sort_unstable();
    let dq = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |us| *us as f64 / 1000.0)
    };
    let sent_frames = media_client::probe::SENT.load(std::sync::atomic::Ordering::Relaxed);
    let got_frames = media_client::probe::RECEIVED.load(std::sync::atomic::Ordering::Relaxed);
    // What the server received and should have sent on (to the M−1 others), against
    // what it forwarded; and audio frames the subscribers got against what was sent.
    let should = (rcv1 - rcv0) as f64 * (per_room - 1) as f64;
    let server_loss = (1.0 - (fwd1 - fwd0) as f64 / should.max(1.0)).max(0.0);
    let delivered = got_frames as f64 / (sent_frames as f64 * (per_room - 1) as f64).max(1.0);
    let elapsed = t0.elapsed().as_secs_f64();
    let rss = rss_bytes(pid);
    let forwarded = (fwd1 - fwd0) as f64;
    let participants = rooms * per_room;
    // Join time is measured for the last joiner of each room, when the others already publish.
    let mut joins: Vec<f64> = clients
        .iter()
        .zip(&join_times)
        .skip(per_room - 1)
        .step_by(per_room)
        .filter_map(|(c, (start, _))| {
            let first = c
                .counts
                .lock()
                .unwrap()
                .values()
                .filter_map(|r| r.first_video_at)
                .min()?;
            Some(first.saturating_duration_since(*start).as_secs_f64() * 1000.0)
        })
        .collect();
    joins.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Of which: signaling start → peer connection connected (ICE + DTLS).
    let mut connects: Vec<f64> = join_times
        .iter()
        .skip(per_room - 1)
        .step_by(per_room)
        .map(|(start, connected)| {
            connected.saturating_duration_since(*start).as_secs_f64() * 1000.0
        })
        .collect();
    connects.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| {
        joins
            .get(((joins.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "latency publisher→subscriber (audio frames, n={}): p50={:.2} ms p99={:.2} ms; server-side loss={:.3}% (forwarded vs received×{}); audio frames delivered={:.2}%",
        delays.len(),
        dq(0.5),
        dq(0.99),
        server_loss * 100.0,
        per_room - 1,
        delivered * 100.0
    );
    println!(
        "rooms={rooms} participants/room={per_room} forwarded_pps={:.0} cpu_us_per_forwarded_packet={:.2} server_cpu_cores={:.2} rss_mb={:.1} rss_per_participant_mb={:.2} join_to_first_video_ms_p50={:.0} p99={:.0}",
        forwarded / elapsed,
        (cpu1 - cpu0) * 1e6 / forwarded.max(1.0),
        (cpu1 - cpu0) / elapsed,
        rss as f64 / 1e6,
        rss as f64 / 1e6 / participants as f64,
        p(0.5),
        p(0.99)
    );
    println!(
        "join: signaling start → connected p50={:.0} ms (the rest is the keyframe request and answer)",
        connects
            .get(connects.len() / 2)
            .copied()
            .unwrap_or(f64::NAN)
    );
    println!(
        "datagrams sent={} by GSO={:.1}% ({:.2} per GSO message); handed between loops={:.1}% of received",
        io[0],
        io[1] as f64 * 100.0 / io[0].max(1) as f64,
        io[1] as f64 / io[2].max(1) as f64,
        io[3] as f64 * 100.0 / (rcv1 - rcv0).max(1) as f64,
    );
    println!(
        "heap allocations on the per-packet path: {:.4} per forwarded packet; on the media loops in all (with RTCP, timers, stats): {:.3} per forwarded packet, {:.0} per second",
        io[5] as f64 / forwarded.max(1.0),
        io[4] as f64 / forwarded.max(1.0),
        io[4] as f64 / elapsed,
    );
    for c in clients {
        c.close().await;
    }
    let _ = server.kill();
    let _ = server.wait();
}
