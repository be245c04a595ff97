//! Configuration: built-in defaults, then an optional TOML file, then `YUNTING_*`
//! environment variables (and `DATABASE_URL`), each overriding the one before. With no
//! configuration at all the server runs on embedded SQLite under `./data/`, which is what
//! a commission trying Yunting on one machine needs.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    /// Plain HTTP, meant for local use (`None` disables it).
    pub http_addr: Option<String>,
    /// HTTPS, the address phones use (`None` disables it).
    pub https_addr: Option<String>,
    /// Base of links sent to parties, e.g. `https://hearing.example.gov.cn`.
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub recordings_dir: PathBuf,
    /// Record hearings (default on; `YUNTING_RECORDING=off` only for benchmarks and tools).
    pub recording: bool,
    /// Warn the chair when the recordings filesystem has less free space than this (MB).
    pub recording_warn_free_mb: u64,
    /// Stop writing media below this much free space (MB), so the database and the seal
    /// keep room; writing resumes when space returns. `0`: write until the disk refuses.
    pub recording_stop_free_mb: u64,
    /// Also warn when fewer minutes than this are left at the current write rate.
    pub recording_warn_minutes: u64,
    /// The commission's time zone as an offset from UTC (China: +8).
    pub utc_offset_hours: i32,
    pub otp: OtpDelivery,
    /// The one UDP socket all media uses (`None` disables the media server).
    pub media_udp_addr: Option<String>,
    /// The ICE-TCP listener, for networks that block UDP (`None` disables it).
    pub media_tcp_addr: Option<String>,
    /// The address phones reach the media port at, for servers behind 1:1 NAT or bound
    /// to 0.0.0.0.
    pub public_ip: Option<String>,
    /// STUN/TURN servers passed to clients.
    pub ice_servers: Vec<IceServerConfig>,
    /// RTP packets per second one participant may send before the excess is dropped.
    pub media_max_pps: u32,
    /// Media event loops, one per core by default; hearings are spread across them.
    pub media_shards: usize,
    /// How long a seat is held after its network drops before it counts as *did not
    /// return* (seconds).
    pub reconnect_grace_secs: u64,
    /// Document templates, CJK font, certificate authority and timestamp authority.
    pub esign: EsignConfig,
    /// Closed cases: how long their records are kept.
    pub records: RecordsConfig,
}

/// Records of closed cases (档案). Retention is in years per closing method, counted from
/// 1 January after the closing; the defaults are the statutory floors (awards 10 years,
/// every other method 5) and a configuration may lengthen them but not shorten them.
/// `[records]` in the file: `retention_years_other` for every method but awards, then
/// `retention_years_<method>` for one; env `YUNTING_RETENTION_YEARS_AWARD`,
/// `…_OTHER`, `…_MEDIATION`, `…_WITHDRAWAL`, `…_DEEMED_WITHDRAWAL`, `…_REJECTION`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordsConfig {
    pub retention: crate::domain::closing::RetentionPolicy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRecords {
    retention_years_award: Option<u32>,
    retention_years_other: Option<u32>,
    retention_years_mediation: Option<u32>,
    retention_years_withdrawal: Option<u32>,
    retention_years_deemed_withdrawal: Option<u32>,
    retention_years_rejection: Option<u32>,
}

fn records_config(f: FileRecords, get: &dyn Fn(&str) -> Option<String>) -> Result<RecordsConfig> {
    use crate::domain::closing::RetentionPolicy;
    let years = |key: &str, file: Option<u32>| -> Result<Option<u32>> {
        match get(key) {
            Some(v) => {
                Ok(Some(v.trim().parse().with_context(|| {
                    format!("{key} must be a whole number of years")
                })?))
            }
            None => Ok(file),
        }
    };
    let d = RetentionPolicy::default();
    let other = years("YUNTING_RETENTION_YEARS_OTHER", f.retention_years_other)?;
    let per = |key: &str, file: Option<u32>, default: u32| -> Result<u32> {
        Ok(years(key, file)?.or(other).unwrap_or(default))
    };
    let retention = RetentionPolicy {
        award_years: years("YUNTING_RETENTION_YEARS_AWARD", f.retention_years_award)?
            .unwrap_or(d.award_years),
        mediation_years: per(
            "YUNTING_RETENTION_YEARS_MEDIATION",
            f.retention_years_mediation,
            d.mediation_years,
        )?,
        withdrawal_years: per(
            "YUNTING_RETENTION_YEARS_WITHDRAWAL",
            f.retention_years_withdrawal,
            d.withdrawal_years,
        )?,
        deemed_withdrawal_years: per(
            "YUNTING_RETENTION_YEARS_DEEMED_WITHDRAWAL",
            f.retention_years_deemed_withdrawal,
            d.deemed_withdrawal_years,
        )?,
        rejection_years: per(
            "YUNTING_RETENTION_YEARS_REJECTION",
            f.retention_years_rejection,
            d.rejection_years,
        )?,
    };
    if let Err(e) = retention.validate() {
        bail!("records: {e}");
    }
    Ok(RecordsConfig { retention })
}

