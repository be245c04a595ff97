//! HTTPS is on by default because phones refuse camera access on plain HTTP pages. With no
//! certificate configured the server makes a self-signed one at first start (for
//! localhost, the public URL's host and this machine's addresses) and keeps it in the
//! data dir, so the fingerprint parties accept stays the same across restarts.

use crate::config::Config;
use anyhow::{Context, Result};

pub fn ensure_certificate(config: &Config) -> Result<()> {
    if config.tls_cert.exists() && config.tls_key.exists() {
        return Ok(());
    }
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(host) = host_of(&config.public_url)
        && !names.contains(&host)
    {
        names.push(host);
    }
    let mut params = rcgen::CertificateParams::new(names).context("certificate names")?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Yunting hearing server (self-signed)",
    );
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let key = rcgen::KeyPair::generate().context("generating TLS key")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing certificate")?;
    crate::app::write_private(&config.tls_key, key.serialize_pem().as_bytes())?;
    std::fs::write(&config.tls_cert, cert.pem())
        .with_context(|| format!("writing {}", config.tls_cert.display()))?;
    tracing::info!(cert = %config.tls_cert.display(), "generated a self-signed TLS certificate");
    Ok(())
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_extraction() {
        assert_eq!(
            super::host_of("https://hearing.example.cn:8443/x").as_deref(),
            Some("hearing.example.cn")
        );
        assert_eq!(super::host_of("https://[::1]:8443").as_deref(), Some("::1"));
        assert_eq!(
            super::host_of("https://192.168.1.5").as_deref(),
            Some("192.168.1.5")
        );
    }
}
