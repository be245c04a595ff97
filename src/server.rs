//! Listening: plain HTTP on loopback for local use, HTTPS for everyone else (phones need
//! it for the camera). Both stop gracefully on SIGTERM or Ctrl-C: in-flight requests
//! finish, new connections are refused.

use crate::app::App;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Serve plain HTTP on an already-bound listener until `stop` resolves.
pub async fn serve_http(
    app: App,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let router = crate::http::router(app, false);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .context("HTTP server")
}

pub async fn run(app: App) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    app.start_media().await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();

    if let Some(addr) = app.config.http_addr.clone() {
        let listener = TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding HTTP {addr}"))?;
        tracing::info!("HTTP  on http://{}", listener.local_addr()?);
        let mut rx = stop_rx.clone();
        let app = app.clone();
        tasks.spawn(async move {
            serve_http(app, listener, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
        });
    }
    if let Some(addr) = app.config.https_addr.clone() {
        crate::tls::ensure_certificate(&app.config)?;
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
            &app.config.tls_cert,
            &app.config.tls_key,
        )
        .await
        .context("loading TLS certificate and key")?;
        let sock: SocketAddr = addr
            .parse()
            .with_context(|| format!("HTTPS address {addr}"))?;
        let handle = axum_server::Handle::new();
        let router = crate::http::router(app.clone(), true);
        let server = axum_server::bind_rustls(sock, tls).handle(handle.clone());
        tracing::info!(
            "HTTPS on https://{sock} (links use {})",
            app.config.public_url
        );
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            let _ = rx.wait_for(|s| *s).await;
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        tasks.spawn(async move {
            server
                .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .context("HTTPS server")
        });
    }
    anyhow::ensure!(
        !tasks.is_empty(),
        "both listeners are disabled; set http_addr or https_addr"
    );

    // Stop on a signal, or as soon as a listener fails (a port already taken, say).
    let early = tokio::select! {
        _ = shutdown_signal() => None,
        Some(done) = tasks.join_next() => Some(done),
    };
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(done) = early {
        done.context("server task")??;
    }
    while let Some(done) = tasks.join_next().await {
        done.context("server task")??;
    }
    app.db.pool.close().await;
    tracing::info!("stopped");
    Ok(())
}
