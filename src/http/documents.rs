//! Case documents for signature, as staff manage them and everyone in the case reads
//! them: draft from the case record, new versions, send for signature, record a refusal,
//! apply the seal, and read the PDF (whole, or as page images for phones that cannot
//! show a PDF inline). The signer's own steps are in `signing`.

use super::extract::{ApiJson, ApiPath, ApiQuery, Auth, Meta};
use crate::app::App;
use crate::audit::AuditEntry;
use crate::authz::{CaseAccess, Permission, Principal};
use crate::db::WriteTx;
use crate::domain::roles::StaffRole;
use crate::error::{AppError, AppResult};
use crate::esign::templates::{DocKind, Fields};
use crate::esign::{service, workflow};
use crate::store::documents::{self, DocumentRow, VersionRow};
use crate::store::{cases, signing};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// The document and its case access, or 404 when the case is hidden from the caller.
pub(super) async fn load(
    tx: &mut WriteTx,
    who: &Principal,
    id: i64,
) -> AppResult<(DocumentRow, CaseAccess)> {
    let doc = documents::get(tx.conn(), id).await?;
    let case = cases::get(tx.conn(), doc.case_id).await?;
    let facts = cases::facts(tx.conn(), &case).await?;
    let access = crate::authz::case_access(who, &facts);
    match access {
        CaseAccess::Hidden => Err(AppError::not_found("document")),
        CaseAccess::Denied => Err(AppError::forbidden()),
        CaseAccess::Granted(_) => Ok((doc, access)),
    }
}

/// Drafting and changing documents: the clerk, the case's arbitrator, and the mediator
/// for the mediation agreement of a hearing they mediate.
async fn may_draft(
    tx: &mut WriteTx,
    who: &Principal,
    access: &CaseAccess,
    case_id: i64,
    kind: DocKind,
    hearing_id: Option<i64>,
) -> AppResult<()> {
    if access.allows(Permission::Edit) || access.allows(Permission::Transition) {
        return Ok(());
    }
    if kind == DocKind::MediationAgreement && who.is_role(StaffRole::Mediator) {
        let s = signing::signer_for(tx.conn(), who, case_id, hearing_id).await?;
        if s.is_some_and(|s| s.slot == "mediator") {
            return Ok(());
        }
    }
    Err(AppError::forbidden())
}

