//! The `yunting` command: run the server, seed demo data, verify the audit chain.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use yunting::app::App;
use yunting::config::Config;

/// Counts allocations per thread so `/metrics` can show the media loops' allocations per
/// forwarded packet (`yunting::alloc_count`).
#[global_allocator]
static ALLOCATOR: yunting::alloc_count::CountingAllocator = yunting::alloc_count::CountingAllocator;

#[derive(Parser)]
#[command(
    name = "yunting",
    version,
    about = "云庭 Yunting — remote hearings for labour-dispute arbitration commissions"
)]
struct Cli {
    /// TOML configuration file (default: ./yunting.toml if present).
    #[arg(long, global = true, env = "YUNTING_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides data_dir.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Overrides database_url (sqlite://… or postgres://…).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Overrides public_url (the base of links sent to parties).
    #[arg(long, global = true)]
    public_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTPS on 0.0.0.0:8443 and HTTP on 127.0.0.1:8080 by default).
    Serve {
        /// Development mode: OTP messages are printed and readable at GET /dev/outbox.
        #[arg(long)]
        dev: bool,
    },
    /// Seed a demo commission, staff, a case with counterclaim, a hearing and invitation
    /// links; prints them as JSON (also kept in <data_dir>/demo.json).
    Demo {
        /// Do nothing if the database already holds a commission (print the saved demo.json).
        #[arg(long)]
        if_empty: bool,
    },
    /// The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Export every closed case not yet in `dir` as its main and secondary bundles
    /// (`<dir>/<id>-<number>/{main,secondary}.zip`, `index.json`); safe to run repeatedly.
    Archive {
        /// The archive directory.
        dir: PathBuf,
    },
    /// Check a case-file bundle, a sealed recording directory or a signed PDF offline:
    /// seal signatures, every file's hash, PDF signatures, hash chains. Names what is
    /// missing or altered; exit 1 on any failure.
    Verify {
        /// A case-file bundle (`.zip`), a recording directory
        /// (`recordings/<case>/<hearing>`) or a signed PDF.
        path: PathBuf,
        /// The commission CA certificate (PEM or DER) that signer and seal certificates
        /// must chain to (PDFs); without it only integrity and signatures are checked.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every entry's hash and link; exit 1 and name the entry if any was altered.
    Verify,
}

fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        let default_db = config
            .database_url
            .starts_with(&format!("sqlite://{}", config.data_dir.display()));
        config.data_dir = d.clone();
        config.tls_cert = d.join("tls").join("cert.pem");
        config.tls_key = d.join("tls").join("key.pem");
        if default_db {
            config.database_url = format!("sqlite://{}?mode=rwc", d.join("yunting.db").display());
        }
    }
    if let Some(u) = &cli.database_url {
        config.database_url = u.clone();
    }
    if let Some(u) = &cli.public_url {
        config.public_url = u.trim_end_matches('/').to_string();
    }
    Ok(config)
}

/// `yunting verify bundle.zip`: the case-file bundle, offline; exit 1 on any failure.
fn verify_bundle_file(path: &std::path::Path, ca: Option<&std::path::Path>) -> Result<()> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let report = yunting::records::verify::verify_bundle(
        std::io::BufReader::new(f),
        &yunting::records::verify::VerifyOptions {
            trusted_ca_der: read_ca(ca)?,
        },
    );
    print!("{}", report.render_text());
    if report.ok {
        Ok(())
    } else {
        std::process::exit(1);
    }
}

fn is_zip(path: &std::path::Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"PK\x03\x04"
}

/// The trust anchor given with `--ca` (PEM or DER).
fn read_ca(ca: Option<&std::path::Path>) -> Result<Option<Vec<u8>>> {
    Ok(match ca {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let der = match std::str::from_utf8(&bytes) {
                Ok(text) if text.contains("BEGIN CERTIFICATE") => {
                    yunting::store::signing::pem_to_der(text)
                        .with_context(|| format!("{} is not a PEM certificate", p.display()))?
                }
                _ => bytes,
            };
            Some(der)
        }
        None => None,
    })
}

/// `yunting verify file.pdf`: every signature of a signed document, offline.
fn verify_pdf_file(path: &std::path::Path, ca: Option<&std::path::Path>) -> Result<()> {
    let pdf = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let anchor = read_ca(ca)?;
    let report = yunting::esign::pdf_verify::verify_pdf(&pdf, anchor.as_deref());
    print!("{}", report.render_text());
    if anchor.is_none() {
        println!(
            "注意：未提供 --ca，证书链未核验 / note: no --ca given, certificate chains not checked"
        );
    }
    if report.ok {
        Ok(())
    } else {
        std::process::exit(1);
    }
}

