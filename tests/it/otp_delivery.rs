//! The pluggable OTP deliveries against real receivers on loopback: an HTTP webhook (as an
//! SMS gateway would expose) and an SMTP server; the code each receives completes the
//! identity check.

use crate::common::{Backend, TestServer, invitation_token};
use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn six_digits(text: &str) -> String {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i + 6 == bytes.len() || !bytes[i + 6].is_ascii_digit())
                && (i == 0 || !bytes[i - 1].is_ascii_digit())
        })
        .map(|i| text[i..i + 6].to_string())
        .expect("a 6-digit code")
}

async fn finish_identity(srv: &TestServer, demo: &Value, code: &str) {
    let inv = &demo["invitations"][0];
    let (s, b) = srv
        .client()
        .post(
            &format!("/api/j/{}/verify", invitation_token(inv)),
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn webhook_delivery_is_signed_and_works() {
    let (tx, mut rx) = mpsc::channel::<(HeaderMap, Bytes)>(4);
    let receiver = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", receiver.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                tx.send((headers, body)).await.unwrap();
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(receiver, app).await.unwrap() });

    let srv = TestServer::start_with(
        Backend::Sqlite,
        &[
            ("YUNTING_OTP_DELIVERY", "webhook"),
            ("YUNTING_OTP_WEBHOOK_URL", &url),
            ("YUNTING_OTP_WEBHOOK_SECRET", "gateway-secret"),
        ],
    )
    .await
    .unwrap();
    let demo = srv.demo().await;
    let inv = &demo["invitations"][0];
    let (s, b) = srv
        .client()
        .post(
            &format!("/api/j/{}/identity", invitation_token(inv)),
            json!({"name": inv["name"], "id_last6": inv["id_last6"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (headers, body) = rx.recv().await.unwrap();
    let msg: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(msg["to"], "13800000001");
    assert_eq!(msg["purpose"], "otp");
    let expected = format!(
        "sha256={}",
        yunting::crypto::ServerKey::new(b"gateway-secret").sign_hex(&body)
    );
    assert_eq!(headers["x-yunting-signature"], expected.as_str());
    // Nothing went to the dev outbox.
    assert_eq!(srv.client().get("/dev/outbox").await.1["items"], json!([]));
    finish_identity(&srv, &demo, &six_digits(msg["body"].as_str().unwrap())).await;
}

#[tokio::test]
async fn failed_webhook_is_a_clear_error() {
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", dead.local_addr().unwrap());
    drop(dead);
    let srv = TestServer::start_with(
        Backend::Sqlite,
        &[
            ("YUNTING_OTP_DELIVERY", "webhook"),
            ("YUNTING_OTP_WEBHOOK_URL", &url),
        ],
    )
    .await
    .unwrap();
    let demo = srv.demo().await;
    let inv = &demo["invitations"][0];
    let r = srv
        .client()
        .post(
            &format!("/api/j/{}/identity", invitation_token(inv)),
            json!({"name": inv["name"], "id_last6": inv["id_last6"]}),
        )
        .await;
    crate::common::assert_error(&r, StatusCode::BAD_GATEWAY, "delivery_failed");
}

/// A minimal SMTP server: enough of RFC 5321 for one message.
async fn smtp_server(listener: TcpListener, tx: mpsc::Sender<(String, String)>) {
    let (sock, _) = listener.accept().await.unwrap();
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 test ESMTP\r\n").await.unwrap();
    let (mut rcpt, mut data) = (String::new(), String::new());
    while let Some(line) = lines.next_line().await.unwrap() {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250 test\r\n").await.unwrap();
        } else if upper.starts_with("MAIL FROM") {
            w.write_all(b"250 OK\r\n").await.unwrap();
        } else if upper.starts_with("RCPT TO") {
            rcpt = line.clone();
            w.write_all(b"250 OK\r\n").await.unwrap();
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await.unwrap();
            while let Some(l) = lines.next_line().await.unwrap() {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            w.write_all(b"250 queued\r\n").await.unwrap();
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await.unwrap();
            break;
        } else {
            w.write_all(b"250 OK\r\n").await.unwrap();
        }
    }
    tx.send((rcpt, data)).await.unwrap();
}

#[tokio::test]
async fn smtp_delivery_works() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (tx, mut rx) = mpsc::channel(1);
    tokio::spawn(smtp_server(listener, tx));
    let srv = TestServer::start_with(
        Backend::Sqlite,
        &[
            ("YUNTING_OTP_DELIVERY", "smtp"),
            ("YUNTING_SMTP_HOST", "127.0.0.1"),
            ("YUNTING_SMTP_PORT", &port),
            ("YUNTING_SMTP_FROM", "noreply@yunting.test"),
            ("YUNTING_SMTP_TO_TEMPLATE", "{phone}@sms.yunting.test"),
            ("YUNTING_SMTP_SECURITY", "none"),
        ],
    )
    .await
    .unwrap();
    let demo = srv.demo().await;
    let inv = &demo["invitations"][0];
    let (s, b) = srv
        .client()
        .post(
            &format!("/api/j/{}/identity", invitation_token(inv)),
            json!({"name": inv["name"], "id_last6": inv["id_last6"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (rcpt, data) = rx.recv().await.unwrap();
    assert!(rcpt.contains("13800000001@sms.yunting.test"), "{rcpt}");
    // The body is base64 or quoted-printable (it is UTF-8 Chinese); find the code either way.
    let body = data.split("\n\n").skip(1).collect::<Vec<_>>().join("\n");
    let text = if data
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .unwrap(),
        )
        .unwrap()
    } else {
        body
    };
    finish_identity(&srv, &demo, &six_digits(&text)).await;
}
