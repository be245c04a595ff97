//! What each way of closing a case (结案方式) needs on the record, and how long the closed
//! case's records are kept. Pure: the store gathers the facts ([`ClosingFacts`]), this
//! module decides, and the answer is either the grounds the closing rests on (kept with
//! the closing and in the audit entry) or the list of what is missing, in Chinese and
//! English. [`super::case_status::check_transition`] still decides whether the *status*
//! allows the method; the caller asks both.
//!
//! The rules:
//!
//! - **调解 (mediation)**: an effective (signed by both parties and the mediator, sealed)
//!   mediation agreement of this case. For a counterclaim heard together with its claim
//!   (合并审理) the claim's agreement counts too: one agreement settles the merged hearing.
//! - **撤回 (voluntary withdrawal, 办案规则 art. 35)**: the claim and the counterclaim are
//!   withdrawn separately. A claim needs an effective 撤回仲裁申请书 (`withdrawal_claim`) of
//!   this case; a counterclaim needs an effective 撤回仲裁反申请书
//!   (`withdrawal_counterclaim`), drafted on the counterclaim itself or on its claim (the
//!   template is written in the claim's frame, signed by its respondent). A claim's
//!   withdrawal never closes the counterclaim, nor the other way round.
//! - **视为撤回 (deemed withdrawal, art. 39)**: a hearing of the case that opened and
//!   closed, to which the claimant side was summoned (applicant of a claim; the respondent
//!   of the merged hearing for a counterclaim: the counterclaim's own applicant), and at
//!   whose end nobody of that side (party or agent) was in the room *without excuse*:
//!   each of their seats either never came (and the summons was confirmed: the invitation
//!   was opened and the identity check passed, art. 59) or left on purpose
//!   (`hearing.leave`) and was not admitted again before the hearing ended. A dropped
//!   connection (`hearing.connection_lost`, `hearing.did_not_return`) is a network,
//!   device or power failure and is excused (在线诉讼规则 art. 25); so is leaving the
//!   waiting room, which the record cannot tell from a dropped connection, and so is a
//!   party still waiting to be admitted when the hearing ended. The events relied on are
//!   listed in the grounds.
//! - **裁决 (award)**: a hearing of the case that closed, an effective transcript (庭审笔录,
//!   art. 40 of the Law keeps it mandatory) of this case (for a merged counterclaim, of
//!   its claim), and the award's number and date given with the closing.
//! - **不予受理 (rejection)**: a reason on the record.
//!
//! Retention (档案保管期限): each closing method has a period in years (defaults: awards 10,
//! everything else 5; the configuration may lengthen but never shorten them). As archive
//! periods are counted in China, the period starts on 1 January of the year after the case
//! closed (local time): a case closed on 2025-06-01 with a 10-year period is kept until
//! 2036-01-01 00:00 local time.

use super::case_status::ClosingMethod;
use crate::esign::templates::DocKind;
use serde::Serialize;

/// An effective document of the case (or of the claim a merged counterclaim belongs to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocFact {
    pub id: i64,
    pub case_id: i64,
    pub kind: DocKind,
    pub hearing_id: Option<i64>,
}

/// One entry of a hearing's timeline that concerns presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    /// The seat the event is about (`invitation:N`, `user:N`), if any.
    pub seat: Option<String>,
}

/// A seat of the claimant side summoned to a hearing (the party or an agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatFact {
    pub seat: String,
    /// The summons reached them: the invitation's identity check was passed.
    pub notice_confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HearingFact {
    pub id: i64,
    /// The hearing opened and has been closed (`hearings.status = 'closed'`).
    pub closed: bool,
    pub claimant_seats: Vec<SeatFact>,
    /// Presence events of the hearing, in order.
    pub events: Vec<EventFact>,
}

/// Everything the closing rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClosingFacts {
    pub case_id: i64,
    /// The claim this case counterclaims, if it is a counterclaim.
    pub counterclaim_of: Option<i64>,
    pub merged_hearing: bool,
    /// Effective documents of this case and, for a counterclaim, of its claim.
    pub documents: Vec<DocFact>,
    /// Hearings of this case (for a merged counterclaim: its claim's hearings).
    pub hearings: Vec<HearingFact>,
}

