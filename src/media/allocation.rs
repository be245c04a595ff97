//! Sharing one subscriber's bandwidth among the videos it receives. Audio is reserved
//! first, whatever is left: in a hearing, being heard matters more than being seen.
//! Then every shown video gets its lowest layer (the largest tiles first, until the
//! budget runs out: the rest pause), and what remains upgrades the largest tiles first,
//! each never above the size it is shown at. A plain function over numbers, so the
//! policy is tested without a network.

use super::layer_select::{LayerInfo, SubscriberBudget, target_layer};

/// What one audio stream is given before any video.
pub const AUDIO_BPS: u32 = 48_000;

/// One video the subscriber receives.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    /// The publication's layers, lowest first (one for a stream without simulcast).
    pub layers: &'a [LayerInfo],
    /// Height at which the subscriber shows it; 0: not shown.
    pub display_height: u16,
    /// The layer forwarded now.
    pub current: Option<usize>,
}

/// The layer each video should get (`None`: pause it), in `wants` order.
pub fn allocate(
    available_bps: u32,
    audio_streams: usize,
    audio_only: bool,
    wants: &[Want],
) -> Vec<Option<usize>> {
    let mut out = vec![None; wants.len()];
    if audio_only {
        return out;
    }
    let audio = (audio_streams as u64 * u64::from(AUDIO_BPS)).min(u64::from(u32::MAX)) as u32;
    let mut left = u64::from(available_bps.saturating_sub(audio));
    let mut order: Vec<usize> = (0..wants.len())
        .filter(|&i| wants[i].display_height > 0)
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(wants[i].display_height));
    let cost = |w: &Want, l: usize| u64::from(w.layers[l].bitrate_bps);
    // Everyone shown gets its lowest flowing layer, while it fits.
    for &i in &order {
        let w = &wants[i];
        let Some(low) = (0..w.layers.len()).find(|&l| w.layers[l].bitrate_bps > 0) else {
            continue;
        };
        if cost(w, low) <= left {
            left -= cost(w, low);
            out[i] = Some(low);
        }
    }
    // Then upgrades, the largest tiles first.
    for &i in &order {
        let Some(have) = out[i] else { continue };
        let w = &wants[i];
        let budget = SubscriberBudget {
            available_bps: (left + cost(w, have)).min(u64::from(u32::MAX)) as u32,
            audio_bps: 0,
            display_height: w.display_height,
            audio_only: false,
        };
        if let Some(best) = target_layer(w.layers, &budget, w.current)
            && best > have
        {
            left = left + cost(w, have) - cost(w, best);
            out[i] = Some(best);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMULCAST: [LayerInfo; 3] = [
        LayerInfo {
            bitrate_bps: 150_000,
            height: 180,
        },
        LayerInfo {
            bitrate_bps: 500_000,
            height: 360,
        },
        LayerInfo {
            bitrate_bps: 1_200_000,
            height: 720,
        },
    ];

    fn want(height: u16) -> Want<'static> {
        Want {
            layers: &SIMULCAST,
            display_height: height,
            current: None,
        }
    }

    #[test]
    fn plenty_of_bandwidth_gives_each_tile_the_layer_its_size_needs() {
        let got = allocate(8_000_000, 3, false, &[want(720), want(180), want(360)]);
        assert_eq!(got, vec![Some(2), Some(0), Some(1)]);
    }

    #[test]
    fn audio_comes_first_then_every_video_its_lowest_layer_then_the_largest_tiles() {
        // 1 Mbps: 3 audio (144 kbps), 3 × 150 kbps; 406 kbps left lifts the largest tile
        // to the middle layer (150 + 406 ≥ 500) and nobody else.
        let got = allocate(1_000_000, 3, false, &[want(720), want(360), want(360)]);
        assert_eq!(got, vec![Some(1), Some(0), Some(0)]);
        // Already on the lowest layer, going up needs 15 % headroom (575 > 556): it stays,
        // and the next largest tile, choosing afresh, takes the middle layer instead.
        let mut on_low = want(720);
        on_low.current = Some(0);
        let got = allocate(1_000_000, 3, false, &[on_low, want(360), want(360)]);
        assert_eq!(got, vec![Some(0), Some(1), Some(0)]);
        // 1.3 Mbps: the 720 tile, then the 360 tile, to the middle layer; the 240 tile
        // keeps the lowest (6 kbps left).
        let got = allocate(1_300_000, 3, false, &[want(360), want(720), want(240)]);
        assert_eq!(got, vec![Some(1), Some(1), Some(0)]);
    }

    #[test]
    fn congestion_pauses_the_smallest_videos_and_never_audio() {
        // 400 kbps: audio 144 kbps, then one 150 kbps video; the others pause.
        let got = allocate(400_000, 3, false, &[want(180), want(720), want(360)]);
        assert_eq!(got, vec![None, Some(0), None]);
        // Below the audio itself: no video at all.
        assert_eq!(allocate(100_000, 3, false, &[want(720)]), vec![None]);
    }

    #[test]
    fn hidden_tiles_audio_only_and_silent_layers() {
        assert_eq!(allocate(8_000_000, 1, false, &[want(0)]), vec![None]);
        assert_eq!(allocate(8_000_000, 1, true, &[want(720)]), vec![None]);
        // A publisher without simulcast: its one layer, or nothing.
        let single = [LayerInfo {
            bitrate_bps: 1_000_000,
            height: 480,
        }];
        let w = Want {
            layers: &single,
            display_height: 240,
            current: None,
        };
        assert_eq!(allocate(8_000_000, 1, false, &[w]), vec![Some(0)]);
        assert_eq!(allocate(500_000, 1, false, &[w]), vec![None]);
        // The top layer stopped (the browser's uplink is weak): the middle one it is.
        let top_off = [
            SIMULCAST[0],
            SIMULCAST[1],
            LayerInfo {
                bitrate_bps: 0,
                height: 720,
            },
        ];
        let w = Want {
            layers: &top_off,
            display_height: 720,
            current: None,
        };
        assert_eq!(allocate(8_000_000, 1, false, &[w]), vec![Some(1)]);
    }
}
