//! Who may receive whose media, beyond "everyone in the same hearing". Kept apart from
//! the forwarding loop so the procedure's guarantees are testable without sockets:
//! a side room (背对背调解) is a separate group, so neither side hears or sees the other;
//! a chair's mute drops the participant's packets at the server, whatever their client
//! does; an observer sends nothing.

use super::signaling::MediaKind;

/// The main hearing room.
pub const MAIN_ROOM: u32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Route {
    /// Which room within the hearing: [`MAIN_ROOM`] or a side room.
    pub group: u32,
    pub chair_muted_audio: bool,
    pub chair_muted_video: bool,
    /// Observers: what they send is never forwarded.
    pub receive_only: bool,
    /// The commission records side rooms (default: no).
    pub side_room_recorded: bool,
}

impl Route {
    /// Is this publisher's media of `kind` forwarded to anyone at all?
    pub fn publishes(&self, kind: MediaKind) -> bool {
        !self.receive_only
            && match kind {
                MediaKind::Audio => !self.chair_muted_audio,
                MediaKind::Video => !self.chair_muted_video,
            }
    }
}

impl Route {
    /// Is this publisher's media of `kind` recorded? What is heard in the main room is;
    /// a side room only if the commission says so; muted or observer media never.
    pub fn recorded(&self, kind: MediaKind) -> bool {
        self.publishes(kind) && (self.group == MAIN_ROOM || self.side_room_recorded)
    }
}

/// Does a packet of `kind` from `publisher` reach a subscriber in `subscriber_group`?
pub fn forwards(publisher: &Route, subscriber_group: u32, kind: MediaKind) -> bool {
    publisher.group == subscriber_group && publisher.publishes(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaKind::*;

    #[test]
    fn side_rooms_are_isolated_both_ways() {
        let main = Route::default();
        let side = Route {
            group: 1,
            ..Route::default()
        };
        for kind in [Audio, Video] {
            assert!(forwards(&main, MAIN_ROOM, kind));
            assert!(!forwards(&main, 1, kind));
            assert!(!forwards(&side, MAIN_ROOM, kind));
            assert!(forwards(&side, 1, kind));
        }
    }

    #[test]
    fn side_rooms_are_recorded_only_when_the_commission_says_so() {
        let side = Route {
            group: 1,
            ..Route::default()
        };
        assert!(Route::default().recorded(Audio));
        assert!(!side.recorded(Audio));
        let recorded = Route {
            side_room_recorded: true,
            ..side
        };
        assert!(recorded.recorded(Video));
        let muted = Route {
            chair_muted_audio: true,
            ..Route::default()
        };
        assert!(!muted.recorded(Audio));
    }

    #[test]
    fn chair_mute_and_observers() {
        let muted = Route {
            chair_muted_audio: true,
            ..Route::default()
        };
        assert!(!forwards(&muted, MAIN_ROOM, Audio));
        assert!(forwards(&muted, MAIN_ROOM, Video));
        let observer = Route {
            receive_only: true,
            ..Route::default()
        };
        assert!(!forwards(&observer, MAIN_ROOM, Audio));
        assert!(!forwards(&observer, MAIN_ROOM, Video));
    }
}