/// The award as given with the closing (validated by [`validate_award`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Award {
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// What the closer supplied besides the method.
#[derive(Debug, Clone, Default)]
pub struct ClosingInput<'a> {
    pub reason: Option<&'a str>,
    pub award: Option<&'a Award>,
}

/// One thing a closing method still needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub code: &'static str,
    pub message: String,
}

impl Missing {
    fn new(code: &'static str, zh: &str, en: &str) -> Self {
        Missing {
            code,
            message: format!("{zh} / {en}"),
        }
    }
}

/// What a closing rests on; stored with the closing and in its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Ground {
    Document {
        id: i64,
        kind: &'static str,
        case_id: i64,
    },
    Hearing {
        id: i64,
    },
    /// A presence event relied on for a deemed withdrawal.
    Event {
        id: i64,
        hearing_id: i64,
        kind: String,
        seat: Option<String>,
        at: i64,
    },
    /// A summoned claimant seat with no presence event at all in that hearing.
    NeverJoined {
        hearing_id: i64,
        seat: String,
    },
    Reason {
        text: String,
    },
    Award {
        number: String,
        date: String,
    },
}

/// Whether `facts` let the case close by `method`: the grounds, or everything missing.
pub fn check(
    method: ClosingMethod,
    facts: &ClosingFacts,
    input: &ClosingInput<'_>,
) -> Result<Vec<Ground>, Vec<Missing>> {
    match method {
        ClosingMethod::Mediation => mediation(facts),
        ClosingMethod::Withdrawal => withdrawal(facts),
        ClosingMethod::DeemedWithdrawal => deemed_withdrawal(facts),
        ClosingMethod::Award => award(facts, input.award),
        ClosingMethod::Rejection => rejection(input.reason),
    }
}

/// The missing items as one message, for a refusal.
pub fn describe(method: ClosingMethod, missing: &[Missing]) -> String {
    let items: Vec<&str> = missing.iter().map(|m| m.message.as_str()).collect();
    format!(
        "以「{}」结案尚缺 / closing by {method} still needs: {}",
        method_label_zh(method),
        items.join("；")
    )
}

pub fn method_label_zh(m: ClosingMethod) -> &'static str {
    match m {
        ClosingMethod::Mediation => "调解",
        ClosingMethod::Award => "裁决",
        ClosingMethod::Withdrawal => "撤回申请",
        ClosingMethod::DeemedWithdrawal => "视为撤回",
        ClosingMethod::Rejection => "不予受理",
    }
}

fn doc_ground(d: &DocFact) -> Ground {
    Ground::Document {
        id: d.id,
        kind: d.kind.as_str(),
        case_id: d.case_id,
    }
}

/// The claim's documents count for a counterclaim heard together with it.
fn covers(facts: &ClosingFacts, d: &DocFact) -> bool {
    d.case_id == facts.case_id || (facts.merged_hearing && facts.counterclaim_of == Some(d.case_id))
}

fn mediation(facts: &ClosingFacts) -> Result<Vec<Ground>, Vec<Missing>> {
    match facts
        .documents
        .iter()
        .find(|d| d.kind == DocKind::MediationAgreement && covers(facts, d))
    {
        Some(d) => Ok(vec![doc_ground(d)]),
        None => Err(vec![Missing::new(
            "mediation_agreement",
            "已生效的调解协议书（双方及调解员签署并加盖印章）",
            "an effective mediation agreement (signed by both parties and the mediator, sealed)",
        )]),
    }
}

