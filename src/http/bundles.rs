//! `/api/cases/{id}/bundle`: the case file (正卷 or 副卷) as a signed ZIP.
//!
//! Building reads the database in one transaction (the access check, the plan and the
//! audit entry), then copies files without holding it, so other users are not held up by
//! a large bundle. A plain GET builds and streams; the console instead starts a job,
//! polls its progress and then downloads the finished file, which is kept for a day
//! under its manifest hash: `?bundle=<id>` (or `If-Range` with its ETag) serves that same
//! file again, with byte ranges, so an interrupted download resumes where it stopped.
//!
//! Main file: anyone who may read the case (parties: their own case, without
//! recordings). Secondary file: those who may read the case's audit trail (clerks and
//! the administrator). Every build, download and range is on the audit log.

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth, Meta};
use super::recordings::{ByteRange, parse_range, percent_encode, stream_span};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{Permission, Principal};
use crate::error::{AppError, AppResult};
use crate::records::bundle::{self, Built};
use crate::records::collect::{self, Plan};
use crate::records::jobs::{self, JobState};
use crate::records::manifest::Part;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleParams {
    part: Option<String>,
    video: Option<bool>,
    bundle: Option<String>,
}

fn part_of(p: Option<&str>) -> AppResult<Part> {
    match p {
        None | Some("") => Ok(Part::Main),
        Some(s) => Part::parse(s).ok_or_else(|| {
            AppError::invalid(
                "invalid_field",
                "part 应为 main（正卷）或 secondary（副卷）/ part must be main or secondary",
            )
        }),
    }
}

fn bundles_dir(app: &App) -> PathBuf {
    app.config.data_dir.join("bundles")
}

/// Who may have which part: main needs Read, secondary the audit permission.
fn need(part: Part) -> Permission {
    match part {
        Part::Main => Permission::Read,
        Part::Secondary => Permission::Audit,
    }
}

