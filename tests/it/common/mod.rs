//! Test harness: a real server (the same router and store the binary runs) on a loopback
//! port, over a fresh SQLite file or a fresh database on the PostgreSQL server that
//! `scripts/test.sh` starts (its admin URL in `YUNTING_TEST_PG_URL`).
#![allow(dead_code)]

pub mod esign;
pub mod oracles;
pub mod relay;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use yunting::app::App;
use yunting::config::Config;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub base: String,
    pub app: App,
    pub db_url: String,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

/// A fresh, empty PostgreSQL database for one test; `None` only when the developer
/// explicitly opted out with `YUNTING_SKIP_PG=1`.
pub async fn fresh_pg_database() -> Option<String> {
    let Ok(admin) = std::env::var("YUNTING_TEST_PG_URL") else {
        if std::env::var("YUNTING_SKIP_PG").as_deref() == Ok("1") {
            eprintln!("YUNTING_SKIP_PG=1: PostgreSQL test skipped");
            return None;
        }
        panic!(
            "YUNTING_TEST_PG_URL is not set: run the suite with scripts/test.sh (it starts PostgreSQL on loopback), or set YUNTING_SKIP_PG=1 to skip PostgreSQL tests explicitly"
        );
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    let name = format!(
        "yt_{}",
        yunting::crypto::hex(&yunting::crypto::random_bytes::<8>())
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin.clone());
    Some(format!("{base}/{name}"))
}

impl TestServer {
    /// Start a server; `None` if the backend was explicitly skipped.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra_env: &[(&str, &str)]) -> Option<TestServer> {
        let dir = tempfile::tempdir().unwrap();
        let db_url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("yunting.db").display()
            ),
            Backend::Postgres => fresh_pg_database().await?,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // The configuration takes the first value of a name: the test's own come first.
        let mut env: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.extend([
            ("YUNTING_DATA_DIR".into(), dir.path().display().to_string()),
            ("YUNTING_DATABASE_URL".into(), db_url.clone()),
            ("YUNTING_PUBLIC_URL".into(), base.clone()),
            (
                "YUNTING_RECORDINGS_DIR".into(),
                dir.path().join("recordings").display().to_string(),
            ),
        ]);
        let config = Config::from_parts(None, &env).unwrap();
        let app = App::open(config, true).await.expect("open app");
        let (tx, rx) = oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            yunting::server::serve_http(served, listener, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Some(TestServer {
            base,
            app,
            db_url,
            dir,
            stop: Some(tx),
        })
    }

    pub async fn demo(&self) -> Value {
        yunting::demo::seed(&self.app).await.expect("seed demo")
    }

    pub fn client(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            token: None,
        }
    }

    /// A client signed in as the demo staff member `username`.
    pub async fn staff(&self, demo: &Value, username: &str) -> Client {
        let pw = demo["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["username"] == username)
            .unwrap()["password"]
            .as_str()
            .unwrap()
            .to_string();
        let mut c = self.client();
        let (s, body) = c
            .post(
                "/api/auth/login",
                json!({"username": username, "password": pw}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {username}: {body}");
        c.token = Some(body["token"].as_str().unwrap().to_string());
        c
    }

    /// The newest code the dev outbox holds for `phone`.
    pub async fn otp_for(&self, phone: &str) -> String {
        let (_, body) = self.client().get("/dev/outbox").await;
        let msg = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["recipient"] == phone)
            .expect("a message to that phone");
        let text = msg["body"].as_str().unwrap();
        let start = text.find(|c: char| c.is_ascii_digit()).unwrap();
        text[start..start + 6].to_string()
    }

    /// A client that went through the identity check of the demo invitation for `role`.
    pub async fn verified_party(&self, demo: &Value, role: &str) -> Client {
        let inv = demo["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["role"] == role)
            .unwrap()
            .clone();
        let token = invitation_token(&inv);
        let mut c = self.client();
        let (s, b) = c
            .post(
                &format!("/api/j/{token}/identity"),
                json!({"name": inv["name"], "id_last6": inv["id_last6"]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let code = self.otp_for(inv["phone"].as_str().unwrap()).await;
        let (s, b) = c
            .post(&format!("/api/j/{token}/verify"), json!({"code": code}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        c.token = Some(b["token"].as_str().unwrap().to_string());
        c
    }
}

impl TestServer {
    /// A server with the media server on loopback and the demo seeded; `None` only when
    /// PostgreSQL tests are explicitly skipped.
    pub async fn with_media(
        backend: Backend,
        extra_env: &[(&str, &str)],
    ) -> Option<(TestServer, Value)> {
        let mut env = vec![
            ("YUNTING_MEDIA_UDP_ADDR", "127.0.0.1:0"),
            ("YUNTING_MEDIA_TCP_ADDR", "127.0.0.1:0"),
        ];
        env.extend_from_slice(extra_env);
        let srv = Self::start_with(backend, &env).await?;
        srv.app.start_media().await.unwrap();
        let demo = srv.demo().await;
        Some((srv, demo))
    }

    /// The chair ends the demo hearing; returns its recording directory once the
    /// recording is sealed (`manifest.json` written).
    pub async fn end_hearing_and_wait_for_seal(
        &self,
        chair: &Client,
        demo: &Value,
        reason: &str,
    ) -> std::path::PathBuf {
        let hearing = demo["hearing"]["id"].as_i64().unwrap();
        let (s, b) = chair
            .post(
                &format!("/api/hearings/{hearing}/control"),
                json!({"do": "end", "reason": reason}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let dir = self
            .app
            .config
            .recordings_dir
            .join(demo["case"]["id"].to_string())
            .join(hearing.to_string());
        assert!(
            wait_for(std::time::Duration::from_secs(10), || dir
                .join("manifest.json")
                .exists())
            .await,
            "no manifest in {}",
            dir.display()
        );
        dir
    }

    /// A verified party who also passed the device check and acknowledged the discipline
    /// for `hearing`: ready for the waiting room.
    pub async fn ready_party(&self, demo: &Value, role: &str, hearing: i64) -> Client {
        let c = self.verified_party(demo, role).await;
        let (s, b) = c
            .post(
                &format!("/api/hearings/{hearing}/device-check"),
                json!({"camera": true, "microphone": true, "rtt_ms": 40, "down_kbps": 8000, "up_kbps": 3000}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["verdict"], "good");
        let (s, b) = c
            .post(&format!("/api/hearings/{hearing}/discipline"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        c
    }

    /// A verified party (applicant) of a new case of the same commission, for "another
    /// case" checks. Returns the case id and the party's client.
    pub async fn party_of_another_case(&self, clerk: &Client) -> (i64, Client) {
        let (_, case) = clerk
            .post(
                "/api/cases",
                json!({"cause": "社会保险", "procedure": "ordinary"}),
            )
            .await;
        let case_id = case["id"].as_i64().unwrap();
        let idn = id_number("44010619920202123");
        let (_, p) = clerk.post(&format!("/api/cases/{case_id}/parties"), json!({"side": "applicant", "kind": "person", "name": "吴六", "phone": "13500000005", "id_number": idn})).await;
        let (_, inv) = clerk
            .post(
                &format!("/api/cases/{case_id}/invitations"),
                json!({"role": "applicant", "party_id": p["id"]}),
            )
            .await;
        let invitation = json!({"invitations": [{"role": "applicant", "name": "吴六", "phone": "13500000005", "id_last6": idn[12..].to_string(), "url": inv["url"]}]});
        (case_id, self.verified_party(&invitation, "applicant").await)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn invitation_token(inv: &Value) -> String {
    inv["url"]
        .as_str()
        .unwrap()
        .rsplit_once("/j/")
        .unwrap()
        .1
        .to_string()
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    fn with_auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::read(
            self.with_auth(self.http.get(format!("{}{path}", self.base)))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::read(
            self.with_auth(self.http.post(format!("{}{path}", self.base)))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The raw body of a GET (PDFs, images).
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .with_auth(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        Self::read(
            self.with_auth(self.http.post(format!("{}{path}", self.base)))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// A staff account of `commission_id`, signed in.
pub async fn add_user(
    srv: &TestServer,
    commission_id: i64,
    username: &str,
    name: &str,
    role: yunting::domain::roles::StaffRole,
) -> (i64, Client) {
    let password = "correct-horse-battery-9".to_string();
    let mut tx = srv.app.db.write().await.unwrap();
    let u = yunting::store::users::create(
        &mut tx,
        &yunting::authz::Principal::System,
        commission_id,
        &yunting::store::users::NewUser {
            username: username.into(),
            display_name: name.into(),
            role,
            password: password.clone(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut c = srv.client();
    let (s, body) = c
        .post(
            "/api/auth/login",
            json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "login {username}: {body}");
    c.token = Some(body["token"].as_str().unwrap().to_string());
    (u.id, c)
}

/// Another commission (深圳) and its clerk, signed in.
pub async fn other_commission_clerk(srv: &TestServer) -> Client {
    let mut tx = srv.app.db.write().await.unwrap();
    let other = yunting::store::commissions::create(
        &mut tx,
        &srv.app,
        &yunting::authz::Principal::System,
        "深圳市劳动人事争议仲裁委员会",
        "深劳人仲案",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    add_user(
        srv,
        other.id,
        "clerk_sz",
        "深书记",
        yunting::domain::roles::StaffRole::Clerk,
    )
    .await
    .1
}

/// The actions in a case's audit trail, in order (as a clerk or admin sees them).
pub async fn audit_actions(staff: &Client, case_id: i64) -> Vec<String> {
    let (status, trail) = staff.get(&format!("/api/cases/{case_id}/audit")).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// Assert an error response: status and `error.code`.
pub fn assert_error(resp: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(
        resp.0, status,
        "expected {status} {code}, got {} {}",
        resp.0, resp.1
    );
    assert_eq!(resp.1["error"]["code"], code, "body: {}", resp.1);
    assert!(
        resp.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

/// A valid resident ID number built from 17 digits.
pub mod media_client;

pub fn id_number(first17: &str) -> String {
    yunting::domain::identity::resident_id_with_check(first17)
}

/// Poll `ok` every 100 ms until it holds or `timeout` passes; its last answer.
pub async fn wait_for(timeout: std::time::Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ok()
}

/// `ffprobe -show_streams -show_format -show_chapters` (and `-count_frames`) as JSON;
/// a file ffprobe cannot read fails the test.
pub fn ffprobe(path: &std::path::Path, count_frames: bool) -> Value {
    let mut args = vec!["-v", "error"];
    if count_frames {
        args.push("-count_frames");
    }
    args.extend([
        "-show_streams",
        "-show_format",
        "-show_chapters",
        "-of",
        "json",
    ]);
    let out = std::process::Command::new("ffprobe")
        .args(&args)
        .arg(path)
        .output()
        .expect("ffprobe is installed (scripts/install-packages.sh test)");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A number ffprobe prints as a string (or as a number).
pub fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64())
        .unwrap_or(f64::NAN)
}
