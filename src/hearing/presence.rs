//! A participant's presence, with the distinctions the law cares about: *left on purpose*
//! (pressed leave, or removed by the chair), *network lost* (reconnecting, seat kept for a
//! grace period) and *did not return* (grace expired). Each transition carries its time so
//! the record shows exactly when and why someone was absent.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Verified, in the waiting room (候审室).
    Waiting,
    /// In the hearing.
    Present,
    /// Connection lost at `since_ms`; the seat is held.
    Reconnecting { since_ms: u64 },
    /// Pressed leave.
    Left { at_ms: u64 },
    /// Removed by the chair.
    Removed { at_ms: u64 },
    /// Lost the network and did not come back within the grace period.
    DidNotReturn { lost_at_ms: u64, expired_at_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceEvent {
    Admitted,
    ConnectionLost,
    Reconnected,
    Leave,
    Remove,
    /// Periodic check of grace periods.
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceError {
    /// The event makes no sense in this state (e.g. a removed participant reconnecting).
    NotAllowed,
}

pub const DEFAULT_GRACE_MS: u64 = 60_000;

/// Apply an event; `Ok(None)` means nothing changed (e.g. a tick within grace).
pub fn apply(
    state: Presence,
    event: PresenceEvent,
    now_ms: u64,
    grace_ms: u64,
) -> Result<Option<Presence>, PresenceError> {
    use Presence as P;
    use PresenceEvent as E;
    Ok(match (state, event) {
        (P::Waiting, E::Admitted) => Some(P::Present),
        (P::Present, E::ConnectionLost) => Some(P::Reconnecting { since_ms: now_ms }),
        // A reconnect within grace restores the seat; losing the network is not absence.
        (P::Reconnecting { .. }, E::Reconnected) => Some(P::Present),
        (P::Reconnecting { since_ms }, E::Tick) if now_ms.saturating_sub(since_ms) >= grace_ms => {
            Some(P::DidNotReturn {
                lost_at_ms: since_ms,
                expired_at_ms: since_ms + grace_ms,
            })
        }
        (P::Reconnecting { .. }, E::Tick) | (P::Present | P::Waiting, E::Tick) => None,
        (P::Present | P::Reconnecting { .. } | P::Waiting, E::Leave) => {
            Some(P::Left { at_ms: now_ms })
        }
        (P::Present | P::Reconnecting { .. } | P::Waiting, E::Remove) => {
            Some(P::Removed { at_ms: now_ms })
        }
        (P::Waiting, E::ConnectionLost) => Some(P::Waiting),
        (P::Left { .. } | P::Removed { .. } | P::DidNotReturn { .. }, E::Tick) => None,
        _ => return Err(PresenceError::NotAllowed),
    })
}

impl Presence {
    /// What the record calls this state.
    pub fn label(&self) -> &'static str {
        match self {
            Presence::Waiting => "waiting",
            Presence::Present => "present",
            Presence::Reconnecting { .. } => "reconnecting",
            Presence::Left { .. } => "left",
            Presence::Removed { .. } => "removed",
            Presence::DidNotReturn { .. } => "did_not_return",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Presence as P;
    use super::PresenceEvent as E;
    use super::*;

    const G: u64 = DEFAULT_GRACE_MS;

    #[test]
    fn network_loss_within_grace_is_not_absence() {
        let s = apply(P::Waiting, E::Admitted, 0, G).unwrap().unwrap();
        let s = apply(s, E::ConnectionLost, 1_000, G).unwrap().unwrap();
        assert_eq!(s, P::Reconnecting { since_ms: 1_000 });
        assert_eq!(apply(s, E::Tick, 60_999, G).unwrap(), None);
        assert_eq!(
            apply(s, E::Reconnected, 30_000, G).unwrap(),
            Some(P::Present)
        );
    }

    #[test]
    fn grace_expiry_is_did_not_return() {
        let s = P::Reconnecting { since_ms: 1_000 };
        assert_eq!(
            apply(s, E::Tick, 61_000, G).unwrap(),
            Some(P::DidNotReturn {
                lost_at_ms: 1_000,
                expired_at_ms: 61_000
            })
        );
    }

    #[test]
    fn leaving_and_removal_are_on_purpose_and_final() {
        assert_eq!(
            apply(P::Present, E::Leave, 5, G).unwrap(),
            Some(P::Left { at_ms: 5 })
        );
        assert_eq!(
            apply(P::Reconnecting { since_ms: 1 }, E::Remove, 9, G).unwrap(),
            Some(P::Removed { at_ms: 9 })
        );
        assert_eq!(
            apply(P::Removed { at_ms: 9 }, E::Reconnected, 10, G),
            Err(PresenceError::NotAllowed)
        );
        assert_eq!(
            apply(P::Left { at_ms: 5 }, E::Admitted, 10, G),
            Err(PresenceError::NotAllowed)
        );
        assert_eq!(
            apply(P::Waiting, E::Reconnected, 10, G),
            Err(PresenceError::NotAllowed)
        );
    }
}
