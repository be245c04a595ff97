//! Who may do what, decided by plain functions over who is asking and the facts of the
//! case. Deny is the default: a permission exists only where a rule below grants it.
//!
//! - Admin: runs the commission (staff accounts); may read its cases, change none.
//! - Clerk (书记员): manages every case of the commission.
//! - Arbitrator (仲裁员): the cases assigned to them (as the case's arbitrator or presiding
//!   a hearing): read, change procedure and status, invite.
//! - Mediator (调解员): reads the cases whose hearings they mediate.
//! - A party, agent, witness or observer: the one case of their invitation, reduced view.
//! - Anyone of another commission: the case does not exist for them (404).

use crate::domain::roles::{InviteeRole, StaffRole};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    pub user_id: i64,
    pub commission_id: i64,
    pub role: StaffRole,
    pub display_name: String,
}

#[derive(Debug, Clone)]
pub struct PartyPrincipal {
    pub invitation_id: i64,
    pub case_id: i64,
    pub hearing_id: Option<i64>,
    pub commission_id: i64,
    pub role: InviteeRole,
    pub party_id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum Principal {
    /// The server itself (start-up, demo seeding, command-line tools).
    System,
    Staff(StaffPrincipal),
    Party(PartyPrincipal),
}

impl Principal {
    pub fn commission_id(&self) -> Option<i64> {
        match self {
            Principal::System => None,
            Principal::Staff(s) => Some(s.commission_id),
            Principal::Party(p) => Some(p.commission_id),
        }
    }

    /// How the actor is written in the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::System => "system".into(),
            Principal::Staff(s) => format!("user:{}:{}", s.user_id, s.role),
            Principal::Party(p) => format!("invitation:{}:{}", p.invitation_id, p.role),
        }
    }

    pub fn staff(&self) -> Option<&StaffPrincipal> {
        match self {
            Principal::Staff(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_role(&self, role: StaffRole) -> bool {
        self.staff().is_some_and(|s| s.role == role)
    }
}

/// What a case is, as far as access is concerned.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    pub case_id: i64,
    pub commission_id: i64,
    pub arbitrator_id: Option<i64>,
    /// Presiding arbitrators of the case's hearings.
    pub presiding_ids: Vec<i64>,
    pub mediator_ids: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the case (parties get a reduced view).
    Read,
    /// Add parties, agents, claims, counterclaims, hearings.
    Edit,
    /// Change status and procedure.
    Transition,
    /// Create and revoke invitations.
    Invite,
    /// Read the case's audit trail.
    Audit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAccess {
    /// Not of this commission: answer 404, as if it did not exist.
    Hidden,
    /// Visible to the commission but not to this person: 403.
    Denied,
    Granted(Vec<Permission>),
}

impl CaseAccess {
    pub fn allows(&self, p: Permission) -> bool {
        matches!(self, CaseAccess::Granted(ps) if ps.contains(&p))
    }
}

pub fn case_access(who: &Principal, case: &CaseFacts) -> CaseAccess {
    use Permission::*;
    match who {
        Principal::System => CaseAccess::Granted(vec![Read, Edit, Transition, Invite, Audit]),
        Principal::Party(p) => {
            if p.commission_id != case.commission_id {
                CaseAccess::Hidden
            } else if p.case_id == case.case_id {
                CaseAccess::Granted(vec![Read])
            } else {
                CaseAccess::Denied
            }
        }
        Principal::Staff(s) => {
            if s.commission_id != case.commission_id {
                return CaseAccess::Hidden;
            }
            match s.role {
                StaffRole::Clerk => {
                    CaseAccess::Granted(vec![Read, Edit, Transition, Invite, Audit])
                }
                StaffRole::Admin => CaseAccess::Granted(vec![Read, Audit]),
                StaffRole::Arbitrator => {
                    if case.arbitrator_id == Some(s.user_id)
                        || case.presiding_ids.contains(&s.user_id)
                    {
                        CaseAccess::Granted(vec![Read, Transition, Invite])
                    } else {
                        CaseAccess::Denied
                    }
                }
                StaffRole::Mediator => {
                    if case.mediator_ids.contains(&s.user_id) {
                        CaseAccess::Granted(vec![Read])
                    } else {
                        CaseAccess::Denied
                    }
                }
            }
        }
    }
}

/// Commission-level actions that are not about one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommissionAction {
    CreateCase,
    ManageUsers,
    ListStaff,
}

pub fn commission_allows(who: &Principal, action: CommissionAction) -> bool {
    let Some(s) = who.staff() else {
        return matches!(who, Principal::System);
    };
    match action {
        CommissionAction::CreateCase => s.role == StaffRole::Clerk,
        CommissionAction::ManageUsers => s.role == StaffRole::Admin,
        CommissionAction::ListStaff => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: StaffRole, id: i64, commission: i64) -> Principal {
        Principal::Staff(StaffPrincipal {
            user_id: id,
            commission_id: commission,
            role,
            display_name: String::new(),
        })
    }

    fn party(case_id: i64, commission: i64) -> Principal {
        Principal::Party(PartyPrincipal {
            invitation_id: 1,
            case_id,
            hearing_id: None,
            commission_id: commission,
            role: InviteeRole::Applicant,
            party_id: Some(1),
            name: String::new(),
        })
    }

    #[test]
    fn matrix() {
        let case = CaseFacts {
            case_id: 7,
            commission_id: 1,
            arbitrator_id: Some(10),
            presiding_ids: vec![11],
            mediator_ids: vec![12],
        };
        assert!(case_access(&staff(StaffRole::Clerk, 1, 1), &case).allows(Permission::Edit));
        assert!(!case_access(&staff(StaffRole::Admin, 2, 1), &case).allows(Permission::Edit));
        assert!(case_access(&staff(StaffRole::Admin, 2, 1), &case).allows(Permission::Read));
        assert!(
            case_access(&staff(StaffRole::Arbitrator, 10, 1), &case).allows(Permission::Transition)
        );
        assert!(
            case_access(&staff(StaffRole::Arbitrator, 11, 1), &case).allows(Permission::Invite)
        );
        assert_eq!(
            case_access(&staff(StaffRole::Arbitrator, 13, 1), &case),
            CaseAccess::Denied
        );
        assert!(case_access(&staff(StaffRole::Mediator, 12, 1), &case).allows(Permission::Read));
        assert!(!case_access(&staff(StaffRole::Mediator, 12, 1), &case).allows(Permission::Invite));
        assert_eq!(
            case_access(&staff(StaffRole::Mediator, 14, 1), &case),
            CaseAccess::Denied
        );
        assert_eq!(
            case_access(&staff(StaffRole::Clerk, 1, 2), &case),
            CaseAccess::Hidden
        );
        assert_eq!(
            case_access(&party(7, 1), &case),
            CaseAccess::Granted(vec![Permission::Read])
        );
        assert_eq!(case_access(&party(8, 1), &case), CaseAccess::Denied);
        assert_eq!(case_access(&party(7, 2), &case), CaseAccess::Hidden);
    }
}