fn withdrawal(facts: &ClosingFacts) -> Result<Vec<Ground>, Vec<Missing>> {
    let found = match facts.counterclaim_of {
        None => facts
            .documents
            .iter()
            .find(|d| d.kind == DocKind::WithdrawalClaim && d.case_id == facts.case_id),
        Some(claim) => facts.documents.iter().find(|d| {
            d.kind == DocKind::WithdrawalCounterclaim
                && (d.case_id == facts.case_id || d.case_id == claim)
        }),
    };
    match (found, facts.counterclaim_of) {
        (Some(d), _) => Ok(vec![doc_ground(d)]),
        (None, None) => Err(vec![Missing::new(
            "withdrawal_claim",
            "申请人签署并已生效的撤回仲裁申请书",
            "an effective withdrawal of the claim signed by the applicant",
        )]),
        (None, Some(_)) => Err(vec![Missing::new(
            "withdrawal_counterclaim",
            "反申请人签署并已生效的撤回仲裁反申请书",
            "an effective withdrawal of the counterclaim signed by the counterclaimant",
        )]),
    }
}

/// How a claimant seat stood when the hearing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SeatEnd {
    /// No presence event at all.
    NeverCame,
    /// In the room (admitted, joined or rejoined).
    Present,
    /// Waiting to be admitted.
    Waiting,
    /// Left on purpose: the `hearing.leave` event.
    LeftOnPurpose(EventFact),
    /// Gone for a reason that excuses them (network, the waiting room).
    Excused(EventFact),
}

fn seat_end(events: &[EventFact], seat: &str) -> SeatEnd {
    let mut state = SeatEnd::NeverCame;
    for e in events {
        if e.kind == "hearing.ended" {
            break;
        }
        if e.seat.as_deref() != Some(seat) {
            continue;
        }
        state = match e.kind.as_str() {
            "hearing.join" | "hearing.rejoin" | "hearing.admit" => SeatEnd::Present,
            "hearing.waiting_room" => SeatEnd::Waiting,
            "hearing.leave" => SeatEnd::LeftOnPurpose(e.clone()),
            "hearing.connection_lost" | "hearing.did_not_return" | "hearing.left_waiting_room" => {
                SeatEnd::Excused(e.clone())
            }
            _ => state,
        };
    }
    state
}

/// The grounds one hearing gives for a deemed withdrawal, or why it gives none.
fn absent_without_excuse(h: &HearingFact) -> Result<Vec<Ground>, String> {
    if !h.closed {
        return Err(format!(
            "第{}号庭审尚未闭庭 / hearing {} has not closed",
            h.id, h.id
        ));
    }
    if h.claimant_seats.is_empty() {
        return Err(format!(
            "第{}号庭审未通知申请方到庭 / the claimant side was not summoned to hearing {}",
            h.id, h.id
        ));
    }
    let mut grounds = vec![Ground::Hearing { id: h.id }];
    for s in &h.claimant_seats {
        match seat_end(&h.events, &s.seat) {
            SeatEnd::NeverCame if s.notice_confirmed => grounds.push(Ground::NeverJoined {
                hearing_id: h.id,
                seat: s.seat.clone(),
            }),
            SeatEnd::NeverCame => {
                return Err(format!(
                    "第{}号庭审：{} 未到庭，但开庭通知未经确认收悉 / hearing {}: {} never came, but the summons was never confirmed as received",
                    h.id, s.seat, h.id, s.seat
                ));
            }
            SeatEnd::LeftOnPurpose(e) => grounds.push(Ground::Event {
                id: e.id,
                hearing_id: h.id,
                kind: e.kind,
                seat: e.seat,
                at: e.at,
            }),
            SeatEnd::Present | SeatEnd::Waiting => {
                return Err(format!(
                    "第{}号庭审：{} 在闭庭时仍在场或在候审 / hearing {}: {} was still present or waiting when it ended",
                    h.id, s.seat, h.id, s.seat
                ));
            }
            SeatEnd::Excused(e) => {
                return Err(format!(
                    "第{}号庭审：{} 因网络或设备原因离开（{}），不视为撤回 / hearing {}: {} dropped out ({}), which is excused",
                    h.id, s.seat, e.kind, h.id, s.seat, e.kind
                ));
            }
        }
    }
    if let Some(end) = h.events.iter().find(|e| e.kind == "hearing.ended") {
        grounds.push(Ground::Event {
            id: end.id,
            hearing_id: h.id,
            kind: end.kind.clone(),
            seat: None,
            at: end.at,
        });
    }
    Ok(grounds)
}

