//! Who may sign a document when, and when it takes effect. Kept free of I/O so the rules
//! of each document kind can be read and tested in one place:
//!
//! - 确认书 (confirmation): both parties, any order; effective when both have signed.
//! - 调解协议书 (mediation agreement): both parties (any order), then the mediator, then
//!   the commission seal applied by staff; effective only with the seal.
//! - 撤回仲裁申请 / 撤回反申请 (withdrawals): the one party withdrawing.
//! - 庭审笔录 (transcript): the parties (each signs or refuses, with the refusal and its
//!   reason recorded), then the arbitrator, then the clerk.
//!
//! Documents other than the mediation agreement are sealed by the server itself at the
//! moment they complete, so every final PDF ends with the commission's seal.

use super::templates::DocKind;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotStatus {
    Pending,
    Signed,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotState {
    pub id: String,
    pub status: SlotStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    Signing,
    Effective,
    Void,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Signing => "signing",
            DocStatus::Effective => "effective",
            DocStatus::Void => "void",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "signing" => Some(DocStatus::Signing),
            "effective" => Some(DocStatus::Effective),
            "void" => Some(DocStatus::Void),
            _ => None,
        }
    }
}

/// Why a signing step is refused; each maps to one API error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotASlot,
    AlreadyDone,
    NotYourTurn { waiting_for: Vec<String> },
    Effective,
    Void,
    RefusalNotAllowed,
    SealNotReady { waiting_for: Vec<String> },
    NoStaffSeal,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotASlot => "not_a_signer",
            Refusal::AlreadyDone => "already_signed",
            Refusal::NotYourTurn { .. } => "not_your_turn",
            Refusal::Effective => "document_effective",
            Refusal::Void => "document_void",
            Refusal::RefusalNotAllowed => "refusal_not_allowed",
            Refusal::SealNotReady { .. } => "seal_not_ready",
            Refusal::NoStaffSeal => "sealed_automatically",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::NotASlot => {
                "您不是该文书的签署人 / you are not a signer of this document".into()
            }
            Refusal::AlreadyDone => "该签署栏已完成 / this signature is already done".into(),
            Refusal::NotYourTurn { waiting_for } => format!(
                "尚未轮到您签署，等待：{} / not your turn yet; waiting for: {}",
                labels_zh(waiting_for),
                waiting_for.join(", ")
            ),
            Refusal::Effective => {
                "文书已生效，不能再签署或修改 / the document is already effective".into()
            }
            Refusal::Void => "文书已作废 / the document is void".into(),
            Refusal::RefusalNotAllowed => {
                "只有当事人可拒签庭审笔录 / only a party may refuse to sign a transcript".into()
            }
            Refusal::SealNotReady { waiting_for } => format!(
                "签署未完成，不能用印，等待：{} / cannot seal yet; waiting for: {}",
                labels_zh(waiting_for),
                waiting_for.join(", ")
            ),
            Refusal::NoStaffSeal => {
                "该文书签署完成时自动用印 / this document is sealed automatically".into()
            }
        }
    }
}

pub fn slot_label_zh(id: &str) -> &'static str {
    match id {
        "applicant" => "申请人",
        "respondent" => "被申请人",
        "mediator" => "调解员",
        "arbitrator" => "仲裁员",
        "clerk" => "书记员",
        "seal" => "仲裁委员会印章",
        _ => "签署人",
    }
}

fn labels_zh(ids: &[String]) -> String {
    ids.iter()
        .map(|s| slot_label_zh(s))
        .collect::<Vec<_>>()
        .join("、")
}

/// The signing stages of a kind: every slot of a stage must be done (signed, or refused
/// where refusal is allowed) before the next stage may sign. The seal is not a stage.
pub fn stages(kind: DocKind) -> &'static [&'static [&'static str]] {
    match kind {
        DocKind::Confirmation => &[&["applicant", "respondent"]],
        DocKind::MediationAgreement => &[&["applicant", "respondent"], &["mediator"]],
        DocKind::WithdrawalClaim => &[&["applicant"]],
        DocKind::WithdrawalCounterclaim => &[&["respondent"]],
        DocKind::Transcript => &[&["applicant", "respondent"], &["arbitrator"], &["clerk"]],
    }
}

