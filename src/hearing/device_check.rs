//! The verdict of a party's device and network check before joining, in plain words.
//! Thresholds: Opus speech needs ~40 kbit/s each way; one 360p video stream up and a few
//! down need ~300/500 kbit/s; beyond ~500 ms round trip a conversation becomes hard, and
//! beyond 1.5 s it breaks down. A party without a working microphone cannot take part.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCheck {
    pub camera: bool,
    pub microphone: bool,
    pub rtt_ms: u32,
    pub down_kbps: u32,
    pub up_kbps: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Good,
    AudioOnly,
    CannotJoin,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::AudioOnly => "audio_only",
            Verdict::CannotJoin => "cannot_join",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Good, Verdict::AudioOnly, Verdict::CannotJoin]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

pub fn verdict(c: &DeviceCheck) -> Verdict {
    if !c.microphone || c.rtt_ms > 1500 || c.up_kbps < 40 || c.down_kbps < 40 {
        Verdict::CannotJoin
    } else if !c.camera || c.rtt_ms > 500 || c.up_kbps < 300 || c.down_kbps < 500 {
        Verdict::AudioOnly
    } else {
        Verdict::Good
    }
}

/// What the party is told, in Chinese first.
pub fn message(c: &DeviceCheck) -> String {
    match verdict(c) {
        Verdict::Good => "设备和网络良好，可以视频出庭。 / Good: you can join with video.".into(),
        Verdict::AudioOnly if !c.camera => {
            "摄像头不可用，建议仅用语音出庭。 / Camera unavailable: audio only is advised.".into()
        }
        Verdict::AudioOnly => {
            "网络较慢，建议仅用语音出庭。 / Slow network: audio only is advised.".into()
        }
        Verdict::CannotJoin if !c.microphone => {
            "麦克风不可用，无法出庭。请检查麦克风权限后重试。 / No microphone: you cannot join. Check microphone permission and try again.".into()
        }
        Verdict::CannotJoin => {
            "网络太差，无法出庭。请换到信号更好的地方或连接 Wi-Fi 后重试。 / The network is too poor to join. Move to a better signal or Wi-Fi and try again.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: DeviceCheck = DeviceCheck {
        camera: true,
        microphone: true,
        rtt_ms: 80,
        down_kbps: 4000,
        up_kbps: 1500,
    };

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&GOOD), Verdict::Good);
        assert_eq!(
            verdict(&DeviceCheck {
                camera: false,
                ..GOOD
            }),
            Verdict::AudioOnly
        );
        assert_eq!(
            verdict(&DeviceCheck {
                up_kbps: 200,
                ..GOOD
            }),
            Verdict::AudioOnly
        );
        assert_eq!(
            verdict(&DeviceCheck {
                rtt_ms: 700,
                ..GOOD
            }),
            Verdict::AudioOnly
        );
        assert_eq!(
            verdict(&DeviceCheck {
                microphone: false,
                ..GOOD
            }),
            Verdict::CannotJoin
        );
        assert_eq!(
            verdict(&DeviceCheck {
                rtt_ms: 2000,
                ..GOOD
            }),
            Verdict::CannotJoin
        );
        assert_eq!(
            verdict(&DeviceCheck {
                down_kbps: 20,
                ..GOOD
            }),
            Verdict::CannotJoin
        );
        assert!(
            message(&DeviceCheck {
                microphone: false,
                ..GOOD
            })
            .contains("麦克风")
        );
        assert_eq!(Verdict::parse("audio_only"), Some(Verdict::AudioOnly));
    }
}