fn deemed_withdrawal(facts: &ClosingFacts) -> Result<Vec<Ground>, Vec<Missing>> {
    let mut reasons = Vec::new();
    for h in &facts.hearings {
        match absent_without_excuse(h) {
            Ok(g) => return Ok(g),
            Err(r) => reasons.push(r),
        }
    }
    let mut missing = vec![Missing::new(
        "unexcused_absence",
        "一次已闭庭的庭审，申请方经通知无正当理由拒不到庭或未经许可中途退庭，且闭庭前未返回",
        "a closed hearing the claimant side was summoned to and either never joined or left on purpose without returning before it ended",
    )];
    for r in reasons {
        missing.push(Missing {
            code: "hearing_record",
            message: r,
        });
    }
    Err(missing)
}

fn award(facts: &ClosingFacts, given: Option<&Award>) -> Result<Vec<Ground>, Vec<Missing>> {
    let mut grounds = Vec::new();
    let mut missing = Vec::new();
    match facts.hearings.iter().find(|h| h.closed) {
        Some(h) => grounds.push(Ground::Hearing { id: h.id }),
        None => missing.push(Missing::new(
            "closed_hearing",
            "一次已闭庭的庭审",
            "a hearing that has closed",
        )),
    }
    match facts
        .documents
        .iter()
        .find(|d| d.kind == DocKind::Transcript && covers(facts, d))
    {
        Some(d) => grounds.push(doc_ground(d)),
        None => missing.push(Missing::new(
            "transcript",
            "已生效的庭审笔录（当事人、仲裁员、书记员签署）",
            "an effective hearing transcript (signed by the parties, arbitrator and clerk)",
        )),
    }
    match given {
        Some(a) => grounds.push(Ground::Award {
            number: a.number.clone(),
            date: a.date.clone(),
        }),
        None => missing.push(Missing::new(
            "award_details",
            "裁决书文号及裁决日期（award.number、award.date）",
            "the award's number and date (award.number, award.date)",
        )),
    }
    if missing.is_empty() {
        Ok(grounds)
    } else {
        Err(missing)
    }
}

fn rejection(reason: Option<&str>) -> Result<Vec<Ground>, Vec<Missing>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Ok(vec![Ground::Reason {
            text: r.to_string(),
        }]),
        None => Err(vec![Missing::new(
            "reason",
            "不予受理的理由",
            "the reason for the rejection",
        )]),
    }
}

/// Check the award details a closer typed: a number of 1–60 characters without control
/// characters and a real calendar date `YYYY-MM-DD` not after `today` (local).
pub fn validate_award(number: &str, date: &str, today: chrono::NaiveDate) -> Result<Award, String> {
    let number = number.trim();
    if number.is_empty() || number.chars().count() > 60 {
        return Err(
            "裁决书文号须为1至60个字符 / the award number must have 1 to 60 characters".into(),
        );
    }
    if number.chars().any(char::is_control) {
        return Err("裁决书文号含有控制字符 / the award number contains control characters".into());
    }
    let d = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| date.trim().len() == 10)
        .ok_or_else(|| {
            "裁决日期应为 YYYY-MM-DD 格式的有效日期 / the award date must be a valid YYYY-MM-DD date"
                .to_string()
        })?;
    if d > today {
        return Err("裁决日期不能晚于今天 / the award date cannot be in the future".into());
    }
    Ok(Award {
        number: number.to_string(),
        date: d.format("%Y-%m-%d").to_string(),
    })
}

// ------------------------------------------------------------------ retention

/// Retention periods in years per closing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    pub award_years: u32,
    pub mediation_years: u32,
    pub withdrawal_years: u32,
    pub deemed_withdrawal_years: u32,
    pub rejection_years: u32,
}

/// The statutory floors (and defaults): awards 10 years, everything else 5.
pub const AWARD_MIN_YEARS: u32 = 10;
pub const OTHER_MIN_YEARS: u32 = 5;
pub const MAX_YEARS: u32 = 200;

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            award_years: AWARD_MIN_YEARS,
            mediation_years: OTHER_MIN_YEARS,
            withdrawal_years: OTHER_MIN_YEARS,
            deemed_withdrawal_years: OTHER_MIN_YEARS,
            rejection_years: OTHER_MIN_YEARS,
        }
    }
}