/// Whether staff apply the seal by hand (the mediation agreement's effect depends on it);
/// otherwise the server seals on completion.
pub fn sealed_by_staff(kind: DocKind) -> bool {
    kind == DocKind::MediationAgreement
}

pub fn may_refuse_slot(kind: DocKind, slot: &str) -> bool {
    kind == DocKind::Transcript && matches!(slot, "applicant" | "respondent")
}

fn status_of<'a>(slots: &'a [SlotState], id: &str) -> Option<&'a SlotState> {
    slots.iter().find(|s| s.id == id)
}

/// Slots of earlier stages that are still pending.
fn blocking(kind: DocKind, slots: &[SlotState], slot: &str) -> Option<Vec<String>> {
    let stages = stages(kind);
    let idx = stages.iter().position(|st| st.contains(&slot))?;
    Some(
        stages[..idx]
            .iter()
            .flat_map(|st| st.iter())
            .filter(|id| status_of(slots, id).is_none_or(|s| s.status == SlotStatus::Pending))
            .map(|s| s.to_string())
            .collect(),
    )
}

fn open(status: DocStatus) -> Result<(), Refusal> {
    match status {
        DocStatus::Signing => Ok(()),
        DocStatus::Effective => Err(Refusal::Effective),
        DocStatus::Void => Err(Refusal::Void),
    }
}

pub fn may_sign(
    kind: DocKind,
    status: DocStatus,
    slots: &[SlotState],
    slot: &str,
) -> Result<(), Refusal> {
    open(status)?;
    let state = status_of(slots, slot).ok_or(Refusal::NotASlot)?;
    if state.status != SlotStatus::Pending {
        return Err(Refusal::AlreadyDone);
    }
    let waiting = blocking(kind, slots, slot).ok_or(Refusal::NotASlot)?;
    if !waiting.is_empty() {
        return Err(Refusal::NotYourTurn {
            waiting_for: waiting,
        });
    }
    Ok(())
}

pub fn may_refuse(
    kind: DocKind,
    status: DocStatus,
    slots: &[SlotState],
    slot: &str,
) -> Result<(), Refusal> {
    if !may_refuse_slot(kind, slot) {
        open(status)?;
        return Err(Refusal::RefusalNotAllowed);
    }
    may_sign(kind, status, slots, slot)
}

/// Slots still pending, in stage order.
pub fn pending(kind: DocKind, slots: &[SlotState]) -> Vec<String> {
    stages(kind)
        .iter()
        .flat_map(|st| st.iter())
        .filter(|id| status_of(slots, id).is_none_or(|s| s.status == SlotStatus::Pending))
        .map(|s| s.to_string())
        .collect()
}

/// Every signer has acted: what remains is the seal.
pub fn ready_to_seal(kind: DocKind, slots: &[SlotState]) -> bool {
    pending(kind, slots).is_empty()
}

pub fn may_staff_seal(
    kind: DocKind,
    status: DocStatus,
    slots: &[SlotState],
) -> Result<(), Refusal> {
    open(status)?;
    if !sealed_by_staff(kind) {
        return Err(Refusal::NoStaffSeal);
    }
    let waiting = pending(kind, slots);
    if !waiting.is_empty() {
        return Err(Refusal::SealNotReady {
            waiting_for: waiting,
        });
    }
    Ok(())
}

