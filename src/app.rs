//! The running server's shared state, opened once from the configuration.

use crate::config::Config;
use crate::crypto::ServerKey;
use crate::db::Db;
use crate::notify::Notifier;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct App(pub Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub key: ServerKey,
    pub notifier: Notifier,
    /// `--dev`: the dev outbox is readable over HTTP and OTP messages are printed.
    pub dev: bool,
    /// The media server, once started (`serve` and tests start it; CLI tools do not).
    pub sfu: std::sync::OnceLock<crate::sfu::Sfu>,
    /// The live hearing rooms (procedure state).
    pub rooms: crate::hearing::registry::Rooms,
    /// Sealed recordings waiting for post-processing.
    pub jobs: crate::recording::jobs::Queue,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    pub async fn open(config: Config, dev: bool) -> Result<App> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        let secret = load_or_create_secret(&config.data_dir.join("server.key"))?;
        let db = Db::connect(&config.database_url).await?;
        let notifier = Notifier::new(config.otp.clone(), dev);
        Ok(App(Arc::new(AppInner {
            key: ServerKey::new(&secret),
            config,
            db,
            notifier,
            dev,
            sfu: std::sync::OnceLock::new(),
            rooms: Default::default(),
            jobs: Default::default(),
        })))
    }
}

impl App {
    /// Start the media server on the configured UDP address (if any).
    pub async fn start_media(&self) -> Result<()> {
        let Some(bind) = self.config.media_udp_addr.clone() else {
            return Ok(());
        };
        let ice_servers = self
            .config
            .ice_servers
            .iter()
            .map(|s| crate::media::signaling::IceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        // Recordings left open by a crash are sealed before new media arrives.
        match crate::recording::seal::recover(self).await {
            Ok(h) if !h.is_empty() => {
                tracing::warn!(hearings = ?h, "sealed interrupted recordings")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "recovering interrupted recordings"),
        }
        let sfu = crate::sfu::Sfu::start(crate::sfu::SfuConfig {
            bind,
            tcp_bind: self.config.media_tcp_addr.clone(),
            public_ip: self.config.public_ip.clone(),
            ice_servers,
            reconnect_grace: std::time::Duration::from_secs(self.config.reconnect_grace_secs),
            max_packets_per_second: self.config.media_max_pps,
            recordings: self
                .config
                .recording
                .then(|| self.config.recordings_dir.clone()),
            shards: self.config.media_shards,
        })
        .await?;
        if self.sfu.set(sfu).is_ok() {
            crate::hearing::registry::spawn_ticker(self.clone());
            crate::recording::jobs::start_worker(self.clone());
            crate::recording::jobs::resume(self);
        }
        Ok(())
    }
}

/// Write a file only the server's user can read; never overwrite.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// The server's HMAC secret: 32 random bytes made at first start and kept in the data dir.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>> {
    if path.exists() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        anyhow::ensure!(
            bytes.len() >= 32,
            "{} is too short to be a server key",
            path.display()
        );
        return Ok(bytes);
    }
    let bytes = crate::crypto::random_bytes::<32>().to_vec();
    write_private(path, &bytes)?;
    Ok(bytes)
}
