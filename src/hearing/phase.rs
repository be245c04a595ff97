//! The phases of a hearing (办案规则 art. 41 practice). The chair moves forward one phase
//! at a time; skipping ahead (e.g. no mediation because a party refuses it) or going back
//! needs a reason on the record. 闭庭 is final.

use crate::domain::roles::str_enum;

str_enum! {
    Phase {
        CheckAttendance = "check_attendance",
        AnnounceDiscipline = "announce_discipline",
        Opening = "opening",
        ClaimsAndDefence = "claims_and_defence",
        Investigation = "investigation",
        Debate = "debate",
        FinalStatements = "final_statements",
        Mediation = "mediation",
        Closed = "closed",
    }
}

impl Phase {
    /// Moving into this phase opens the hearing proper (after attendance and discipline);
    /// a simplified-procedure hearing needs the parties' signed confirmation for that.
    pub fn opens_hearing(self) -> bool {
        !matches!(
            self,
            Phase::CheckAttendance | Phase::AnnounceDiscipline | Phase::Closed
        )
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Phase::CheckAttendance => "核对出庭人员",
            Phase::AnnounceDiscipline => "宣布庭审纪律",
            Phase::Opening => "宣布开庭（告知权利义务、询问回避）",
            Phase::ClaimsAndDefence => "申诉答辩",
            Phase::Investigation => "庭审调查与质证",
            Phase::Debate => "庭审辩论",
            Phase::FinalStatements => "最后陈述",
            Phase::Mediation => "当庭调解",
            Phase::Closed => "闭庭",
        }
    }

    fn index(self) -> usize {
        Phase::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Phase> {
        Phase::ALL.get(self.index() + 1).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseError {
    /// Already closed: nothing follows.
    HearingClosed,
    /// Same phase.
    NoChange,
    /// Skipping ahead or going back needs a reason.
    ReasonRequired { from: Phase, to: Phase },
}

impl std::fmt::Display for PhaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhaseError::HearingClosed => write!(f, "已闭庭 / the hearing is closed"),
            PhaseError::NoChange => write!(f, "已在该阶段 / already in that phase"),
            PhaseError::ReasonRequired { from, to } => write!(
                f,
                "从「{}」到「{}」须说明理由 / moving from {from} to {to} needs a reason",
                from.label_zh(),
                to.label_zh()
            ),
        }
    }
}

/// How a phase change is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseMove {
    Forward,
    SkipAhead,
    Back,
}

/// Decide a phase change. Pure: the caller stores it with a server timestamp.
pub fn change(from: Phase, to: Phase, reason: Option<&str>) -> Result<PhaseMove, PhaseError> {
    if from == Phase::Closed {
        return Err(PhaseError::HearingClosed);
    }
    if from == to {
        return Err(PhaseError::NoChange);
    }
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    if from.next() == Some(to) {
        return Ok(PhaseMove::Forward);
    }
    if !has_reason {
        return Err(PhaseError::ReasonRequired { from, to });
    }
    Ok(if to.index() > from.index() {
        PhaseMove::SkipAhead
    } else {
        PhaseMove::Back
    })
}

#[cfg(test)]
mod tests {
    use super::Phase::*;
    use super::*;

    #[test]
    fn forward_one_step_at_a_time_through_all_phases() {
        let mut p = CheckAttendance;
        let mut steps = 0;
        while let Some(n) = p.next() {
            assert_eq!(change(p, n, None), Ok(PhaseMove::Forward));
            p = n;
            steps += 1;
        }
        assert_eq!((p, steps), (Closed, 8));
    }

    #[test]
    fn skipping_and_going_back_need_reasons() {
        assert_eq!(
            change(Opening, Debate, None),
            Err(PhaseError::ReasonRequired {
                from: Opening,
                to: Debate
            })
        );
        assert_eq!(
            change(FinalStatements, Closed, Some("被申请人不同意调解")),
            Ok(PhaseMove::SkipAhead)
        );
        assert_eq!(
            change(Debate, Investigation, Some(" ")),
            Err(PhaseError::ReasonRequired {
                from: Debate,
                to: Investigation
            })
        );
        assert_eq!(
            change(Debate, Investigation, Some("补充质证")),
            Ok(PhaseMove::Back)
        );
    }

    #[test]
    fn closed_is_final() {
        assert_eq!(
            change(Closed, Mediation, Some("x")),
            Err(PhaseError::HearingClosed)
        );
        assert_eq!(change(Debate, Debate, Some("x")), Err(PhaseError::NoChange));
    }
}
