//! The e-signature steps that touch the database, the document store and the keys
//! together: render a version from the case, prepare a signer's incremental update,
//! complete it with the phone's signature, and seal. The HTTP handlers call these and
//! own nothing but request parsing; every step runs inside the caller's write
//! transaction, so a failure anywhere leaves the document as it was.

use super::templates::{DocKind, Fields, Templates};
use super::{ca, completion, pades, render, workflow};
use crate::app::App;
use crate::authz::{CaseAccess, Permission, Principal};
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::store::documents::{
    self, DocumentRow, NewVersion, SignatureRecord, SlotPlace, VersionRow,
};
use crate::store::{cases, commissions, views};
use crate::time::now_ms;
use std::sync::{Arc, OnceLock};

/// Fields a staff member writes; everything else comes from the case record.
pub const STAFF_FIELDS: &[&str] = &[
    "defence_period",
    "withdrawal_reason",
    "agreed_terms",
    "transcript_text",
    "attendees",
    "claims",
    "hearing_time",
    "applicant_service_address",
    "respondent_service_address",
];

struct Assets {
    templates: Templates,
    font: render::FontSource,
}

static ASSETS: OnceLock<Arc<Assets>> = OnceLock::new();

fn assets(app: &App) -> AppResult<Arc<Assets>> {
    if let Some(a) = ASSETS.get() {
        return Ok(a.clone());
    }
    let templates = Templates::load(app.config.esign.templates_dir.as_deref()).map_err(|e| {
        tracing::error!(error = %e, "loading document templates");
        AppError::internal("document templates")
    })?;
    let font = render::FontSource::load(&app.config.esign.font_path).map_err(|e| {
        tracing::error!(error = %e, path = %app.config.esign.font_path.display(), "loading the CJK font");
        AppError::internal("document font")
    })?;
    Ok(ASSETS
        .get_or_init(|| Arc::new(Assets { templates, font }))
        .clone())
}

fn date_zh(ms: i64) -> String {
    let t = crate::time::local(ms, 8);
    t.format("%Y年%-m月%-d日").to_string()
}

fn time_zh(ms: i64) -> String {
    let t = crate::time::local(ms, 8);
    t.format("%Y年%-m月%-d日 %H:%M").to_string()
}

fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The fields the case record supplies.
pub async fn case_fields(
    conn: &mut sqlx::AnyConnection,
    case_id: i64,
    hearing_id: Option<i64>,
) -> AppResult<Fields> {
    let case = cases::get(conn, case_id).await?;
    let access = CaseAccess::Granted(vec![Permission::Read, Permission::Edit]);
    let view = views::case(conn, &Principal::System, &case, &access).await?;
    let commission = commissions::get(conn, case.commission_id).await?;
    let mut f = Fields::new();
    f.insert("commission_name".into(), commission.name.clone());
    f.insert("case_number".into(), view.number.clone());
    f.insert("case_cause".into(), view.cause.clone());
    f.insert("accepted_date".into(), date_zh(view.accepted_at));
    f.insert("document_date".into(), date_zh(now_ms()));
    for side in ["applicant", "respondent"] {
        let parties: Vec<_> = view.parties.iter().filter(|p| p.side == side).collect();
        let names = parties
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join("、");
        let info = parties
            .iter()
            .map(|p| match &p.legal_rep {
                Some(rep) if !rep.is_empty() => format!("{}，法定代表人：{}", p.name, rep),
                _ => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("；");
        let agents = parties
            .iter()
            .flat_map(|p| p.agents.iter())
            .map(|a| {
                let auth = if a.authority == "special" {
                    "特别授权"
                } else {
                    "一般授权"
                };
                format!("{}（{}）", a.name, auth)
            })
            .collect::<Vec<_>>()
            .join("、");
        let service = parties
            .iter()
            .map(|p| format!("{}（手机 {}）", p.name, p.phone))
            .collect::<Vec<_>>()
            .join("；");
        f.insert(format!("{side}_name"), names);
        f.insert(format!("{side}_info"), info);
        f.insert(format!("{side}_agent"), agents);
        f.insert(format!("{side}_service_address"), service);
    }
    let claims = view
        .claims
        .iter()
        .map(|c| {
            if c.amount_cents > 0 {
                format!(
                    "{}. {}（{} 元）",
                    c.position,
                    c.description,
                    yuan(c.amount_cents)
                )
            } else {
                format!("{}. {}", c.position, c.description)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    f.insert("claims".into(), claims);
    let counter_accepted = view.counterclaims.first().map(|c| c.id);
    let counter_date = match counter_accepted {
        Some(cid) => {
            let (at,): (i64,) = sqlx::query_as("SELECT accepted_at FROM cases WHERE id = $1")
                .bind(cid)
                .fetch_one(&mut *conn)
                .await?;
            date_zh(at)
        }
        None => "无".into(),
    };
    f.insert("counterclaim_accepted_date".into(), counter_date);
    let hearing = match hearing_id {
        Some(h) => view.hearings.iter().find(|x| x.id == h),
        None => view.hearings.last(),
    };
    match hearing {
        Some(h) => {
            f.insert("hearing_time".into(), time_zh(h.scheduled_at));
            let mut tribunal = format!("仲裁员 {}", h.presiding_arbitrator.display_name);
            if let Some(m) = &h.mediator {
                tribunal.push_str(&format!("；调解员 {}", m.display_name));
            }
            f.insert("tribunal".into(), tribunal);
            f.insert("clerk_name".into(), h.clerk.display_name.clone());
        }
        None => {
            f.insert("hearing_time".into(), "待定".into());
            let arb = view
                .arbitrator
                .as_ref()
                .map(|a| format!("仲裁员 {}", a.display_name))
                .unwrap_or_else(|| "待定".into());
            f.insert("tribunal".into(), arb);
            f.insert("clerk_name".into(), "待定".into());
        }
    }
    f.insert(
        "attendees".into(),
        format!(
            "申请人：{}\n被申请人：{}",
            f.get("applicant_name").cloned().unwrap_or_default(),
            f.get("respondent_name").cloned().unwrap_or_default()
        ),
    );
    Ok(f)
}

/// Render a new version: the case's fields overlaid with what staff wrote, validated
/// against the template, stored as a PDF.
pub async fn render_version(
    app: &App,
    conn: &mut sqlx::AnyConnection,
    case_id: i64,
    hearing_id: Option<i64>,
    kind: DocKind,
    staff_fields: &Fields,
) -> AppResult<NewVersion> {
    let assets = assets(app)?;
    let template = assets.templates.get(kind);
    let mut fields = case_fields(conn, case_id, hearing_id).await?;
    for (k, v) in staff_fields {
        if !STAFF_FIELDS.contains(&k.as_str()) {
            return Err(AppError::invalid(
                "invalid_field",
                format!(
                    "字段 {k} 由案件信息自动填写，不能修改 / field {k} comes from the case record"
                ),
            ));
        }
        fields.insert(k.clone(), v.clone());
    }
    let names = template.field_names();
    fields.retain(|k, _| names.contains(k));
    for n in &names {
        fields.entry(n.clone()).or_default();
    }
    super::templates::validate_fields(template, &fields)
        .map_err(|e| AppError::invalid("invalid_field", e.to_string()))?;
    let rendered = {
        let (template, fields, assets) = (template.clone(), fields.clone(), assets.clone());
        tokio::task::spawn_blocking(move || render::render(&template, &fields, &assets.font))
            .await
            .map_err(|_| AppError::internal("render task"))?
            .map_err(|e| match e.downcast_ref::<super::templates::FieldError>() {
                Some(fe) => AppError::invalid("invalid_field", fe.to_string()),
                None => {
                    tracing::error!(error = %e, "rendering a document");
                    AppError::internal("document rendering")
                }
            })?
    };
    let sha = documents::put_pdf(app, &rendered.pdf)?;
    Ok(NewVersion {
        fields,
        template_sha256: template.sha256_hex.clone(),
        places: rendered
            .slots
            .iter()
            .map(|s| SlotPlace {
                id: s.id.clone(),
                label: s.label.clone(),
                page: s.page,
                rect: s.rect,
            })
            .collect(),
        page_count: rendered.page_count,
        pdf_sha256: sha,
    })
}

/// The commission's certificate authority (created on first use in dev).
pub fn commission_ca(
    app: &App,
    commission: &commissions::Commission,
) -> AppResult<ca::CommissionCa> {
    let configured = app
        .config
        .esign
        .ca_cert
        .as_deref()
        .zip(app.config.esign.ca_key.as_deref());
    ca::CommissionCa::load_or_create(&keys_dir(app), commission.id, &commission.name, configured)
        .map_err(|e| {
            tracing::error!(error = %e, "loading the commission CA");
            AppError::internal("commission certificate authority")
        })
}

fn keys_dir(app: &App) -> std::path::PathBuf {
    app.config.data_dir.join("keys")
}

/// Hash what identifies a person so the certificate carries a stable reference that
/// only the server (holding the key) can link back to an ID number.
pub fn identity_hash(app: &App, identity_ref: &str) -> String {
    app.key
        .sign_hex(format!("signer-identity:{identity_ref}").as_bytes())
}

/// Where the signature of `slot` goes and what its dictionary says.
pub fn field_spec(
    kind: DocKind,
    ver: &VersionRow,
    slot: &str,
    signer_name: &str,
) -> pades::SigFieldSpec {
    let place = ver.places().into_iter().find(|p| p.id == slot);
    let (page, rect) = match place {
        Some(p) => (p.page, p.rect),
        None => (ver.page_count.max(1) as usize - 1, [0.0, 0.0, 0.0, 0.0]),
    };
    pades::SigFieldSpec {
        field_name: format!("yt_v{}_{}", ver.version, slot),
        page,
        rect,
        signer_name: signer_name.to_string(),
        reason: format!("{}：{}", workflow::slot_label_zh(slot), kind.title_zh()),
        location: "云庭网上仲裁庭 / Yunting online tribunal".into(),
        doc_sha256_hex: ver.sha256.clone(),
    }
}

/// Seal the version (last PAdES signature, by the commission's key), issue the completion
/// certificate, and make the document effective.
pub async fn seal_and_complete(
    app: &App,
    tx: &mut WriteTx,
    who: &Principal,
    doc: &DocumentRow,
    ver: &VersionRow,
    meta: &crate::store::identity::ClientMeta,
) -> AppResult<i64> {
    let case = cases::get(tx.conn(), doc.case_id).await?;
    let commission = commissions::get(tx.conn(), case.commission_id).await?;
    let authority = commission_ca(app, &commission)?;
    let seal_pkcs8 = std::fs::read(commissions::seal_key_path(app, commission.id))
        .map_err(|_| AppError::internal("commission seal key"))?;
    let seal_cert = authority
        .seal_cert(&keys_dir(app), commission.id, &seal_pkcs8)
        .map_err(|e| {
            tracing::error!(error = %e, "seal certificate");
            AppError::internal("seal certificate")
        })?;
    let head = documents::get_pdf(app, &ver.head_sha256)?;
    let spec = field_spec(doc.kind(), ver, "seal", &commission.name);
    let records = signature_records_json(&documents::signatures(tx.conn(), ver.id).await?);
    let chain = vec![authority.cert_der().to_vec()];
    let tsa = app
        .config
        .esign
        .tsa_url
        .clone()
        .map(|url| super::timestamp::HttpTsa { url });
    let sealed = {
        let (seal_cert, chain) = (seal_cert.clone(), chain.clone());
        tokio::task::spawn_blocking(move || {
            pades::seal(
                &head,
                &spec,
                &seal_pkcs8,
                &seal_cert,
                &chain,
                chrono::Utc::now(),
                tsa.as_ref().map(|t| t as &dyn super::timestamp::Tsa),
                Some(&records),
            )
        })
        .await
        .map_err(|_| AppError::internal("seal task"))?
        .map_err(|e| {
            tracing::error!(error = %e, "sealing a document");
            AppError::internal("sealing")
        })?
    };
    let final_sha = documents::put_pdf(app, &sealed)?;
    let fingerprint = ca::cert_sha256_hex(&seal_cert);
    documents::record_signature(
        tx,
        who,
        doc,
        ver,
        ver.revision,
        &SignatureRecord {
            slot: "seal",
            status: "sealed",
            invitation_id: None,
            user_id: who.staff().map(|s| s.user_id),
            name: &commission.name,
            role: "seal",
            method: "commission_seal",
            cert_fingerprint: Some(&fingerprint),
            revision_sha256: Some(&final_sha),
            image_sha256: None,
            strokes_sha256: None,
            webauthn: None,
            reason: None,
            ip: meta.ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    let ver = documents::version_by_id(tx.conn(), ver.id).await?;
    let sigs = documents::signatures(tx.conn(), ver.id).await?;
    let cert_pdf = completion_certificate(app, doc, &ver, &case.number, &sigs, &final_sha)?;
    let cert_sha = documents::put_pdf(app, &cert_pdf)?;
    documents::mark_effective(tx, who, doc, &ver, &final_sha, &cert_sha).await
}

/// The signature records the seal carries (`cms::OID_YT_SIGNATURE_RECORDS`): who signed
/// or refused, how, with which certificate, over which document hash, the passkey
/// assertion, and the audit entry. IP and device stay in the database and on the
/// certificate of completion.
pub fn signature_records_json(sigs: &[documents::SignatureRow]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = sigs
        .iter()
        .map(|s| {
            serde_json::json!({
                "slot": s.slot, "status": s.status, "name": s.name, "role": s.role,
                "method": s.method, "cert_fingerprint": s.cert_fingerprint,
                "doc_sha256": s.doc_sha256, "image_sha256": s.image_sha256,
                "strokes_sha256": s.strokes_sha256,
                "webauthn": s.webauthn.as_deref().and_then(|w| serde_json::from_str::<serde_json::Value>(w).ok()),
                "reason": s.reason, "at_ms": s.at, "audit_seq": s.audit_id,
            })
        })
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"format": "yunting-signature-records/1", "signatures": list}),
    )
    .unwrap_or_default()
}

fn method_zh(method: &str) -> String {
    match method {
        "device_key" => "设备密钥（WebCrypto ECDSA P-256）/ device key".into(),
        "webauthn" => "通行密钥（WebAuthn，用户验证）+ 设备密钥 / passkey".into(),
        "commission_seal" => "仲裁委员会电子印章 / commission seal".into(),
        "refused" => "拒绝签署 / refused".into(),
        other => other.into(),
    }
}

fn completion_certificate(
    app: &App,
    doc: &DocumentRow,
    ver: &VersionRow,
    case_number: &str,
    sigs: &[documents::SignatureRow],
    final_sha: &str,
) -> AppResult<Vec<u8>> {
    let assets = assets(app)?;
    let input = completion::CompletionInput {
        title: doc.kind().title_zh().to_string(),
        case_number: case_number.to_string(),
        version: ver.version,
        version_sha256: ver.sha256.clone(),
        final_sha256: final_sha.to_string(),
        effective_at_ms: Some(now_ms()),
        signers: sigs
            .iter()
            .map(|s| completion::CompletionSigner {
                name: s.name.clone(),
                role: workflow::slot_label_zh(&s.slot).to_string(),
                method: method_zh(&s.method),
                cert_fingerprint: s.cert_fingerprint.clone().unwrap_or_default(),
                signed_at_ms: s.at,
                ip: s.ip.clone().unwrap_or_default(),
                user_agent: s.user_agent.clone().unwrap_or_default(),
                audit_ids: vec![s.audit_id],
                refused_reason: s.reason.clone().filter(|_| s.status == "refused"),
            })
            .collect(),
    };
    completion::render_certificate(&input, &assets.font).map_err(|e| {
        tracing::error!(error = %e, "completion certificate");
        AppError::internal("completion certificate")
    })
}
