//! What the chair and the other staff may do in the room, as values. A command is the
//! same whether it arrives over the room's WebSocket or `POST /api/hearings/<id>/control`,
//! so both paths share one parser and one permission table. The table follows how a
//! tribunal works: the chair (首席仲裁员) directs the hearing; the clerk (书记员) checks
//! attendance and keeps order; the mediator runs back-to-back mediation; parties only
//! raise a hand or ask the clerk for help.

use crate::domain::roles::Side;
use crate::hearing::phase::Phase;
use crate::media::signaling::MediaKind;
use serde::{Deserialize, Serialize};

pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlCommand {
    Admit {
        seat: String,
    },
    Deny {
        seat: String,
        reason: String,
    },
    Reverify {
        seat: String,
    },
    Mute {
        seat: String,
        kind: MediaKind,
        muted: bool,
    },
    MuteParties {
        kind: MediaKind,
    },
    Remove {
        seat: String,
        reason: String,
    },
    Lock {
        locked: bool,
    },
    CallWitness {
        seat: String,
    },
    DismissWitness {
        seat: String,
    },
    Pause {
        reason: String,
    },
    Resume,
    Phase {
        phase: Phase,
        #[serde(default)]
        reason: Option<String>,
    },
    End {
        #[serde(default)]
        reason: Option<String>,
    },
    CaucusOpen {
        side: Side,
    },
    CaucusClose,
    Warn {
        seat: String,
        note: String,
    },
    ShowExhibit {
        exhibit_id: i64,
    },
    HideExhibit,
}

