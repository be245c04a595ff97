//! Which simulcast layer a subscriber gets. Audio is budgeted first; video gets what is
//! left, never more than the size the subscriber shows it at, and pauses when even the
//! lowest layer does not fit. Going up needs headroom (so a fluctuating estimate does not
//! flap between layers); going down is immediate. A switch takes effect only at a keyframe
//! of the new layer, until which the old layer keeps flowing.

/// One published simulcast layer as currently measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerInfo {
    /// Measured bitrate; 0 when the layer is not being received.
    pub bitrate_bps: u32,
    pub height: u16,
}

/// What the subscriber can take and wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriberBudget {
    /// Estimated available bandwidth towards the subscriber (TWCC / receiver reports).
    pub available_bps: u32,
    /// Reserved for the audio tracks it receives.
    pub audio_bps: u32,
    /// Height at which it displays this video (0: not shown).
    pub display_height: u16,
    /// The participant chose audio-only.
    pub audio_only: bool,
}

/// Upgrading needs this much more bandwidth than the layer's bitrate (per mille).
pub const UPGRADE_HEADROOM_PERMILLE: u64 = 1_150;

/// The best layer index (0 = lowest) for this budget, `None` to pause video.
pub fn target_layer(
    layers: &[LayerInfo],
    budget: &SubscriberBudget,
    current: Option<usize>,
) -> Option<usize> {
    if budget.audio_only || budget.display_height == 0 {
        return None;
    }
    let video_bps = u64::from(budget.available_bps.saturating_sub(budget.audio_bps));
    // No point sending more pixels than shown: the smallest active layer at least as tall
    // as the tile, or the tallest there is.
    let active: Vec<usize> = (0..layers.len())
        .filter(|&i| layers[i].bitrate_bps > 0)
        .collect();
    let cap = active
        .iter()
        .copied()
        .find(|&i| layers[i].height >= budget.display_height)
        .or(active.last().copied())?;
    active
        .iter()
        .copied()
        .filter(|&i| i <= cap)
        .rev()
        .find(|&i| {
            let need = u64::from(layers[i].bitrate_bps);
            let need = if current.is_some_and(|c| i > c) {
                need * UPGRADE_HEADROOM_PERMILLE / 1000
            } else {
                need
            };
            need <= video_bps
        })
}

/// Forwarding state for one subscriber and one simulcast publication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerSwitch {
    /// The layer being forwarded now.
    pub current: Option<usize>,
    /// The layer wanted; differs from `current` until its next keyframe.
    pub target: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    Yes,
    No,
}

impl LayerSwitch {
    /// Set a new target; returns true when a keyframe must be requested on it.
    pub fn retarget(&mut self, target: Option<usize>) -> bool {
        self.target = target;
        if target.is_none() {
            // Pausing needs no keyframe: stop at once (audio keeps flowing).
            self.current = None;
            return false;
        }
        target != self.current
    }