/// E-signature settings. Everything has a working default: repo templates, Debian's
/// Noto Sans CJK, and a per-commission CA generated under `data_dir/keys` on first use.
#[derive(Debug, Clone, PartialEq)]
pub struct EsignConfig {
    /// A directory whose `<kind>.toml` files replace the built-in templates.
    pub templates_dir: Option<PathBuf>,
    pub font_path: PathBuf,
    /// A production CA certificate (PEM) and key (PKCS#8 PEM) instead of the dev CA.
    pub ca_cert: Option<PathBuf>,
    pub ca_key: Option<PathBuf>,
    /// An RFC 3161 timestamp authority (`http://…`) for the seal.
    pub tsa_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEsign {
    templates_dir: Option<PathBuf>,
    font_path: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    ca_key: Option<PathBuf>,
    tsa_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OtpDelivery {
    /// Printed (with `--dev`) and kept in the outbox table.
    Log,
    /// POSTed as JSON to an SMS gateway, signed with `X-Yunting-Signature`.
    Webhook { url: String, secret: Option<String> },
    /// Sent by e-mail, e.g. to an e-mail-to-SMS gateway.
    Smtp(SmtpConfig),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// Recipient address, `{phone}` is replaced, e.g. `{phone}@sms.example.cn`.
    pub to_template: String,
    /// `starttls` (default), `tls` or `none` (only for a relay on loopback).
    #[serde(default = "default_smtp_security")]
    pub security: String,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_security() -> String {
    "starttls".into()
}

/// The TOML file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http_addr: Option<String>,
    https_addr: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    recordings_dir: Option<PathBuf>,
    recording_warn_free_mb: Option<u64>,
    recording_stop_free_mb: Option<u64>,
    recording_warn_minutes: Option<u64>,
    utc_offset_hours: Option<i32>,
    otp: Option<FileOtp>,
    media_udp_addr: Option<String>,
    media_tcp_addr: Option<String>,
    public_ip: Option<String>,
    #[serde(default)]
    ice_servers: Vec<IceServerConfig>,
    media_max_pps: Option<u32>,
    media_shards: Option<usize>,
    reconnect_grace_secs: Option<u64>,
    esign: Option<FileEsign>,
    records: Option<FileRecords>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOtp {
    delivery: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    smtp: Option<SmtpConfig>,
}

impl Config {
    /// Load from `path` (if given, it must exist; otherwise `./yunting.toml` if present)
    /// and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let file = match path {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?,
            ),
            None if Path::new("yunting.toml").exists() => {
                Some(std::fs::read_to_string("yunting.toml")?)
            }
            None => None,
        };
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_parts(file.as_deref(), &env)
    }