impl ControlCommand {
    /// The audit/record name of the action.
    pub fn action(&self) -> &'static str {
        use ControlCommand as C;
        match self {
            C::Admit { .. } => "admit",
            C::Deny { .. } => "deny",
            C::Reverify { .. } => "reverify",
            C::Mute { .. } => "mute",
            C::MuteParties { .. } => "mute_parties",
            C::Remove { .. } => "remove",
            C::Lock { .. } => "lock",
            C::CallWitness { .. } => "call_witness",
            C::DismissWitness { .. } => "dismiss_witness",
            C::Pause { .. } => "pause",
            C::Resume => "resume",
            C::Phase { .. } => "phase",
            C::End { .. } => "end",
            C::CaucusOpen { .. } => "caucus_open",
            C::CaucusClose => "caucus_close",
            C::Warn { .. } => "warn",
            C::ShowExhibit { .. } => "show_exhibit",
            C::HideExhibit => "hide_exhibit",
        }
    }

    /// Shape checks that need no state: reasons present and bounded, seat keys sane.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        use ControlCommand as C;
        let text_ok = |s: &str| {
            !s.trim().is_empty() && s.chars().count() <= MAX_REASON_CHARS && !s.contains('\0')
        };
        let seat_ok =
            |s: &str| s.len() <= 64 && (s.starts_with("user:") || s.starts_with("invitation:"));
        match self {
            C::Admit { seat }
            | C::Reverify { seat }
            | C::Mute { seat, .. }
            | C::CallWitness { seat }
            | C::DismissWitness { seat }
                if !seat_ok(seat) =>
            {
                Err(("unknown_seat", "没有这个席位 / no such seat".into()))
            }
            C::Deny { seat, reason: text }
            | C::Remove { seat, reason: text }
            | C::Warn { seat, note: text } => {
                if !seat_ok(seat) {
                    Err(("unknown_seat", "没有这个席位 / no such seat".into()))
                } else if !text_ok(text) {
                    Err((
                        "reason_required",
                        format!(
                            "须填写理由（不超过 {MAX_REASON_CHARS} 字） / a reason (at most {MAX_REASON_CHARS} characters) is required"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
            C::Pause { reason } if !text_ok(reason) => Err((
                "reason_required",
                "休庭须说明理由 / a pause needs a reason".into(),
            )),
            C::Phase {
                reason: Some(r), ..
            }
            | C::End { reason: Some(r) }
                if r.chars().count() > MAX_REASON_CHARS =>
            {
                Err(("reason_required", "理由过长 / reason too long".into()))
            }
            _ => Ok(()),
        }
    }
}

/// May a seat with `role` give `cmd`? Deny by default: parties and observers give none.
pub fn allowed(role: &str, cmd: &ControlCommand) -> bool {
    use ControlCommand as C;
    let chair = role == "presiding_arbitrator";
    let clerk = role == "clerk";
    let arbitrator = role == "arbitrator";
    let mediator = role == "mediator";
    match cmd {
        C::Admit { .. } | C::Deny { .. } | C::Reverify { .. } => chair || arbitrator || clerk,
        C::Mute { .. } | C::MuteParties { .. } | C::Warn { .. } => chair || clerk,
        C::CaucusOpen { .. } | C::CaucusClose => chair || mediator,
        C::Remove { .. }
        | C::Lock { .. }
        | C::CallWitness { .. }
        | C::DismissWitness { .. }
        | C::Pause { .. }
        | C::Resume
        | C::Phase { .. }
        | C::End { .. }
        | C::ShowExhibit { .. }
        | C::HideExhibit => chair,
    }
}

/// Roles a chair's "mute all parties" reaches.
pub fn is_party_role(role: &str) -> bool {
    matches!(role, "applicant" | "respondent" | "agent" | "witness")
}

pub fn is_staff_role(role: &str) -> bool {
    matches!(
        role,
        "presiding_arbitrator" | "arbitrator" | "clerk" | "mediator" | "admin"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ControlCommand {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse(r#"{"do":"admit","seat":"invitation:3"}"#),
            ControlCommand::Admit {
                seat: "invitation:3".into()
            }
        );
        assert_eq!(
            parse(r#"{"do":"phase","phase":"debate","reason":"补充"}"#),
            ControlCommand::Phase {
                phase: Phase::Debate,
                reason: Some("补充".into())
            }
        );
        assert_eq!(
            parse(r#"{"do":"caucus_open","side":"respondent"}"#),
            ControlCommand::CaucusOpen {
                side: Side::Respondent
            }
        );
        assert!(
            serde_json::from_str::<ControlCommand>(r#"{"do":"admit","seat":"x","extra":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<ControlCommand>(r#"{"do":"become_chair"}"#).is_err());
    }

    #[test]
    fn reasons_are_required_where_the_rules_need_them() {
        let deny = ControlCommand::Deny {
            seat: "invitation:1".into(),
            reason: "  ".into(),
        };
        assert_eq!(deny.validate().unwrap_err().0, "reason_required");
        let remove = ControlCommand::Remove {
            seat: "nobody".into(),
            reason: "扰乱庭审秩序".into(),
        };
        assert_eq!(remove.validate().unwrap_err().0, "unknown_seat");
        let pause = ControlCommand::Pause { reason: "".into() };
        assert_eq!(pause.validate().unwrap_err().0, "reason_required");
        assert!(ControlCommand::Resume.validate().is_ok());
    }

    #[test]
    fn parties_and_observers_may_do_nothing() {
        let all = [
            parse(r#"{"do":"admit","seat":"invitation:3"}"#),
            parse(r#"{"do":"lock","locked":true}"#),
            parse(r#"{"do":"phase","phase":"opening"}"#),
            parse(r#"{"do":"caucus_open","side":"applicant"}"#),
            parse(r#"{"do":"mute_parties","kind":"audio"}"#),
            parse(r#"{"do":"resume"}"#),
        ];
        for role in [
            "applicant",
            "respondent",
            "agent",
            "witness",
            "observer",
            "admin",
            "",
        ] {
            for cmd in &all {
                assert!(!allowed(role, cmd), "{role} may not {}", cmd.action());
            }
        }
        for cmd in &all {
            assert!(allowed("presiding_arbitrator", cmd));
        }
    }

    #[test]
    fn staff_roles_split_the_work() {
        let admit = parse(r#"{"do":"admit","seat":"invitation:3"}"#);
        let phase = parse(r#"{"do":"phase","phase":"opening"}"#);
        let caucus = parse(r#"{"do":"caucus_open","side":"applicant"}"#);
        assert!(allowed("clerk", &admit) && allowed("arbitrator", &admit));
        assert!(!allowed("mediator", &admit));
        assert!(!allowed("clerk", &phase) && !allowed("arbitrator", &phase));
        assert!(allowed("mediator", &caucus) && !allowed("clerk", &caucus));
    }
}