/// Access check, plan and audit entry in one transaction.
async fn plan_for(
    app: &App,
    who: &Principal,
    case_id: i64,
    part: Part,
    video: bool,
    ip: Option<String>,
) -> AppResult<Plan> {
    let mut tx = app.db.write().await?;
    let (case, _) = super::cases::authorize(&mut tx, who, case_id, need(part)).await?;
    if matches!(who, Principal::Party(_)) && part == Part::Secondary {
        return Err(AppError::forbidden());
    }
    let plan = collect::plan(app, tx.conn(), who, &case, part, video).await?;
    tx.audit(
        AuditEntry::new(who, "case.bundle_requested", format!("case:{case_id}"))
            .case(case_id)
            .detail(json!({"part": part.as_str(), "video": plan.video, "files": plan.files.len()}))
            .ip(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(plan)
}

async fn build(app: &App, plan: Plan, progress: Arc<bundle::Progress>) -> AppResult<Built> {
    let dir = bundles_dir(app);
    tokio::task::spawn_blocking(move || {
        bundle::sweep(&dir);
        bundle::write(plan, &dir, &progress)
    })
    .await
    .map_err(|_| AppError::internal("bundle task"))?
    .map_err(|e| {
        tracing::error!(error = %e, "building a case bundle");
        AppError::internal("building the bundle")
    })
}

async fn record_built(app: &App, who: &Principal, built: &Built) -> AppResult<()> {
    let mut tx = app.db.write().await?;
    tx.audit(
        AuditEntry::new(
            who,
            "case.bundle_built",
            format!("case:{}", built.manifest.case.id),
        )
        .case(built.manifest.case.id)
        .detail(
            json!({"bundle": built.id, "part": built.manifest.part.as_str(),
                           "video": built.manifest.video, "files": built.manifest.files.len(),
                           "size": built.size}),
        ),
    )
    .await?;
    tx.commit().await
}

fn valid_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// `GET /api/cases/{id}/bundle?part=main|secondary&video=true|false[&bundle=<id>]`
pub async fn get(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(case_id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<BundleParams>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let part = part_of(p.part.as_deref())?;
    // A kept bundle, named explicitly or by the ETag a resuming client sends.
    let if_range = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        });
    let kept = p.bundle.clone().or(if_range);
    if let Some(id) = kept {
        if !valid_id(&id) {
            return Err(AppError::invalid(
                "invalid_field",
                "bundle 标识无效 / invalid bundle id",
            ));
        }
        // Only a bundle made for the same audience: a party never reaches a staff
        // bundle (with recordings), whatever id it holds.
        let for_party = matches!(who, Principal::Party(_));
        let path = bundles_dir(&app).join(bundle::file_name(case_id, part, for_party, &id));
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return serve(&app, &who, case_id, part, &id, &path, &headers, meta.ip).await;
        }
        if p.bundle.is_some() {
            return Err(AppError::new(
                StatusCode::GONE,
                "bundle_expired",
                "该卷宗文件已过期，请重新生成 / this bundle has expired; make a new one",
            ));
        }
    }
    let plan = plan_for(
        &app,
        &who,
        case_id,
        part,
        p.video.unwrap_or(true),
        meta.ip.clone(),
    )
    .await?;
    let built = build(&app, plan, Arc::new(bundle::Progress::default())).await?;
    record_built(&app, &who, &built).await?;
    // A fresh bundle is always sent whole.
    let mut plain = headers.clone();
    plain.remove(header::RANGE);
    serve(
        &app,
        &who,
        case_id,
        part,
        &built.id,
        &built.path,
        &plain,
        meta.ip,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    app: &App,
    who: &Principal,
    case_id: i64,
    part: Part,
    id: &str,
    path: &std::path::Path,
    headers: &HeaderMap,
    ip: Option<String>,
) -> AppResult<Response> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|_| AppError::not_found("bundle"))?
        .len();
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(100).collect::<String>());
    let range = parse_range(range_header.as_deref(), size);
    let (status, span) = match range {
        ByteRange::Full => (StatusCode::OK, (0, size)),
        ByteRange::Part(a, b) => (StatusCode::PARTIAL_CONTENT, (a, b - a + 1)),
        ByteRange::Unsatisfiable => {
            let mut r = AppError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "请求的范围无效 / range not satisfiable",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    // Access is checked again for every download and every range.
    let mut tx = app.db.write().await?;
    let (case, _) = super::cases::authorize(&mut tx, who, case_id, need(part)).await?;
    if matches!(who, Principal::Party(_)) && part == Part::Secondary {
        return Err(AppError::forbidden());
    }
    tx.audit(
        AuditEntry::new(who, "case.bundle_downloaded", format!("case:{case_id}"))
            .case(case_id)
            .detail(
                json!({"bundle": id, "part": part.as_str(), "status": status.as_u16(),
                           "bytes": [span.0, span.0 + span.1], "size": size}),
            )
            .ip(ip),
    )
    .await?;
    tx.commit().await?;
    let body = stream_span(path, span.0, span.1)
        .await
        .map_err(anyhow::Error::from)?;
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    let name = format!("{}-{}.zip", case.number, part.label_zh());
    let disposition = format!(
        "attachment; filename=\"case-{case_id}-{}.zip\"; filename*=UTF-8''{}",
        part.as_str(),
        percent_encode(&name)
    );
    for (k, v) in [
        (header::CONTENT_TYPE, "application/zip".to_string()),
        (header::CONTENT_LENGTH, span.1.to_string()),
        (header::ETAG, format!("\"{id}\"")),
        (header::ACCEPT_RANGES, "bytes".into()),
        (header::CACHE_CONTROL, "private, no-store".into()),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::HeaderName::from_static("x-bundle-id"),
            id.to_string(),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) =
            HeaderValue::from_str(&format!("bytes {}-{}/{size}", span.0, span.0 + span.1 - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBundle {
    #[serde(default)]
    part: Option<String>,
    #[serde(default)]
    video: Option<bool>,
}

/// `POST /api/cases/{id}/bundles {part, video}`: build in the background; 202 with the
/// job to poll.
pub async fn start(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(case_id): ApiPath<i64>,
    ApiJson(body): ApiJson<StartBundle>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let part = part_of(body.part.as_deref())?;
    let plan = plan_for(
        &app,
        &who,
        case_id,
        part,
        body.video.unwrap_or(true),
        meta.ip,
    )
    .await?;
    let job = jobs::start(who.audit_name(), case_id, part, plan.video);
    let (app2, job2, who2) = (app.clone(), job.clone(), who.clone());
    tokio::spawn(async move {
        match build(&app2, plan, job2.progress.clone()).await {
            Ok(b) => {
                let _ = record_built(&app2, &who2, &b).await;
                job2.set(JobState::Ready {
                    bundle: b.id,
                    size: b.size,
                });
            }
            Err(e) => job2.set(JobState::Failed(e.to_string())),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))))
}

fn job_json(job: &jobs::Job) -> Value {
    let (state, extra) = match job.state() {
        JobState::Building => ("building", json!(null)),
        JobState::Ready { bundle, size } => (
            "ready",
            json!({"bundle": bundle, "size": size,
                   "download_url": format!("/api/cases/{}/bundle?part={}&bundle={bundle}", job.case_id, job.part.as_str())}),
        ),
        JobState::Failed(e) => ("failed", json!({"error": e})),
    };
    json!({
        "job": job.id,
        "case_id": job.case_id,
        "part": job.part.as_str(),
        "video": job.video,
        "state": state,
        "percent": job.percent(),
        "done_bytes": job.progress.done.load(std::sync::atomic::Ordering::Relaxed),
        "total_bytes": job.progress.total.load(std::sync::atomic::Ordering::Relaxed),
        "status_url": format!("/api/bundle-jobs/{}", job.id),
        "result": extra,
    })
}

/// `GET /api/bundle-jobs/{job}`: progress of a job this person started (404 otherwise).
pub async fn job(Auth(who): Auth, ApiPath(id): ApiPath<String>) -> AppResult<Json<Value>> {
    let job = jobs::get(&id, &who.audit_name()).ok_or_else(|| AppError::not_found("bundle job"))?;
    Ok(Json(job_json(&job)))
}
