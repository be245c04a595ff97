//! The case lifecycle 受理 → 待开庭 → 开庭中 → 已闭庭 → 结案 and which closing methods are
//! possible from where. A rejection (不予受理) only happens before any hearing is set; an
//! award (裁决) needs a hearing that has closed; a hearing in progress must be closed or
//! adjourned before the case can end.

use super::roles::str_enum;

str_enum! {
    CaseStatus { Accepted = "accepted", AwaitingHearing = "awaiting_hearing", InHearing = "in_hearing", HearingClosed = "hearing_closed", Closed = "closed" }
}

str_enum! {
    ClosingMethod { Mediation = "mediation", Award = "award", Withdrawal = "withdrawal", DeemedWithdrawal = "deemed_withdrawal", Rejection = "rejection" }
}

impl CaseStatus {
    pub fn label_zh(self) -> &'static str {
        match self {
            CaseStatus::Accepted => "受理",
            CaseStatus::AwaitingHearing => "待开庭",
            CaseStatus::InHearing => "开庭中",
            CaseStatus::HearingClosed => "已闭庭",
            CaseStatus::Closed => "结案",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// `to` cannot follow `from`.
    Illegal {
        from: CaseStatus,
        to: CaseStatus,
    },
    /// Closing needs a method, and only closing takes one.
    MethodRequired,
    MethodNotAllowed,
    /// This closing method is not possible from this status.
    MethodIllegal {
        from: CaseStatus,
        method: ClosingMethod,
    },
    /// Going back (adjournment) needs a reason on the record.
    ReasonRequired,
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransitionError::Illegal { from, to } => write!(
                f,
                "案件状态不能从「{}」变为「{}」 / a case cannot go from {from} to {to}",
                from.label_zh(),
                to.label_zh()
            ),
            TransitionError::MethodRequired => write!(
                f,
                "结案须注明结案方式 / closing a case needs a closing_method"
            ),
            TransitionError::MethodNotAllowed => write!(
                f,
                "只有结案时才能填写结案方式 / closing_method is only for closing"
            ),
            TransitionError::MethodIllegal { from, method } => write!(
                f,
                "「{}」状态下不能以该方式结案 / cannot close by {method} from {from}",
                from.label_zh()
            ),
            TransitionError::ReasonRequired => write!(f, "须说明理由 / a reason is required"),
        }
    }
}

/// Decide whether a transition is allowed. Pure: the caller applies it.
pub fn check_transition(
    from: CaseStatus,
    to: CaseStatus,
    method: Option<ClosingMethod>,
    reason: Option<&str>,
) -> Result<(), TransitionError> {
    use CaseStatus::*;
    use ClosingMethod::*;
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    if to == Closed {
        let Some(m) = method else {
            return Err(TransitionError::MethodRequired);
        };
        let ok = match from {
            Accepted => matches!(m, Rejection | Withdrawal | Mediation),
            AwaitingHearing => matches!(m, Withdrawal | DeemedWithdrawal | Mediation),
            HearingClosed => matches!(m, Award | Mediation | Withdrawal | DeemedWithdrawal),
            InHearing | Closed => return Err(TransitionError::Illegal { from, to }),
        };
        return if ok {
            Ok(())
        } else {
            Err(TransitionError::MethodIllegal { from, method: m })
        };
    }
    if method.is_some() {
        return Err(TransitionError::MethodNotAllowed);
    }
    match (from, to) {
        (Accepted, AwaitingHearing)
        | (AwaitingHearing, InHearing)
        | (InHearing, HearingClosed)
        | (HearingClosed, AwaitingHearing) => Ok(()),
        (InHearing, AwaitingHearing) => {
            if has_reason {
                Ok(())
            } else {
                Err(TransitionError::ReasonRequired)
            }
        }
        _ => Err(TransitionError::Illegal { from, to }),
    }
}

#[cfg(test)]
mod tests {
    use super::CaseStatus::*;
    use super::ClosingMethod::*;
    use super::*;

    #[test]
    fn the_happy_path() {
        assert!(check_transition(Accepted, AwaitingHearing, None, None).is_ok());
        assert!(check_transition(AwaitingHearing, InHearing, None, None).is_ok());
        assert!(check_transition(InHearing, HearingClosed, None, None).is_ok());
        assert!(check_transition(HearingClosed, Closed, Some(Award), None).is_ok());
    }

    #[test]
    fn out_of_order_is_refused() {
        assert_eq!(
            check_transition(Accepted, InHearing, None, None),
            Err(TransitionError::Illegal {
                from: Accepted,
                to: InHearing
            })
        );
        assert!(check_transition(Closed, AwaitingHearing, None, None).is_err());
        assert!(check_transition(InHearing, Closed, Some(Mediation), None).is_err());
        assert!(check_transition(Accepted, Accepted, None, None).is_err());
    }

    #[test]
    fn closing_methods_depend_on_where_the_case_is() {
        assert!(check_transition(Accepted, Closed, Some(Rejection), None).is_ok());
        assert_eq!(
            check_transition(Accepted, Closed, Some(Award), None),
            Err(TransitionError::MethodIllegal {
                from: Accepted,
                method: Award
            })
        );
        assert!(check_transition(HearingClosed, Closed, Some(Rejection), None).is_err());
        assert_eq!(
            check_transition(HearingClosed, Closed, None, None),
            Err(TransitionError::MethodRequired)
        );
        assert_eq!(
            check_transition(Accepted, AwaitingHearing, Some(Award), None),
            Err(TransitionError::MethodNotAllowed)
        );
    }

    #[test]
    fn adjourning_needs_a_reason() {
        assert_eq!(
            check_transition(InHearing, AwaitingHearing, None, Some("  ")),
            Err(TransitionError::ReasonRequired)
        );
        assert!(check_transition(InHearing, AwaitingHearing, None, Some("申请人网络中断")).is_ok());
    }
}
