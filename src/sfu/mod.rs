//! The hearing room's media server (SFU). Event loops, one per core, each own the sans-IO
//! `rtc` peer connections of a share of the hearings and a socket on the one media port
//! ([`shards`]); the WebSocket handlers talk to them through [`Sfu`] with commands,
//! routed by hearing or participant, and they answer with signaling messages on each
//! participant's channel. Decisions per packet (header rewrite, layers, keyframes,
//! throttling) come from [`crate::media`].
//!
//! The `rtc` write path still allocates per packet; see the issue 3 notes in
//! docs/performance.md.

pub mod batch_send;
pub mod demux;
pub mod event_loop;
pub mod participant;
pub mod peer_connection;
pub mod published_track;
pub mod recorder;
pub mod shards;
pub mod stats;
pub mod subscribed_track;
pub mod tcp;
pub mod udp_port;

use crate::media::signaling::{ClientMessage, IceServer, ServerMessage};
use anyhow::{Context, Result};
use participant::Seat;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
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
    /// One command channel per event loop.
    loops: std::sync::Arc<[mpsc::Sender<Command>]>,
    counters: std::sync::Arc<shards::LoopCounters>,
    /// The address the sockets are bound to.
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
    /// Event loops (threads), each owning a share of the hearings.
    pub shards: usize,
}

impl Sfu {
    pub async fn start(config: SfuConfig) -> Result<Sfu> {
        let shards = config.shards.max(1);
        let sockets = udp_port::bind(&config.bind, shards)
            .with_context(|| format!("binding media UDP {}", config.bind))?;
        let local_addr = sockets[0].local_addr()?;
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
        let mut tcp_senders = Vec::with_capacity(shards);
        let mut tcp_receivers = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (tx, rx) = mpsc::channel(4096);
            tcp_senders.push(tx);
            tcp_receivers.push(rx);
        }
        let tcp_candidate = match &config.tcp_bind {
            Some(bind) => {
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("binding media TCP {bind}"))?;
                let port = listener.local_addr()?.port();
                tokio::spawn(tcp::accept(listener, tcp_senders));
                Some(SocketAddr::new(ip, port))
            }
            None => None,
        };
        let router = shards::Router::default();
        let counters = std::sync::Arc::new(shards::LoopCounters::default());
        let (inboxes, inbox_rxs): (Vec<_>, Vec<_>) =
            (0..shards).map(|_| mpsc::channel(4096)).unzip();
        let mut loops = Vec::with_capacity(shards);
        for (index, ((socket, tcp_rx), inbox)) in sockets
            .into_iter()
            .zip(tcp_receivers)
            .zip(inbox_rxs)
            .enumerate()
        {
            let (commands, rx) = mpsc::channel(1024);
            loops.push(commands);
            let link = event_loop::ShardLink {
                index,
                router: router.clone(),
                inboxes: inboxes.clone(),
                counters: counters.clone(),
            };
            let (ice_servers, grace, pps, recordings) = (
                config.ice_servers.clone(),
                config.reconnect_grace,
                config.max_packets_per_second,
                config.recordings.clone(),
            );
            // Each loop is a thread with its own single-threaded runtime: its hearings'
            // packets stay on one core and never wait behind HTTP work.
            std::thread::Builder::new()
                .name(format!("yunting-media-{index}"))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            tracing::error!(error = %e, "media event loop runtime");
                            return;
                        }
                    };
                    rt.block_on(async move {
                        let socket = match tokio::net::UdpSocket::from_std(socket) {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::error!(error = %e, "media socket");
                                return;
                            }
                        };
                        let lp = event_loop::EventLoop::new(
                            link,
                            socket,
                            candidate,
                            ice_servers,
                            grace,
                            pps,
                            tcp_candidate,
                            recordings,
                        );
                        lp.run(rx, tcp_rx, inbox).await;
                    });
                })
                .context("starting a media event loop")?;
        }
        tracing::info!("media on udp://{local_addr} (candidate {candidate}), {shards} event loops");
        Ok(Sfu {
            loops: loops.into(),
            counters,
            local_addr,
            candidate,
        })
    }

    fn for_hearing(&self, hearing: i64) -> &mpsc::Sender<Command> {
        &self.loops[shards::shard_of_hearing(hearing, self.loops.len())]
    }

    fn for_participant(&self, participant: u64) -> &mpsc::Sender<Command> {
        &self.loops[shards::shard_of_participant(participant, self.loops.len())]
    }

    /// How the event loops share the work and send, for `/metrics`.
    pub fn loop_metrics(&self) -> String {
        self.counters.prometheus(self.loops.len())
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
        self.for_hearing(hearing)
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
            .for_participant(participant)
            .send(Command::Signal { participant, msg })
            .await;
    }

    pub async fn stats(&self, hearing: Option<i64>) -> Vec<stats::ParticipantStats> {
        let targets: Vec<&mpsc::Sender<Command>> = match hearing {
            Some(h) => vec![self.for_hearing(h)],
            None => self.loops.iter().collect(),
        };
        let mut all = Vec::new();
        for commands in targets {
            let (reply, rx) = oneshot::channel();
            if commands
                .send(Command::Stats { hearing, reply })
                .await
                .is_ok()
            {
                all.extend(rx.await.unwrap_or_default());
            }
        }
        all.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
        all
    }

    /// Close a hearing's recording (after its last packet); its directory, if it recorded.
    pub async fn close_recording(&self, hearing: i64) -> Option<std::path::PathBuf> {
        let (done, rx) = oneshot::channel();
        self.for_hearing(hearing)
            .send(Command::CloseRecording { hearing, done })
            .await
            .ok()?;
        rx.await.ok().flatten()
    }

    pub async fn control(&self, participant: u64, control: MediaControl) {
        let _ = self
            .for_participant(participant)
            .send(Command::Control {
                participant,
                control,
            })
            .await;
    }

    pub async fn remove(&self, participant: u64, reason: crate::media::signaling::LeftReason) {
        let _ = self
            .for_participant(participant)
            .send(Command::Remove {
                participant,
                reason,
            })
            .await;
    }

    pub async fn disconnected(&self, participant: u64) {
        let _ = self
            .for_participant(participant)
            .send(Command::Disconnected { participant })
            .await;
    }
}
