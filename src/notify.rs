//! Delivery of one-time codes and links to people without accounts. Which channel is a
//! deployment decision (an SMS gateway behind a webhook, an e-mail relay, or, while
//! trying Yunting out, the dev outbox), so the rest of the server only ever calls
//! [`Notifier::send`].

use crate::config::{OtpDelivery, SmtpConfig};
use crate::db::Db;
use crate::time::now_ms;
use anyhow::{Context, Result, bail};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// Mainland mobile number.
    pub to: String,
    /// What the message is for, e.g. `otp`.
    pub purpose: String,
    pub body: String,
}

#[derive(Clone)]
pub struct Notifier {
    delivery: OtpDelivery,
    /// Print log-delivered messages on stdout (only with `--dev`).
    print: bool,
    http: reqwest::Client,
    key: Option<crate::crypto::ServerKey>,
}

impl Notifier {
    pub fn new(delivery: OtpDelivery, print: bool) -> Self {
        let key = match &delivery {
            OtpDelivery::Webhook {
                secret: Some(s), ..
            } => Some(crate::crypto::ServerKey::new(s.as_bytes())),
            _ => None,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("http client");
        Self {
            delivery,
            print,
            http,
            key,
        }
    }

    pub fn channel(&self) -> &'static str {
        match self.delivery {
            OtpDelivery::Log => "log",
            OtpDelivery::Webhook { .. } => "webhook",
            OtpDelivery::Smtp(_) => "smtp",
        }
    }

    pub async fn send(&self, db: &Db, msg: &Message) -> Result<()> {
        match &self.delivery {
            OtpDelivery::Log => {
                sqlx::query("INSERT INTO outbox (channel, recipient, body, created_at) VALUES ('log', $1, $2, $3)").bind(&msg.to).bind(&msg.body).bind(now_ms()).execute(&db.pool).await?;
                if self.print {
                    // Dev mode only: the newcomer reads the code here or at /dev/outbox.
                    println!("[dev outbox] to {}: {}", msg.to, msg.body);
                }
                Ok(())
            }
            OtpDelivery::Webhook { url, .. } => {
                let body = serde_json::to_vec(msg)?;
                let mut req = self
                    .http
                    .post(url)
                    .header("content-type", "application/json");
                if let Some(k) = &self.key {
                    req = req.header(
                        "x-yunting-signature",
                        format!("sha256={}", k.sign_hex(&body)),
                    );
                }
                let resp = req
                    .body(body)
                    .send()
                    .await
                    .context("webhook request failed")?;
                if !resp.status().is_success() {
                    bail!("webhook answered {}", resp.status());
                }
                Ok(())
            }
            OtpDelivery::Smtp(cfg) => send_smtp(cfg, msg).await,
        }
    }
}

async fn send_smtp(cfg: &SmtpConfig, msg: &Message) -> Result<()> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Mail, Tokio1Executor};

    let to = cfg.to_template.replace("{phone}", &msg.to);
    let mail = Mail::builder()
        .from(cfg.from.parse().context("smtp from address")?)
        .to(to.parse().context("smtp recipient address")?)
        .subject("云庭 Yunting")
        .header(ContentType::TEXT_PLAIN)
        .body(msg.body.clone())?;
    let mut builder = match cfg.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)?,
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?,
    }
    .port(cfg.port)
    .timeout(Some(std::time::Duration::from_secs(15)));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    builder
        .build()
        .send(mail)
        .await
        .context("smtp delivery failed")?;
    Ok(())
}