/// The initial slot states of a new version: nothing signed.
pub fn fresh_slots(kind: DocKind) -> Vec<SlotState> {
    stages(kind)
        .iter()
        .flat_map(|st| st.iter())
        .map(|id| SlotState {
            id: id.to_string(),
            status: SlotStatus::Pending,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(slots: &mut [SlotState], id: &str, st: SlotStatus) {
        slots.iter_mut().find(|s| s.id == id).unwrap().status = st;
    }

    #[test]
    fn confirmation_any_order_then_complete() {
        let k = DocKind::Confirmation;
        let mut s = fresh_slots(k);
        assert!(may_sign(k, DocStatus::Signing, &s, "respondent").is_ok());
        set(&mut s, "respondent", SlotStatus::Signed);
        assert!(!ready_to_seal(k, &s));
        assert!(may_sign(k, DocStatus::Signing, &s, "applicant").is_ok());
        assert_eq!(
            may_sign(k, DocStatus::Signing, &s, "respondent"),
            Err(Refusal::AlreadyDone)
        );
        set(&mut s, "applicant", SlotStatus::Signed);
        assert!(ready_to_seal(k, &s));
        assert_eq!(
            may_staff_seal(k, DocStatus::Signing, &s),
            Err(Refusal::NoStaffSeal)
        );
        assert_eq!(
            may_sign(k, DocStatus::Signing, &s, "mediator"),
            Err(Refusal::NotASlot)
        );
    }

    #[test]
    fn mediation_parties_then_mediator_then_staff_seal() {
        let k = DocKind::MediationAgreement;
        let mut s = fresh_slots(k);
        match may_sign(k, DocStatus::Signing, &s, "mediator") {
            Err(Refusal::NotYourTurn { waiting_for }) => {
                assert_eq!(waiting_for, vec!["applicant", "respondent"])
            }
            other => panic!("{other:?}"),
        }
        set(&mut s, "applicant", SlotStatus::Signed);
        assert!(may_sign(k, DocStatus::Signing, &s, "mediator").is_err());
        assert!(matches!(
            may_staff_seal(k, DocStatus::Signing, &s),
            Err(Refusal::SealNotReady { .. })
        ));
        set(&mut s, "respondent", SlotStatus::Signed);
        assert!(may_sign(k, DocStatus::Signing, &s, "mediator").is_ok());
        set(&mut s, "mediator", SlotStatus::Signed);
        assert!(may_staff_seal(k, DocStatus::Signing, &s).is_ok());
        assert_eq!(
            may_staff_seal(k, DocStatus::Effective, &s),
            Err(Refusal::Effective)
        );
    }

    #[test]
    fn transcript_refusal_counts_as_done_for_parties_only() {
        let k = DocKind::Transcript;
        let mut s = fresh_slots(k);
        assert!(may_refuse(k, DocStatus::Signing, &s, "respondent").is_ok());
        assert_eq!(
            may_refuse(k, DocStatus::Signing, &s, "arbitrator"),
            Err(Refusal::RefusalNotAllowed)
        );
        set(&mut s, "respondent", SlotStatus::Refused);
        assert!(may_sign(k, DocStatus::Signing, &s, "arbitrator").is_err());
        set(&mut s, "applicant", SlotStatus::Signed);
        assert!(may_sign(k, DocStatus::Signing, &s, "arbitrator").is_ok());
        assert!(may_sign(k, DocStatus::Signing, &s, "clerk").is_err());
        set(&mut s, "arbitrator", SlotStatus::Signed);
        set(&mut s, "clerk", SlotStatus::Signed);
        assert!(ready_to_seal(k, &s));
        // Refusal is only for transcripts.
        let c = DocKind::Confirmation;
        assert_eq!(
            may_refuse(c, DocStatus::Signing, &fresh_slots(c), "applicant"),
            Err(Refusal::RefusalNotAllowed)
        );
    }

    #[test]
    fn withdrawals_have_one_signer_each() {
        assert_eq!(
            fresh_slots(DocKind::WithdrawalClaim)
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            vec!["applicant"]
        );
        let k = DocKind::WithdrawalCounterclaim;
        let s = fresh_slots(k);
        assert_eq!(
            may_sign(k, DocStatus::Signing, &s, "applicant"),
            Err(Refusal::NotASlot)
        );
        assert!(may_sign(k, DocStatus::Signing, &s, "respondent").is_ok());
    }

    #[test]
    fn effective_and_void_documents_take_nothing() {
        let k = DocKind::Confirmation;
        let s = fresh_slots(k);
        assert_eq!(
            may_sign(k, DocStatus::Effective, &s, "applicant"),
            Err(Refusal::Effective)
        );
        assert_eq!(
            may_sign(k, DocStatus::Void, &s, "applicant"),
            Err(Refusal::Void)
        );
    }
}