    /// A packet of `layer` arrived; forward it to this subscriber?
    ///
    /// With nothing flowing yet (a new subscriber, a resumed video), a keyframe of any
    /// layer up to the target starts it: a picture now, at a lower size, beats waiting on
    /// a layer the browser may be starving of bandwidth. The switch up follows at the
    /// target's own keyframe.
    pub fn on_packet(&mut self, layer: usize, starts_keyframe: bool) -> Forward {
        if starts_keyframe && self.current != Some(layer) {
            let to_target = self.target == Some(layer);
            let first_picture = self.current.is_none() && self.target.is_some_and(|t| layer < t);
            if to_target || first_picture {
                self.current = Some(layer);
            }
        }
        if self.current == Some(layer) {
            Forward::Yes
        } else {
            Forward::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers() -> [LayerInfo; 3] {
        [
            LayerInfo {
                bitrate_bps: 150_000,
                height: 180,
            },
            LayerInfo {
                bitrate_bps: 500_000,
                height: 360,
            },
            LayerInfo {
                bitrate_bps: 1_500_000,
                height: 720,
            },
        ]
    }

    fn budget(available: u32, height: u16) -> SubscriberBudget {
        SubscriberBudget {
            available_bps: available,
            audio_bps: 64_000,
            display_height: height,
            audio_only: false,
        }
    }

    #[test]
    fn picks_by_bandwidth_and_display_size() {
        assert_eq!(
            target_layer(&layers(), &budget(5_000_000, 720), None),
            Some(2)
        );
        // A small tile never gets the top layer, however fast the network.
        assert_eq!(
            target_layer(&layers(), &budget(5_000_000, 200), None),
            Some(1)
        );
        assert_eq!(
            target_layer(&layers(), &budget(700_000, 720), None),
            Some(1)
        );
        assert_eq!(
            target_layer(&layers(), &budget(300_000, 720), None),
            Some(0)
        );
    }

    #[test]
    fn audio_first_then_pause_video() {
        // 200 kbps total: 64 k audio leaves 136 k, below the lowest layer: video pauses.
        assert_eq!(target_layer(&layers(), &budget(200_000, 720), None), None);
        let mut b = budget(5_000_000, 720);
        b.audio_only = true;
        assert_eq!(target_layer(&layers(), &b, Some(2)), None);
    }

    #[test]
    fn upgrades_need_headroom_downgrades_do_not() {
        // Exactly enough for layer 1 (500 k + 64 k audio): held when already on it...
        assert_eq!(
            target_layer(&layers(), &budget(564_000, 720), Some(1)),
            Some(1)
        );
        // ...but not reached from below without 15 % headroom.
        assert_eq!(
            target_layer(&layers(), &budget(564_000, 720), Some(0)),
            Some(0)
        );
        assert_eq!(
            target_layer(&layers(), &budget(64_000 + 575_000, 720), Some(0)),
            Some(1)
        );
    }

    #[test]
    fn inactive_layers_are_skipped() {
        let mut l = layers();
        l[1].bitrate_bps = 0;
        assert_eq!(target_layer(&l, &budget(1_000_000, 360), None), Some(0));
    }

    #[test]
    fn switches_only_on_keyframes() {
        let mut s = LayerSwitch::default();
        assert!(s.retarget(Some(0)));
        assert_eq!(s.on_packet(0, false), Forward::No); // waiting for a keyframe
        assert_eq!(s.on_packet(0, true), Forward::Yes);
        assert_eq!(s.on_packet(1, false), Forward::No);
        assert!(s.retarget(Some(1)));
        assert_eq!(s.on_packet(1, false), Forward::No);
        assert_eq!(s.on_packet(0, false), Forward::Yes); // old layer until the switch
        assert_eq!(s.on_packet(1, true), Forward::Yes);
        assert_eq!(s.on_packet(0, false), Forward::No);
        assert!(!s.retarget(None));
        assert_eq!(s.on_packet(1, true), Forward::No);
    }

    #[test]
    fn nothing_flowing_starts_on_the_first_keyframe_at_or_below_the_target() {
        let mut s = LayerSwitch::default();
        s.retarget(Some(2));
        // The top layer is starved; the middle one's keyframe comes first and starts it.
        assert_eq!(s.on_packet(1, true), Forward::Yes);
        assert_eq!(s.on_packet(1, false), Forward::Yes);
        // A later keyframe of a still lower layer does not pull it down...
        assert_eq!(s.on_packet(0, true), Forward::No);
        // ...and the target's keyframe lifts it.
        assert_eq!(s.on_packet(2, true), Forward::Yes);
        assert_eq!(s.on_packet(1, false), Forward::No);
        // Never above the target: with the target at 0 a layer-1 keyframe does nothing.
        let mut s = LayerSwitch::default();
        s.retarget(Some(0));
        assert_eq!(s.on_packet(1, true), Forward::No);
        assert_eq!(s.on_packet(0, true), Forward::Yes);
    }
}