/// Tunes glibc's malloc before any thread starts, for a long-running server's resident
/// memory (docs/performance.md):
/// - at most one arena per core plus one: by default every thread that allocates may get
///   its own (up to 8 per core), and memory freed in one arena is not reused by another;
/// - allocations of 1 MiB and more always come from `mmap`, so they go back to the system
///   when freed. Otherwise glibc raises that threshold after the first large free, and a
///   login's 19 MiB Argon2 buffer then stays resident in whichever arena served it.
fn tune_malloc() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = i32::try_from(cores + 1).unwrap_or(i32::MAX);
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> Result<()> {
    tune_malloc();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(run())
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,rtc=error,webrtc=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    match cli.command {
        Command::Serve { dev } => {
            let app = App::open(config, dev).await?;
            if !dev && app.notifier.channel() == "log" {
                tracing::warn!(
                    "OTP delivery is 'log': codes are only kept in the outbox table. Configure otp.delivery = webhook or smtp for real use."
                );
            }
            if !dev && (app.config.esign.ca_cert.is_none() || app.config.esign.ca_key.is_none()) {
                tracing::warn!(
                    "no [esign] ca_cert / ca_key configured: signer and seal certificates come from a development CA generated under {}/keys; configure the commission's CA for real use",
                    app.config.data_dir.display()
                );
            }
            yunting::server::run(app).await
        }
        Command::Demo { if_empty } => {
            let app = App::open(config, false).await?;
            let saved = app.config.data_dir.join("demo.json");
            if yunting::demo::has_data(&app).await? {
                if if_empty {
                    match std::fs::read_to_string(&saved) {
                        Ok(s) => println!("{s}"),
                        Err(_) => eprintln!("the database already holds data; demo not seeded"),
                    }
                    return Ok(());
                }
                anyhow::bail!(
                    "the database already holds a commission; use a fresh data dir (or --if-empty)"
                );
            }
            let out = yunting::demo::seed(&app).await?;
            let text = serde_json::to_string_pretty(&out)?;
            yunting::app::write_private(&saved, text.as_bytes())
                .with_context(|| format!("saving {}", saved.display()))?;
            println!("{text}");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let app = App::open(config, false).await?;
            let (n, problems) = yunting::audit::verify_database(&app.db).await?;
            if problems.is_empty() {
                println!("审计链完整 / audit chain intact: {n} entries verified");
                Ok(())
            } else {
                for p in &problems {
                    println!("FAIL {p}");
                }
                println!(
                    "审计链校验失败 / audit chain verification FAILED: {} problem(s) in {n} entries",
                    problems.len()
                );
                std::process::exit(1);
            }
        }
        Command::Verify { path, ca } if is_zip(&path) => verify_bundle_file(&path, ca.as_deref()),
        Command::Verify { path, ca } if path.is_file() => verify_pdf_file(&path, ca.as_deref()),
        Command::Verify { path, ca } => {
            let anchor = read_ca(ca.as_deref())?;
            let report = yunting::recording::verify::verify_dir(&path, anchor.as_deref());
            for c in &report.checked {
                println!("ok   {c}");
            }
            for p in &report.problems {
                println!("FAIL {p}");
            }
            if let Some(k) = &report.seal_public_key {
                println!(
                    "签章公钥指纹 / seal key fingerprint: {}",
                    yunting::records::manifest::key_fingerprint(k)
                );
            }
            if anchor.is_none() {
                println!(
                    "注意：未提供 --ca，未核对签章密钥是否属于仲裁委 / note: no --ca given, the sealing key was not checked against the commission CA"
                );
            }
            if report.problems.is_empty() {
                println!(
                    "录像完整，签章有效 / recording intact and sealed: {}",
                    path.display()
                );
                Ok(())
            } else {
                println!(
                    "录像校验失败 / recording verification FAILED: {} problem(s)",
                    report.problems.len()
                );
                std::process::exit(1);
            }
        }
        Command::Archive { dir } => {
            let app = App::open(config, false).await?;
            let r = yunting::records::archive::export_closed(&app, &dir).await?;
            for n in &r.exported {
                println!("归档 / exported: {n}");
            }
            for f in &r.failed {
                println!("失败 / FAILED: {f}");
            }
            println!(
                "{} 件已归档，{} 件此前已归档 / {} exported, {} already in the archive",
                r.exported.len(),
                r.skipped,
                r.exported.len(),
                r.skipped
            );
            if r.failed.is_empty() {
                Ok(())
            } else {
                std::process::exit(1);
            }
        }
        Command::Migrate => {
            App::open(config, false).await?;
            println!("migrations applied");
            Ok(())
        }
    }
}
