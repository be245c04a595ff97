//! `yunting audit verify` against a real database: intact after real API traffic, and
//! tampering with one stored entry (editing or deleting it) is detected and named.

use crate::common::{Backend, TestServer};
use std::process::Command;

fn verify(srv: &TestServer) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_yunting"))
        .args([
            "--data-dir",
            srv.dir.path().to_str().unwrap(),
            "--database-url",
            &srv.db_url,
            "audit",
            "verify",
        ])
        .env_remove("YUNTING_CONFIG")
        .output()
        .expect("run yunting audit verify");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn tampering_is_detected(b: Backend) {
    let Some(srv) = TestServer::start(b).await else {
        return;
    };
    let demo = srv.demo().await;
    let clerk = srv.staff(&demo, "clerk").await;
    for _ in 0..3 {
        clerk.get("/api/cases/1").await;
    }
    let (ok, out) = verify(&srv);
    assert!(ok, "fresh chain must verify: {out}");
    assert!(out.contains("intact"), "{out}");

    // The database refuses edits outright...
    let refused = sqlx::query("UPDATE audit_log SET detail = '\"x\"' WHERE seq = 5")
        .execute(&srv.app.db.pool)
        .await;
    assert!(refused.is_err(), "audit_log must be append-only");

    // ...so an attacker with database access drops the guard first. The chain still tells.
    let drop_guard = match b {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::query(drop_guard)
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET detail = '{\"forged\":true}' WHERE seq = 5")
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    let (ok, out) = verify(&srv);
    assert!(!ok, "edited entry must fail verification: {out}");
    assert!(out.contains("entry #5: contents altered"), "{out}");

    // Deleting an entry is named as a gap.
    if b == Backend::Sqlite {
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(&srv.app.db.pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 8")
        .execute(&srv.app.db.pool)
        .await
        .unwrap();
    let (ok, out) = verify(&srv);
    assert!(!ok);
    assert!(out.contains("missing between #7 and #9"), "{out}");
}

#[tokio::test]
async fn tampering_is_detected_sqlite() {
    tampering_is_detected(Backend::Sqlite).await
}

#[tokio::test]
async fn tampering_is_detected_postgres() {
    tampering_is_detected(Backend::Postgres).await
}