impl RetentionPolicy {
    pub fn years(&self, method: ClosingMethod) -> u32 {
        match method {
            ClosingMethod::Award => self.award_years,
            ClosingMethod::Mediation => self.mediation_years,
            ClosingMethod::Withdrawal => self.withdrawal_years,
            ClosingMethod::DeemedWithdrawal => self.deemed_withdrawal_years,
            ClosingMethod::Rejection => self.rejection_years,
        }
    }

    /// Refuse periods below the statutory floors (or absurdly long ones).
    pub fn validate(&self) -> Result<(), String> {
        for m in ClosingMethod::ALL {
            let floor = if *m == ClosingMethod::Award {
                AWARD_MIN_YEARS
            } else {
                OTHER_MIN_YEARS
            };
            let y = self.years(*m);
            if y < floor || y > MAX_YEARS {
                return Err(format!(
                    "retention for {m} must be between {floor} and {MAX_YEARS} years, got {y}"
                ));
            }
        }
        Ok(())
    }
}

/// Until when a case closed at `closed_at` by `method` must be kept: 1 January (local
/// midnight) of the year `closing year + 1 + period`.
pub fn retain_until(
    closed_at: i64,
    method: ClosingMethod,
    policy: &RetentionPolicy,
    utc_offset_hours: i32,
) -> i64 {
    use chrono::{Datelike, TimeZone};
    let local = crate::time::local(closed_at, utc_offset_hours);
    let year = local.year() + 1 + policy.years(method).min(MAX_YEARS) as i32;
    local
        .timezone()
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .map(|d| d.timestamp_millis())
        // Unreachable for real dates; never earlier than the period in plain days.
        .unwrap_or(
            closed_at
                .saturating_add(i64::from(policy.years(method) + 1) * 366 * crate::time::DAY_MS),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: i64 = 10;
    const CLAIM: i64 = 9;

    fn doc(id: i64, case_id: i64, kind: DocKind) -> DocFact {
        DocFact {
            id,
            case_id,
            kind,
            hearing_id: None,
        }
    }

    fn main_case(documents: Vec<DocFact>, hearings: Vec<HearingFact>) -> ClosingFacts {
        ClosingFacts {
            case_id: CASE,
            counterclaim_of: None,
            merged_hearing: false,
            documents,
            hearings,
        }
    }

    fn counterclaim(documents: Vec<DocFact>, merged: bool) -> ClosingFacts {
        ClosingFacts {
            case_id: CASE,
            counterclaim_of: Some(CLAIM),
            merged_hearing: merged,
            documents,
            hearings: vec![],
        }
    }

    fn ev(id: i64, kind: &str, seat: Option<&str>) -> EventFact {
        EventFact {
            id,
            at: id * 1000,
            kind: kind.into(),
            seat: seat.map(str::to_string),
        }
    }

    fn seat(s: &str, confirmed: bool) -> SeatFact {
        SeatFact {
            seat: s.into(),
            notice_confirmed: confirmed,
        }
    }

    fn hearing(closed: bool, seats: Vec<SeatFact>, events: Vec<EventFact>) -> HearingFact {
        HearingFact {
            id: 7,
            closed,
            claimant_seats: seats,
            events,
        }
    }

    fn none() -> ClosingInput<'static> {
        ClosingInput::default()
    }

    fn codes(r: Result<Vec<Ground>, Vec<Missing>>) -> Vec<&'static str> {
        r.unwrap_err().iter().map(|m| m.code).collect()
    }

    #[test]
    fn mediation_needs_an_effective_agreement_of_the_case_or_the_merged_claim() {
        use ClosingMethod::Mediation;
        assert_eq!(
            codes(check(Mediation, &main_case(vec![], vec![]), &none())),
            ["mediation_agreement"]
        );
        // A withdrawal is not an agreement.
        let f = main_case(vec![doc(1, CASE, DocKind::WithdrawalClaim)], vec![]);
        assert!(check(Mediation, &f, &none()).is_err());
        let f = main_case(vec![doc(1, CASE, DocKind::MediationAgreement)], vec![]);
        assert_eq!(
            check(Mediation, &f, &none()).unwrap(),
            vec![Ground::Document {
                id: 1,
                kind: "mediation_agreement",
                case_id: CASE
            }]
        );
        // The claim's agreement settles a merged counterclaim, not a separate one.
        let claims = vec![doc(2, CLAIM, DocKind::MediationAgreement)];
        assert!(check(Mediation, &counterclaim(claims.clone(), true), &none()).is_ok());
        assert!(check(Mediation, &counterclaim(claims, false), &none()).is_err());
        // Another case's agreement does not count for a claim.
        let f = main_case(vec![doc(3, 99, DocKind::MediationAgreement)], vec![]);
        assert!(check(Mediation, &f, &none()).is_err());
    }

    #[test]
    fn claim_and_counterclaim_are_withdrawn_separately() {
        use ClosingMethod::Withdrawal;
        let both = vec![
            doc(1, CASE, DocKind::WithdrawalCounterclaim),
            doc(2, CLAIM, DocKind::WithdrawalClaim),
        ];
        // The main case needs the claim's withdrawal; a counterclaim's does not close it.
        assert_eq!(
            codes(check(
                Withdrawal,
                &main_case(vec![doc(1, CASE, DocKind::WithdrawalCounterclaim)], vec![]),
                &none()
            )),
            ["withdrawal_claim"]
        );
        assert!(
            check(
                Withdrawal,
                &main_case(vec![doc(2, CASE, DocKind::WithdrawalClaim)], vec![]),
                &none()
            )
            .is_ok()
        );
        // The counterclaim needs the counterclaim's withdrawal, on itself or on its claim.
        assert!(check(Withdrawal, &counterclaim(both, true), &none()).is_ok());
        assert!(
            check(
                Withdrawal,
                &counterclaim(vec![doc(5, CLAIM, DocKind::WithdrawalCounterclaim)], true),
                &none()
            )
            .is_ok()
        );
        assert_eq!(
            codes(check(
                Withdrawal,
                &counterclaim(vec![doc(2, CLAIM, DocKind::WithdrawalClaim)], true),
                &none()
            )),
            ["withdrawal_counterclaim"]
        );
    }

    const APPLICANT: &str = "invitation:1";
    const AGENT: &str = "invitation:2";

    fn deemed(h: HearingFact) -> Result<Vec<Ground>, Vec<Missing>> {
        check(
            ClosingMethod::DeemedWithdrawal,
            &main_case(vec![], vec![h]),
            &none(),
        )
    }

    #[test]
    fn deemed_withdrawal_when_the_claimant_left_on_purpose_and_did_not_return() {
        let events = vec![
            ev(1, "hearing.waiting_room", Some(APPLICANT)),
            ev(2, "hearing.admit", Some(APPLICANT)),
            ev(3, "hearing.phase", None),
            ev(4, "hearing.leave", Some(APPLICANT)),
            ev(5, "hearing.warn", Some(APPLICANT)),
            ev(6, "hearing.ended", None),
        ];
        let g = deemed(hearing(true, vec![seat(APPLICANT, true)], events.clone())).unwrap();
        assert_eq!(
            g,
            vec![
                Ground::Hearing { id: 7 },
                Ground::Event {
                    id: 4,
                    hearing_id: 7,
                    kind: "hearing.leave".into(),
                    seat: Some(APPLICANT.into()),
                    at: 4000
                },
                Ground::Event {
                    id: 6,
                    hearing_id: 7,
                    kind: "hearing.ended".into(),
                    seat: None,
                    at: 6000
                },
            ]
        );
        // Not while the hearing is still going.
        assert!(deemed(hearing(false, vec![seat(APPLICANT, true)], events.clone())).is_err());
        // Came back and was admitted again before the end: no.
        let mut back = events.clone();
        back.insert(4, ev(41, "hearing.waiting_room", Some(APPLICANT)));
        back.insert(5, ev(42, "hearing.admit", Some(APPLICANT)));
        assert!(deemed(hearing(true, vec![seat(APPLICANT, true)], back)).is_err());
        // Returning after the hearing ended does not undo it.
        let mut late = events.clone();
        late.push(ev(7, "hearing.rejoin", Some(APPLICANT)));
        assert!(deemed(hearing(true, vec![seat(APPLICANT, true)], late)).is_ok());
        // Their agent stayed: the side was present.
        let mut with_agent = events.clone();
        with_agent.insert(2, ev(21, "hearing.admit", Some(AGENT)));
        assert!(
            deemed(hearing(
                true,
                vec![seat(APPLICANT, true), seat(AGENT, true)],
                with_agent
            ))
            .is_err()
        );
    }

    #[test]
    fn a_dropped_connection_is_excused() {
        for excuse in [
            vec!["hearing.connection_lost"],
            vec!["hearing.connection_lost", "hearing.did_not_return"],
        ] {
            let mut events = vec![
                ev(1, "hearing.waiting_room", Some(APPLICANT)),
                ev(2, "hearing.admit", Some(APPLICANT)),
            ];
            for (i, k) in excuse.iter().enumerate() {
                events.push(ev(3 + i as i64, k, Some(APPLICANT)));
            }
            events.push(ev(9, "hearing.ended", None));
            let m = deemed(hearing(true, vec![seat(APPLICANT, true)], events)).unwrap_err();
            assert_eq!(m[0].code, "unexcused_absence");
            assert!(m[1].message.contains("excused"), "{m:?}");
        }
        // Leaving the waiting room may be a dropped connection too.
        let events = vec![
            ev(1, "hearing.waiting_room", Some(APPLICANT)),
            ev(2, "hearing.left_waiting_room", Some(APPLICANT)),
            ev(3, "hearing.ended", None),
        ];
        assert!(deemed(hearing(true, vec![seat(APPLICANT, true)], events)).is_err());
        // Still waiting for admission when the hearing ended: not their fault.
        let events = vec![
            ev(1, "hearing.waiting_room", Some(APPLICANT)),
            ev(2, "hearing.ended", None),
        ];
        assert!(deemed(hearing(true, vec![seat(APPLICANT, true)], events)).is_err());
    }

    #[test]
    fn never_joining_counts_only_with_a_confirmed_summons() {
        let events = vec![
            ev(1, "hearing.join", Some("user:3")),
            ev(2, "hearing.ended", None),
        ];
        let g = deemed(hearing(true, vec![seat(APPLICANT, true)], events.clone())).unwrap();
        assert!(g.contains(&Ground::NeverJoined {
            hearing_id: 7,
            seat: APPLICANT.into()
        }));
        let m = deemed(hearing(true, vec![seat(APPLICANT, false)], events.clone())).unwrap_err();
        assert!(m[1].message.contains("summons"), "{m:?}");
        // Nobody of the claimant side was summoned at all.
        assert!(deemed(hearing(true, vec![], events)).is_err());
        // No hearing at all.
        let m = check(
            ClosingMethod::DeemedWithdrawal,
            &main_case(vec![], vec![]),
            &none(),
        )
        .unwrap_err();
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn award_needs_a_closed_hearing_a_transcript_and_its_number() {
        use ClosingMethod::Award as A;
        let a = Award {
            number: "穗劳人仲案〔2025〕3号".into(),
            date: "2025-06-01".into(),
        };
        let with = ClosingInput {
            reason: None,
            award: Some(&a),
        };
        assert_eq!(
            codes(check(A, &main_case(vec![], vec![]), &none())),
            ["closed_hearing", "transcript", "award_details"]
        );
        let closed = hearing(true, vec![], vec![]);
        let transcript = doc(4, CASE, DocKind::Transcript);
        assert_eq!(
            codes(check(
                A,
                &main_case(
                    vec![transcript.clone()],
                    vec![hearing(false, vec![], vec![])]
                ),
                &with
            )),
            ["closed_hearing"]
        );
        assert_eq!(
            codes(check(A, &main_case(vec![], vec![closed.clone()]), &with)),
            ["transcript"]
        );
        let g = check(
            A,
            &main_case(vec![transcript.clone()], vec![closed.clone()]),
            &with,
        )
        .unwrap();
        assert_eq!(g.len(), 3);
        assert!(g.contains(&Ground::Award {
            number: a.number.clone(),
            date: a.date.clone()
        }));
        // A merged counterclaim is decided on the claim's hearing and transcript.
        let mut f = counterclaim(vec![doc(4, CLAIM, DocKind::Transcript)], true);
        f.hearings = vec![closed];
        assert!(check(A, &f, &with).is_ok());
    }

    #[test]
    fn rejection_needs_a_reason() {
        use ClosingMethod::Rejection;
        let f = main_case(vec![], vec![]);
        assert_eq!(codes(check(Rejection, &f, &none())), ["reason"]);
        let blank = ClosingInput {
            reason: Some("  "),
            award: None,
        };
        assert!(check(Rejection, &f, &blank).is_err());
        let r = ClosingInput {
            reason: Some("不属于劳动争议"),
            award: None,
        };
        assert!(check(Rejection, &f, &r).is_ok());
        let msg = describe(Rejection, &check(Rejection, &f, &none()).unwrap_err());
        assert!(msg.contains("不予受理") && msg.contains("reason"), "{msg}");
    }

    #[test]
    fn award_details_are_validated() {
        let today = chrono::NaiveDate::from_ymd_opt(2025, 6, 10).unwrap();
        assert!(validate_award("裁字第1号", "2025-06-01", today).is_ok());
        assert_eq!(
            validate_award(" 裁字第1号 ", "2025-06-10", today)
                .unwrap()
                .number,
            "裁字第1号"
        );
        assert!(validate_award("", "2025-06-01", today).is_err());
        assert!(validate_award("a\u{0}b", "2025-06-01", today).is_err());
        assert!(validate_award(&"号".repeat(61), "2025-06-01", today).is_err());
        for bad in [
            "2025-02-30",
            "2025-6-1",
            "20250601",
            "tomorrow",
            "",
            "2025-06-11",
        ] {
            assert!(validate_award("裁字第1号", bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn retention_starts_the_year_after_closing() {
        let p = RetentionPolicy::default();
        // 2025-06-01 12:00 in China.
        let closed = chrono::DateTime::parse_from_rfc3339("2025-06-01T04:00:00Z")
            .unwrap()
            .timestamp_millis();
        let until = |y: &str| {
            chrono::DateTime::parse_from_rfc3339(y)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            retain_until(closed, ClosingMethod::Award, &p, 8),
            until("2036-01-01T00:00:00+08:00")
        );
        for m in [
            ClosingMethod::Mediation,
            ClosingMethod::Withdrawal,
            ClosingMethod::DeemedWithdrawal,
            ClosingMethod::Rejection,
        ] {
            assert_eq!(
                retain_until(closed, m, &p, 8),
                until("2031-01-01T00:00:00+08:00")
            );
        }
        // New Year's Eve 20:00 UTC is already the next year in China.
        let nye = until("2025-12-31T20:00:00Z");
        assert_eq!(
            retain_until(nye, ClosingMethod::Rejection, &p, 8),
            until("2032-01-01T00:00:00+08:00")
        );
        let longer = RetentionPolicy {
            mediation_years: 30,
            ..p
        };
        assert_eq!(
            retain_until(closed, ClosingMethod::Mediation, &longer, 8),
            until("2056-01-01T00:00:00+08:00")
        );
    }

    #[test]
    fn retention_cannot_go_below_the_floors() {
        assert!(RetentionPolicy::default().validate().is_ok());
        let p = RetentionPolicy::default();
        assert!(
            RetentionPolicy {
                award_years: 9,
                ..p
            }
            .validate()
            .is_err()
        );
        assert!(
            RetentionPolicy {
                rejection_years: 4,
                ..p
            }
            .validate()
            .is_err()
        );
        assert!(
            RetentionPolicy {
                award_years: 30,
                withdrawal_years: 10,
                ..p
            }
            .validate()
            .is_ok()
        );
    }
}