/// Seal and record refusals: the clerk or the case's arbitrator.
fn may_administer(access: &CaseAccess) -> AppResult<()> {
    if access.allows(Permission::Edit) || access.allows(Permission::Transition) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

pub(super) async fn view(tx: &mut WriteTx, who: &Principal, doc: &DocumentRow) -> AppResult<Value> {
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    let kind = doc.kind();
    let states = documents::slot_states(kind, &sigs);
    let places = ver.places();
    let slots: Vec<Value> = states
        .iter()
        .map(|s| {
            let sig = sigs.iter().find(|g| g.slot == s.id);
            json!({
                "id": s.id,
                "label": places.iter().find(|p| p.id == s.id).map(|p| p.label.clone()).unwrap_or_else(|| workflow::slot_label_zh(&s.id).to_string()),
                "status": s.status,
                "name": sig.map(|g| g.name.clone()),
                "at": sig.map(|g| g.at),
                "method": sig.map(|g| g.method.clone()),
                "reason": sig.and_then(|g| g.reason.clone()),
            })
        })
        .collect();
    let sealed = sigs.iter().find(|g| g.status == "sealed");
    let me = signing::signer_for(tx.conn(), who, doc.case_id, doc.hearing_id).await?;
    let me = match me {
        Some(s) if states.iter().any(|x| x.id == s.slot) => {
            let check = workflow::may_sign(kind, doc.status(), &states, &s.slot);
            json!({
                "slot": s.slot,
                "name": s.name,
                "can_sign": check.is_ok(),
                "why_not": check.err().map(|r| json!({"code": r.code(), "message": r.message()})),
                "may_refuse": workflow::may_refuse_slot(kind, &s.slot),
            })
        }
        _ => Value::Null,
    };
    let case_number: Option<(String,)> = sqlx::query_as("SELECT number FROM cases WHERE id = $1")
        .bind(doc.case_id)
        .fetch_optional(tx.conn())
        .await?;
    let facts = {
        let case = cases::get(tx.conn(), doc.case_id).await?;
        cases::facts(tx.conn(), &case).await?
    };
    let access = crate::authz::case_access(who, &facts);
    let may_draft = may_draft(tx, who, &access, doc.case_id, kind, doc.hearing_id)
        .await
        .is_ok();
    let may_administer = may_administer(&access).is_ok();
    Ok(json!({
        "id": doc.id,
        "case_id": doc.case_id,
        "case_number": case_number.map(|(n,)| n),
        "may": {"draft": may_draft, "send": may_draft, "push": may_draft && doc.hearing_id.is_some(), "seal": may_administer && workflow::sealed_by_staff(kind), "record_refusal": may_administer && kind == DocKind::Transcript},
        "hearing_id": doc.hearing_id,
        "kind": kind,
        "title": kind.title_zh(),
        "status": doc.status(),
        "version": ver.version,
        "sha256": ver.sha256,
        "head_sha256": ver.head_sha256,
        "revision": ver.revision,
        "page_count": ver.page_count,
        "created_at": doc.created_at,
        "effective_at": doc.effective_at,
        "slots": slots,
        "pending": workflow::pending(kind, &states),
        "seal": {
            "by_staff": workflow::sealed_by_staff(kind),
            "sealed_at": sealed.map(|g| g.at),
            "ready": workflow::may_staff_seal(kind, doc.status(), &states).is_ok(),
        },
        "me": me,
        "pdf_url": format!("/api/documents/{}/pdf", doc.id),
        "certificate_url": ver.certificate_sha256.as_ref().map(|_| format!("/api/documents/{}/certificate.pdf", doc.id)),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    kind: String,
    hearing_id: Option<i64>,
    #[serde(default)]
    fields: Fields,
}

fn parse_kind(s: &str) -> AppResult<DocKind> {
    DocKind::parse(s).ok_or_else(|| {
        AppError::invalid(
            "invalid_kind",
            "文书类型应为 confirmation、mediation_agreement、withdrawal_claim、withdrawal_counterclaim 或 transcript / unknown document kind",
        )
    })
}

pub async fn create(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(case_id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewDocument>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let kind = parse_kind(&body.kind)?;
    let mut tx = app.db.write().await?;
    let (case, access) = super::cases::authorize(&mut tx, &who, case_id, Permission::Read).await?;
    may_draft(&mut tx, &who, &access, case_id, kind, body.hearing_id).await?;
    if case.status() == crate::domain::case_status::CaseStatus::Closed {
        return Err(AppError::conflict(
            "case_closed",
            "案件已结案 / the case is closed",
        ));
    }
    if let Some(h) = body.hearing_id {
        let ok: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM hearings WHERE id = $1 AND case_id = $2")
                .bind(h)
                .bind(case_id)
                .fetch_optional(tx.conn())
                .await?;
        if ok.is_none() {
            return Err(AppError::invalid(
                "invalid_field",
                "该庭审不属于本案 / the hearing is not of this case",
            ));
        }
    }
    let v = service::render_version(
        &app,
        tx.conn(),
        case_id,
        body.hearing_id,
        kind,
        &body.fields,
    )
    .await?;
    let id = documents::create(&mut tx, &who, case_id, body.hearing_id, kind, &v).await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(case_id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    super::cases::authorize(&mut tx, &who, case_id, Permission::Read).await?;
    let docs = documents::list_for_case(tx.conn(), case_id).await?;
    let mut out = Vec::with_capacity(docs.len());
    for d in &docs {
        out.push(view(&mut tx, &who, d).await?);
    }
    tx.audit(AuditEntry::new(&who, "document.list", format!("case:{case_id}")).case(case_id))
        .await?;
    tx.commit().await?;
    Ok(Json(json!({ "documents": out })))
}

pub async fn get(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.audit(AuditEntry::new(&who, "document.read", format!("document:{id}")).case(doc.case_id))
        .await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVersionBody {
    #[serde(default)]
    fields: Fields,
}

pub async fn new_version(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewVersionBody>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, access) = load(&mut tx, &who, id).await?;
    may_draft(
        &mut tx,
        &who,
        &access,
        doc.case_id,
        doc.kind(),
        doc.hearing_id,
    )
    .await?;
    match doc.status() {
        workflow::DocStatus::Signing => {}
        workflow::DocStatus::Effective => {
            return Err(super::signing::refusal(workflow::Refusal::Effective));
        }
        workflow::DocStatus::Void => return Err(super::signing::refusal(workflow::Refusal::Void)),
    }
    // What staff wrote before carries over; the body changes what it names.
    let previous = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let mut fields: Fields = previous
        .fields()
        .into_iter()
        .filter(|(k, _)| service::STAFF_FIELDS.contains(&k.as_str()))
        .collect();
    fields.extend(body.fields);
    let v = service::render_version(
        &app,
        tx.conn(),
        doc.case_id,
        doc.hearing_id,
        doc.kind(),
        &fields,
    )
    .await?;
    documents::new_version(&mut tx, &who, &doc, &v).await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct PdfQuery {
    version: Option<i64>,
}

async fn pdf_version(tx: &mut WriteTx, doc: &DocumentRow, v: Option<i64>) -> AppResult<VersionRow> {
    let v = v.unwrap_or(doc.current_version);
    if v < 1 || v > doc.current_version {
        return Err(AppError::not_found("document version"));
    }
    documents::version(tx.conn(), doc.id, v).await
}

fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The PDF as it stands: the current version with every signature so far (the final,
/// sealed file once effective).
pub async fn pdf(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PdfQuery>,
) -> AppResult<Response> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let ver = pdf_version(&mut tx, &doc, q.version).await?;
    tx.audit(
        AuditEntry::new(&who, "document.download", format!("document:{id}"))
            .case(doc.case_id)
            .detail(json!({"version": ver.version, "sha256": ver.head_sha256})),
    )
    .await?;
    tx.commit().await?;
    let bytes = documents::get_pdf(&app, &ver.head_sha256)?;
    Ok(pdf_response(
        bytes,
        &format!("document-{id}-v{}.pdf", ver.version),
    ))
}

pub async fn certificate(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let Some(sha) = ver.certificate_sha256.clone() else {
        return Err(AppError::not_found("completion certificate"));
    };
    tx.audit(
        AuditEntry::new(
            &who,
            "document.certificate_download",
            format!("document:{id}"),
        )
        .case(doc.case_id),
    )
    .await?;
    tx.commit().await?;
    let bytes = documents::get_pdf(&app, &sha)?;
    Ok(pdf_response(
        bytes,
        &format!("document-{id}-certificate.pdf"),
    ))
}

/// One page of the current PDF as a PNG, rendered from the very bytes being signed, for
/// phone browsers (WeChat, Android WebView) that cannot show a PDF inline.
pub async fn page(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath((id, n)): ApiPath<(i64, usize)>,
) -> AppResult<Response> {
    let mut tx = app.db.write().await?;
    let (doc, _) = load(&mut tx, &who, id).await?;
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    tx.audit(
        AuditEntry::new(&who, "document.page_view", format!("document:{id}"))
            .case(doc.case_id)
            .detail(json!({"version": ver.version, "page": n})),
    )
    .await?;
    tx.commit().await?;
    let bytes = documents::get_pdf(&app, &ver.head_sha256)?;
    let png = tokio::task::spawn_blocking(move || crate::esign::preview::page_png(&bytes, n, 2.0))
        .await
        .map_err(|_| AppError::internal("page render task"))?
        .ok_or_else(|| AppError::not_found("page"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        png,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    #[serde(default)]
    slots: Option<Vec<String>>,
}

/// Send the signing link to each pending party signer (through the notifier), and tell
/// staff signers in their console. Returns what was sent to whom.
pub async fn send(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SendBody>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, access) = load(&mut tx, &who, id).await?;
    may_draft(
        &mut tx,
        &who,
        &access,
        doc.case_id,
        doc.kind(),
        doc.hearing_id,
    )
    .await?;
    if doc.status() != workflow::DocStatus::Signing {
        return Err(AppError::conflict(
            "document_effective",
            workflow::Refusal::Effective.message(),
        ));
    }
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    let pending = workflow::pending(doc.kind(), &documents::slot_states(doc.kind(), &sigs));
    let wanted: Vec<String> = pending
        .into_iter()
        .filter(|s| body.slots.as_ref().is_none_or(|w| w.contains(s)))
        .collect();
    let messages =
        super::signing::send_links(&app, &mut tx, &who, &doc, &ver, &wanted, "link").await?;
    tx.commit().await?;
    for m in &messages {
        if let Err(e) = app.notifier.send(&app.db, m).await {
            tracing::warn!(document = id, error = %e, "signing link delivery failed");
        }
    }
    Ok(Json(
        json!({ "sent": messages.iter().map(|m| crate::domain::masking::phone(&m.to)).collect::<Vec<_>>(), "slots": wanted }),
    ))
}

pub async fn seal(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, access) = load(&mut tx, &who, id).await?;
    may_administer(&access)?;
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    workflow::may_staff_seal(
        doc.kind(),
        doc.status(),
        &documents::slot_states(doc.kind(), &sigs),
    )
    .map_err(super::signing::refusal)?;
    service::seal_and_complete(&app, &mut tx, &who, &doc, &ver, &meta).await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    super::signing::announce(&app, &doc, "seal").await;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRefusal {
    slot: String,
    reason: String,
}

/// Staff record that a party refused to sign the transcript (said so in the hearing, or
/// left): the reason goes on the record and the document can be completed.
pub async fn record_refusal(
    State(app): State<App>,
    Auth(who): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RecordRefusal>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, access) = load(&mut tx, &who, id).await?;
    may_administer(&access)?;
    let name = super::signing::party_name(&mut tx, doc.case_id, &body.slot).await?;
    super::signing::refuse_slot(
        &app,
        &mut tx,
        &who,
        &doc,
        &body.slot,
        &name,
        None,
        &body.reason,
        &meta,
    )
    .await?;
    let doc = documents::get(tx.conn(), id).await?;
    let out = view(&mut tx, &who, &doc).await?;
    tx.commit().await?;
    super::signing::announce(&app, &doc, &body.slot).await;
    Ok(Json(out))
}

/// During the hearing (当庭调解) the chair or mediator sends the document to the phones of
/// its pending party signers in the room; it opens over the hearing, which keeps running.
pub async fn push(
    State(app): State<App>,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<Value>> {
    let mut tx = app.db.write().await?;
    let (doc, access) = load(&mut tx, &who, id).await?;
    may_draft(
        &mut tx,
        &who,
        &access,
        doc.case_id,
        doc.kind(),
        doc.hearing_id,
    )
    .await?;
    let ver = documents::version(tx.conn(), doc.id, doc.current_version).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    let states = documents::slot_states(doc.kind(), &sigs);
    if doc.status() != workflow::DocStatus::Signing {
        return Err(super::signing::refusal(workflow::Refusal::Effective));
    }
    let pending: Vec<String> = workflow::pending(doc.kind(), &states)
        .into_iter()
        .filter(|s| matches!(s.as_str(), "applicant" | "respondent"))
        .collect();
    let Some(hearing) = doc.hearing_id else {
        return Err(AppError::conflict(
            "not_in_hearing",
            "该文书不属于某次庭审 / the document is not tied to a hearing",
        ));
    };
    super::signing::send_links(&app, &mut tx, &who, &doc, &ver, &pending, "room").await?;
    tx.commit().await?;
    crate::hearing::registry::load(&app, hearing).await?;
    let roles: Vec<&str> = pending.iter().map(String::as_str).collect();
    let title = doc.kind().title_zh();
    let fx = app
        .rooms
        .decide(hearing, |room| room.push_document(&roles, doc.id, title))
        .ok_or_else(|| AppError::not_found("hearing room"))?
        .map_err(|e| {
            AppError::new(
                crate::hearing::registry::status_of(&e),
                e.code,
                e.message.clone(),
            )
        })?;
    let seats = fx
        .iter()
        .find_map(|e| match e {
            crate::hearing::room::Effect::Record { detail, .. } => detail.get("seats").cloned(),
            _ => None,
        })
        .unwrap_or(Value::Null);
    crate::hearing::registry::apply(&app, hearing, &who, fx).await;
    Ok(Json(json!({"pushed_to": seats, "slots": pending})))
}
