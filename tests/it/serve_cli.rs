//! The `yunting serve` binary on its defaults: SQLite and a self-signed certificate made
//! in the data dir at first start and kept, HTTPS and HTTP both answering, the dev outbox
//! closed without `--dev`, and a clean exit on SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, http: u16, https: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_yunting"))
        .arg("serve")
        .current_dir(dir)
        .env("YUNTING_HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("YUNTING_HTTPS_ADDR", format!("127.0.0.1:{https}"))
        .env("YUNTING_MEDIA_UDP_ADDR", "127.0.0.1:0")
        .env("YUNTING_MEDIA_TCP_ADDR", "127.0.0.1:0")
        .env_remove("YUNTING_DATA_DIR")
        .env_remove("YUNTING_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("YUNTING_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return r.json().await.unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not come up at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let (http, https) = (free_port(), free_port());
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();

    let child = spawn(dir.path(), http, https);
    let health = wait_healthy(&client, &format!("https://127.0.0.1:{https}/healthz")).await;
    assert_eq!(health["database"]["backend"], "sqlite");
    assert_eq!(health["database"]["ok"], true);
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    let plain = wait_healthy(&client, &format!("http://127.0.0.1:{http}/healthz")).await;
    assert_eq!(plain["status"], "ok");
    // Not in dev mode: the outbox is not routed.
    assert_eq!(
        client
            .get(format!("http://127.0.0.1:{http}/dev/outbox"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The console is served from the binary.
    let page = client
        .get(format!("https://127.0.0.1:{https}/"))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");

    assert!(dir.path().join("data/yunting.db").exists());
    let cert = std::fs::read(dir.path().join("data/tls/cert.pem")).unwrap();
    assert!(String::from_utf8_lossy(&cert).contains("BEGIN CERTIFICATE"));
    let status = terminate(child);
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // A restart keeps the same certificate (phones accepted it once).
    let child = spawn(dir.path(), http, https);
    wait_healthy(&client, &format!("https://127.0.0.1:{https}/healthz")).await;
    assert_eq!(
        std::fs::read(dir.path().join("data/tls/cert.pem")).unwrap(),
        cert
    );
    assert!(terminate(child).success());
}
