//! The hearing room's media server (SFU). One event loop owns every participant's
//! sans-IO `rtc` peer connection and the one UDP socket all media uses; the WebSocket
//! handlers talk to it through [`Sfu`] with commands, and it answers with signaling
//! messages on each participant's channel. Decisions per packet (header rewrite,
//! keyframes, throttling) come from [`crate::media`].
//!
//! Status: one loop (not yet one per core), UDP only (ICE-TCP to come), no simulcast
//! layer switching yet, and the `rtc` write path still allocates per packet; see the
//! issue 3 notes in docs/performance.md.

pub mod batch_send;
pub mod demux;
pub mod event_loop;
pub mod participant;
pub mod peer_connection;
pub mod published_track;
pub mod recorder;
pub mod stats;
pub mod subscribed_track;
pub mod tcp;

use crate::media::signaling::{ClientMessage, IceServer, ServerMessage};
use anyhow::{Context, Result};
use participant::Seat;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

pub enum Command {
    Join {
        hearing: i64,
        case: i64,
        seat: Seat,
        events: mpsc::UnboundedSender<ServerMessage>,
        reply: oneshot::Sender<u64>,
    },
    Signal {
        participant: u64,
        msg: ClientMessage,
    },
    /// The signaling socket closed without `leave`: hold the seat for the grace period.
    Disconnected { participant: u64 },
    /// The procedure changed whom this participant's media reaches (side room, chair
    /// mute, observer).
    Control {
        participant: u64,
        control: MediaControl,
    },
    /// The hearing ended: close its recording; answers with the recording's directory.
    CloseRecording {
        hearing: i64,
        done: oneshot::Sender<Option<std::path::PathBuf>>,
    },
    /// Take a participant out of the room (removed, dismissed witness, hearing ended).
    Remove {
        participant: u64,
        reason: crate::media::signaling::LeftReason,
    },
    /// Counters for one hearing (staff stats page) or all (`None`, for /metrics).
    Stats {
        hearing: Option<i64>,
        reply: oneshot::Sender<Vec<stats::ParticipantStats>>,
    },
}

/// Procedure decisions the media core enforces (see [`crate::media::routing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaControl {
    Group(u32),
    ChairMute {
        kind: crate::media::signaling::MediaKind,
        muted: bool,
    },
    ReceiveOnly,
    /// Whether this participant's side room is recorded.
    SideRoomRecorded(bool),
}

#[derive(Clone)]
pub struct Sfu {
    commands: mpsc::Sender<Command>,
    /// The address the socket is bound to.
    pub local_addr: SocketAddr,
    /// The address advertised to clients as our ICE candidate.
    pub candidate: SocketAddr,
}

pub struct SfuConfig {
    pub bind: String,
    /// The ICE-TCP listener (`None`: UDP only).
    pub tcp_bind: Option<String>,
    pub public_ip: Option<String>,
    pub ice_servers: Vec<IceServer>,
    pub reconnect_grace: Duration,
    /// Flood protection: RTP packets per second one participant may send (and burst).
    pub max_packets_per_second: u32,
    /// Where hearings are recorded (`None`: not recorded, for tools and benchmarks).
    pub recordings: Option<std::path::PathBuf>,
}

impl Sfu {
    pub async fn start(config: SfuConfig) -> Result<Sfu> {
        let socket = UdpSocket::bind(&config.bind)
            .await
            .with_context(|| format!("binding media UDP {}", config.bind))?;
        let local_addr = socket.local_addr()?;
        let ip: IpAddr = match &config.public_ip {
            Some(ip) => ip.parse().context("public_ip")?,
            None if local_addr.ip().is_unspecified() => {
                tracing::warn!(
                    "media socket bound to {local_addr} and no public_ip set: advertising 127.0.0.1, which only local browsers can reach"
                );
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            None => local_addr.ip(),
        };
        let candidate = SocketAddr::new(ip, local_addr.port());
        let (tcp_tx, tcp_rx) = mpsc::channel(4096);
        let tcp_candidate = match &config.tcp_bind {
            Some(bind) => {
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("binding media TCP {bind}"))?;
                let port = listener.local_addr()?.port();
                tokio::spawn(tcp::accept(listener, tcp_tx));
                Some(SocketAddr::new(ip, port))
            }
            None => None,
        };
        let (commands, rx) = mpsc::channel(1024);
        let lp = event_loop::EventLoop::new(
            socket,
            candidate,
            config.ice_servers,
            config.reconnect_grace,
            config.max_packets_per_second,
            tcp_candidate,
            config.recordings,
        );
        tokio::spawn(lp.run(rx, tcp_rx));
        tracing::info!("media on udp://{local_addr} (candidate {candidate})");
        Ok(Sfu {
            commands,
            local_addr,
            candidate,
        })
    }

    /// Take a seat; returns the participant id.
    pub async fn join(
        &self,
        hearing: i64,
        case: i64,
        seat: Seat,
        events: mpsc::UnboundedSender<ServerMessage>,
    ) -> Option<u64> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Join {
                hearing,
                case,
                seat,
                events,
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    pub async fn signal(&self, participant: u64, msg: ClientMessage) {
        let _ = self
            .commands
            .send(Command::Signal { participant, msg })
            .await;
    }

    pub async fn stats(&self, hearing: Option<i64>) -> Vec<stats::ParticipantStats> {
        let (reply, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Stats { hearing, reply })
            .await
            .is_err()
        {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Close a hearing's recording (after its last packet); its directory, if it recorded.
    pub async fn close_recording(&self, hearing: i64) -> Option<std::path::PathBuf> {
        let (done, rx) = oneshot::channel();
        self.commands
            .send(Command::CloseRecording { hearing, done })
            .await
            .ok()?;
        rx.await.ok().flatten()
    }

    pub async fn control(&self, participant: u64, control: MediaControl) {
        let _ = self
            .commands
            .send(Command::Control {
                participant,
                control,
            })
            .await;
    }

    pub async fn remove(&self, participant: u64, reason: crate::media::signaling::LeftReason) {
        let _ = self
            .commands
            .send(Command::Remove {
                participant,
                reason,
            })
            .await;
    }

    pub async fn disconnected(&self, participant: u64) {
        let _ = self
            .commands
            .send(Command::Disconnected { participant })
            .await;
    }
}
