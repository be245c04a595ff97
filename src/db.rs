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
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
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
        let mut conn = self.pool.acquire().await?;
        // SQLite: take the write lock at once (a deferred transaction that reads first
        // can fail to upgrade later).
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        sqlx::query(begin).execute(&mut *conn).await?;
        let mut tx = WriteTx {
            conn: Some(conn),
            seq: 0,
            head: String::new(),
            committed: false,
        };
        let (seq, hash): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(tx.conn())
                .await?;
        tx.seq = seq;
        tx.head = hash;
        Ok(tx)
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
///
/// The transaction is driven with plain `BEGIN`/`COMMIT`/`ROLLBACK` on a pooled
/// connection rather than sqlx's transaction manager: when a statement fails with
/// SQLITE_FULL (a full disk) SQLite may roll the whole transaction back by itself, and
/// sqlx's bookkeeping then no longer matched the connection's real state: the next user
/// of that connection ran outside any transaction or inside a stale one, and an audit
/// head was once committed without the entries it counted. Here a transaction that does
/// not commit is rolled back, and a connection whose rollback fails is closed, never
/// reused.
pub struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    seq: i64,
    head: String,
    committed: bool,
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    // An error here means the transaction was already gone (rolled back by
                    // the database after a failure) or the connection is broken: either
                    // way its state is not worth trusting.
                    if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
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
            .execute(
                self.conn
                    .as_deref_mut()
                    .expect("the connection is only taken when the transaction ends"),
            )
            .await?;
        self.seq = seq;
        self.head = hash;
        Ok(seq)
    }

    /// The connection inside the transaction, for reads and writes alike.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn
            .as_mut()
            .expect("the connection is only taken when the transaction ends")
    }

    pub async fn commit(mut self) -> AppResult<()> {
        let (seq, head) = (self.seq, std::mem::take(&mut self.head));
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(head)
            .execute(self.conn())
            .await?;
        sqlx::query("COMMIT").execute(self.conn()).await?;
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        self.conn
            .as_ref()
            .expect("the connection is only taken when the transaction ends")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn()
    }
}