    /// Pure merge of defaults, file text and environment pairs (testable without a process).
    pub fn from_parts(file: Option<&str>, env: &[(String, String)]) -> Result<Self> {
        let f: FileConfig = match file {
            Some(text) => toml::from_str(text).context("parsing the TOML configuration")?,
            None => FileConfig::default(),
        };
        let get = |k: &str| {
            env.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        };
        let addr = |v: Option<String>| v.filter(|s| !s.is_empty() && s != "off");

        let data_dir = get("YUNTING_DATA_DIR")
            .map(PathBuf::from)
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = get("YUNTING_DATABASE_URL")
            .or_else(|| get("DATABASE_URL"))
            .or(f.database_url)
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("yunting.db").display()
                )
            });
        let http_addr = match get("YUNTING_HTTP_ADDR") {
            Some(v) => addr(Some(v)),
            None => addr(f.http_addr.or(Some("127.0.0.1:8080".into()))),
        };
        let https_addr = match get("YUNTING_HTTPS_ADDR") {
            Some(v) => addr(Some(v)),
            None => addr(f.https_addr.or(Some("0.0.0.0:8443".into()))),
        };
        let public_url = get("YUNTING_PUBLIC_URL")
            .or(f.public_url)
            .unwrap_or_else(|| "https://localhost:8443".into())
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            bail!("public_url must start with https:// or http://, got {public_url:?}");
        }
        let tls_cert = get("YUNTING_TLS_CERT")
            .map(PathBuf::from)
            .or(f.tls_cert)
            .unwrap_or_else(|| data_dir.join("tls").join("cert.pem"));
        let tls_key = get("YUNTING_TLS_KEY")
            .map(PathBuf::from)
            .or(f.tls_key)
            .unwrap_or_else(|| data_dir.join("tls").join("key.pem"));
        let recordings_dir = get("YUNTING_RECORDINGS_DIR")
            .map(PathBuf::from)
            .or(f.recordings_dir)
            .unwrap_or_else(|| PathBuf::from("./recordings"));
        let number = |key: &str, file: Option<u64>, default: u64| -> Result<u64> {
            match get(key) {
                Some(v) => v
                    .parse()
                    .with_context(|| format!("{key} must be a whole number")),
                None => Ok(file.unwrap_or(default)),
            }
        };
        let recording_warn_free_mb = number(
            "YUNTING_RECORDING_WARN_FREE_MB",
            f.recording_warn_free_mb,
            2048,
        )?;
        let recording_stop_free_mb = number(
            "YUNTING_RECORDING_STOP_FREE_MB",
            f.recording_stop_free_mb,
            200,
        )?;
        let recording_warn_minutes = number(
            "YUNTING_RECORDING_WARN_MINUTES",
            f.recording_warn_minutes,
            30,
        )?;
        if recording_stop_free_mb > recording_warn_free_mb {
            bail!(
                "recording_stop_free_mb ({recording_stop_free_mb}) must not exceed recording_warn_free_mb ({recording_warn_free_mb})"
            );
        }
        let utc_offset_hours = match get("YUNTING_UTC_OFFSET_HOURS") {
            Some(v) => v
                .parse()
                .context("YUNTING_UTC_OFFSET_HOURS must be an integer")?,
            None => f.utc_offset_hours.unwrap_or(8),
        };
        if !(-12..=14).contains(&utc_offset_hours) {
            bail!("utc_offset_hours must be between -12 and 14");
        }

        let fo = f.otp.unwrap_or_default();
        let delivery = get("YUNTING_OTP_DELIVERY")
            .or(fo.delivery)
            .unwrap_or_else(|| "log".into());
        let otp = match delivery.as_str() {
            "log" => OtpDelivery::Log,
            "webhook" => OtpDelivery::Webhook {
                url: get("YUNTING_OTP_WEBHOOK_URL").or(fo.webhook_url).context(
                    "otp delivery 'webhook' needs YUNTING_OTP_WEBHOOK_URL (otp.webhook_url)",
                )?,
                secret: get("YUNTING_OTP_WEBHOOK_SECRET").or(fo.webhook_secret),
            },
            "smtp" => {
                let mut s = fo.smtp.unwrap_or(SmtpConfig {
                    host: String::new(),
                    port: default_smtp_port(),
                    username: None,
                    password: None,
                    from: String::new(),
                    to_template: String::new(),
                    security: default_smtp_security(),
                });
                if let Some(v) = get("YUNTING_SMTP_HOST") {
                    s.host = v;
                }
                if let Some(v) = get("YUNTING_SMTP_PORT") {
                    s.port = v
                        .parse()
                        .context("YUNTING_SMTP_PORT must be a port number")?;
                }
                if let Some(v) = get("YUNTING_SMTP_USERNAME") {
                    s.username = Some(v);
                }
                if let Some(v) = get("YUNTING_SMTP_PASSWORD") {
                    s.password = Some(v);
                }
                if let Some(v) = get("YUNTING_SMTP_FROM") {
                    s.from = v;
                }
                if let Some(v) = get("YUNTING_SMTP_TO_TEMPLATE") {
                    s.to_template = v;
                }
                if let Some(v) = get("YUNTING_SMTP_SECURITY") {
                    s.security = v;
                }
                if s.host.is_empty() || s.from.is_empty() || !s.to_template.contains("{phone}") {
                    bail!(
                        "otp delivery 'smtp' needs host, from and a to_template containing {{phone}}"
                    );
                }
                if !["starttls", "tls", "none"].contains(&s.security.as_str()) {
                    bail!("smtp security must be starttls, tls or none");
                }
                OtpDelivery::Smtp(s)
            }
            other => bail!("unknown otp delivery {other:?} (expected log, webhook or smtp)"),
        };

        let media_udp_addr = match get("YUNTING_MEDIA_UDP_ADDR") {
            Some(v) => addr(Some(v)),
            None => addr(f.media_udp_addr.or(Some("0.0.0.0:50000".into()))),
        };
        let public_ip = get("YUNTING_PUBLIC_IP")
            .or(f.public_ip)
            .filter(|s| !s.is_empty());
        if let Some(ip) = &public_ip {
            ip.parse::<std::net::IpAddr>()
                .with_context(|| format!("public_ip {ip:?} is not an IP address"))?;
        }

        let fe = f.esign.unwrap_or_default();
        let path_of =
            |k: &str, v: Option<PathBuf>| get(k).filter(|s| !s.is_empty()).map(PathBuf::from).or(v);
        let esign = EsignConfig {
            templates_dir: path_of("YUNTING_TEMPLATES_DIR", fe.templates_dir),
            font_path: path_of("YUNTING_CJK_FONT", fe.font_path).unwrap_or_else(|| {
                PathBuf::from("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
            }),
            ca_cert: path_of("YUNTING_CA_CERT", fe.ca_cert),
            ca_key: path_of("YUNTING_CA_KEY", fe.ca_key),
            tsa_url: get("YUNTING_TSA_URL")
                .or(fe.tsa_url)
                .filter(|s| !s.is_empty()),
        };
        if esign.ca_cert.is_some() != esign.ca_key.is_some() {
            bail!("a configured CA needs both YUNTING_CA_CERT and YUNTING_CA_KEY");
        }
        let records = records_config(f.records.unwrap_or_default(), &get)?;
        // One media event loop per core unless configured.
        let media_shards = match get("YUNTING_MEDIA_SHARDS") {
            Some(v) => v.parse::<usize>().ok(),
            None => f
                .media_shards
                .or_else(|| Some(std::thread::available_parallelism().map_or(1, |n| n.get()))),
        };
        let Some(media_shards) = media_shards.filter(|n| (1..=256).contains(n)) else {
            bail!("media_shards (YUNTING_MEDIA_SHARDS) must be a number from 1 to 256");
        };

        Ok(Config {
            esign,
            records,
            http_addr,
            https_addr,
            public_url,
            data_dir,
            database_url,
            tls_cert,
            tls_key,
            recordings_dir,
            recording: match get("YUNTING_RECORDING").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => anyhow::bail!("YUNTING_RECORDING must be on or off"),
            },
            recording_warn_free_mb,
            recording_stop_free_mb,
            recording_warn_minutes,
            utc_offset_hours,
            otp,
            media_tcp_addr: match get("YUNTING_MEDIA_TCP_ADDR") {
                Some(v) => addr(Some(v)),
                None => addr(f.media_tcp_addr.or(Some("0.0.0.0:50000".into()))),
            },
            media_udp_addr,
            public_ip,
            ice_servers: f.ice_servers,
            media_max_pps: match get("YUNTING_MEDIA_MAX_PPS") {
                Some(v) => v
                    .parse()
                    .context("YUNTING_MEDIA_MAX_PPS must be a number")?,
                // Three simulcast layers of 2.5 Mbps video plus audio stay far below this.
                None => f.media_max_pps.unwrap_or(2_000),
            },
            media_shards,
            reconnect_grace_secs: match get("YUNTING_RECONNECT_GRACE_SECS") {
                Some(v) => v
                    .parse()
                    .context("YUNTING_RECONNECT_GRACE_SECS must be a number")?,
                None => f.reconnect_grace_secs.unwrap_or(60),
            },
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn media_loops_default_to_the_cores_and_refuse_nonsense() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(Config::from_parts(None, &[]).unwrap().media_shards, cores);
        let three = env(&[("YUNTING_MEDIA_SHARDS", "3")]);
        assert_eq!(Config::from_parts(None, &three).unwrap().media_shards, 3);
        for bad in ["0", "257", "two", ""] {
            let e = env(&[("YUNTING_MEDIA_SHARDS", bad)]);
            assert!(Config::from_parts(None, &e).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn defaults_are_embedded_sqlite_and_both_listeners() {
        let c = Config::from_parts(None, &[]).unwrap();
        assert_eq!(c.http_addr.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(c.https_addr.as_deref(), Some("0.0.0.0:8443"));
        assert!(c.database_url.starts_with("sqlite://./data/yunting.db"));
        assert_eq!(c.tls_cert, PathBuf::from("./data/tls/cert.pem"));
        assert_eq!(c.otp, OtpDelivery::Log);
        assert_eq!(c.utc_offset_hours, 8);
    }

    #[test]
    fn env_overrides_file() {
        let file = "public_url = \"https://a.example/\"\nhttps_addr = \"0.0.0.0:9443\"\n[otp]\ndelivery = \"webhook\"\nwebhook_url = \"http://127.0.0.1:9/sms\"\n";
        let c = Config::from_parts(
            Some(file),
            &env(&[
                ("YUNTING_HTTPS_ADDR", "off"),
                ("DATABASE_URL", "postgres://u@localhost/db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.public_url, "https://a.example");
        assert_eq!(c.https_addr, None);
        assert_eq!(c.database_url, "postgres://u@localhost/db");
        assert_eq!(
            c.otp,
            OtpDelivery::Webhook {
                url: "http://127.0.0.1:9/sms".into(),
                secret: None
            }
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Config::from_parts(Some("htp_addr = \"x\""), &[]).is_err());
        assert!(Config::from_parts(None, &env(&[("YUNTING_OTP_DELIVERY", "pigeon")])).is_err());
        assert!(Config::from_parts(None, &env(&[("YUNTING_OTP_DELIVERY", "smtp")])).is_err());
        assert!(Config::from_parts(None, &env(&[("YUNTING_PUBLIC_URL", "ftp://x")])).is_err());
    }

    #[test]
    fn recording_space_thresholds() {
        let c = Config::from_parts(None, &[]).unwrap();
        assert_eq!(
            (
                c.recording_warn_free_mb,
                c.recording_stop_free_mb,
                c.recording_warn_minutes
            ),
            (2048, 200, 30)
        );
        let c = Config::from_parts(
            Some("recording_warn_free_mb = 5000\nrecording_warn_minutes = 10\n"),
            &env(&[("YUNTING_RECORDING_STOP_FREE_MB", "0")]),
        )
        .unwrap();
        assert_eq!(
            (
                c.recording_warn_free_mb,
                c.recording_stop_free_mb,
                c.recording_warn_minutes
            ),
            (5000, 0, 10)
        );
        assert!(
            Config::from_parts(None, &env(&[("YUNTING_RECORDING_STOP_FREE_MB", "lots")])).is_err()
        );
        assert!(
            Config::from_parts(None, &env(&[("YUNTING_RECORDING_STOP_FREE_MB", "4096")])).is_err(),
            "the floor above the warning threshold"
        );
    }

    #[test]
    fn retention_defaults_overrides_and_floors() {
        use crate::domain::closing::RetentionPolicy;
        let c = Config::from_parts(None, &[]).unwrap();
        assert_eq!(c.records.retention, RetentionPolicy::default());
        assert_eq!(
            (
                c.records.retention.award_years,
                c.records.retention.mediation_years
            ),
            (10, 5)
        );
        let file = "[records]\nretention_years_other = 8\nretention_years_rejection = 6\n";
        let c = Config::from_parts(Some(file), &env(&[("YUNTING_RETENTION_YEARS_AWARD", "30")]))
            .unwrap();
        let r = c.records.retention;
        assert_eq!(
            (
                r.award_years,
                r.mediation_years,
                r.withdrawal_years,
                r.deemed_withdrawal_years,
                r.rejection_years
            ),
            (30, 8, 8, 8, 6)
        );
        // Shorter than the law allows, not a number, or an unknown key: refused.
        assert!(Config::from_parts(None, &env(&[("YUNTING_RETENTION_YEARS_AWARD", "9")])).is_err());
        assert!(Config::from_parts(Some("[records]\nretention_years_other = 4\n"), &[]).is_err());
        assert!(
            Config::from_parts(None, &env(&[("YUNTING_RETENTION_YEARS_OTHER", "ten")])).is_err()
        );
        assert!(Config::from_parts(Some("[records]\nkeep = 1\n"), &[]).is_err());
    }
}
