//! The database handle. One `AnyPool` serves SQLite (embedded default) and PostgreSQL
//! (larger installations) with the same query text: `$1` placeholders, `RETURNING`,
//! BIGINT everywhere. Each backend keeps its own migration set because their id and
//! trigger syntax differ; the schemas are otherwise identical.
//!
//! Every write goes through [`WriteTx`], which first takes the audit chain's head row.
//! That one update is the writers' lock: it serialises writers on both backends (SQLite
//! takes its write lock at once instead of failing to upgrade a read lock later, and
//! PostgreSQL row-locks the head), so the audit chain can never fork.

use crate::audit::{self, AuditEntry};
use crate::error::AppResult;
use anyhow::{Context, Result};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connect and bring the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://)");
        };
        if backend == Backend::Sqlite {
            ensure_sqlite_parent_dir(url)?;
        }
        let mut opts = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;").execute(conn).await?;
                    Ok(())
                })
            });
        }
        let pool = opts
            .connect(url)
            .await
            .with_context(|| format!("connecting to the {} database", backend.name()))?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        }
        .context("applying database migrations")
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Begin a write transaction holding the audit chain's head.
    pub async fn write(&self) -> AppResult<WriteTx> {
        let mut tx = self.pool.begin().await?;
        let (seq, hash): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *tx)
                .await?;
        Ok(WriteTx {
            tx,
            seq,
            head: hash,
        })
    }
}

fn ensure_sqlite_parent_dir(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// A write transaction that appends to the audit chain as it goes. Dropping it without
/// [`WriteTx::commit`] rolls back the changes and the audit entries together.
pub struct WriteTx {
    pub tx: Transaction<'static, Any>,
    seq: i64,
    head: String,
}

impl WriteTx {
    /// Append one audit entry (in this transaction).
    pub async fn audit(&mut self, entry: AuditEntry) -> AppResult<i64> {
        let seq = self.seq + 1;
        let at = crate::time::now_ms();
        let detail = entry.detail.to_string();
        let hash = audit::entry_hash(
            seq,
            at,
            entry.commission_id,
            entry.case_id,
            &entry.actor,
            &entry.action,
            &entry.target,
            &detail,
            entry.ip.as_deref(),
            &self.head,
        );
        sqlx::query("INSERT INTO audit_log (seq, at, commission_id, case_id, actor, action, target, detail, ip, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)")
            .bind(seq)
            .bind(at)
            .bind(entry.commission_id)
            .bind(entry.case_id)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&detail)
            .bind(entry.ip.as_deref())
            .bind(&self.head)
            .bind(&hash)
            .execute(&mut *self.tx)
            .await?;
        self.seq = seq;
        self.head = hash;
        Ok(seq)
    }

    /// The connection inside the transaction, for reads and writes alike.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub async fn commit(mut self) -> AppResult<()> {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(self.seq)
            .bind(&self.head)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}
