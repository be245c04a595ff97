//! The loop that drives the peer connections of its hearings: datagrams in, commands
//! from signaling, timers; then events, forwarding and datagrams out. It owns its
//! hearings' state, so nothing is locked and nothing is held across an await except the
//! socket itself. There is one loop per core ([`super::shards`]); the only state they
//! share is the [`Router`] that says which participant a remote address belongs to.

use super::Command;
use super::demux::{Transport, stun_local_ufrag};
use super::participant::{Participant, Seat};
use super::peer_connection;
use super::published_track::{Layer, PublishedTrack, TrackSource};
use super::shards::{Inbound, LoopCounters, ParticipantIds, Router, shard_of_participant};
use super::subscribed_track::SubscribedTrack;
use super::tcp::TcpEvent;
use crate::alloc_count::Mark;
use crate::media::keyframe::starts_keyframe;
use crate::media::signaling::{ClientMessage, IceServer, LeftReason, MediaKind, ServerMessage};
use crate::recording::segment::SenderReportRecord;
use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::{RTCIceConnectionState, RTCPeerConnectionState};
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub struct EventLoop {
    socket: UdpSocket,
    sender: super::batch_send::BatchSender,
    candidate: SocketAddr,
    ice_servers: Vec<IceServer>,
    grace: Duration,
    participants: HashMap<u64, Participant>,
    router: Router,
    ids: ParticipantIds,
    /// Which loop this is, and the inboxes of all of them (by index).
    shard: usize,
    inboxes: Vec<mpsc::Sender<Inbound>>,
    /// What all loops count together (datagrams handed over, sent, sent by GSO).
    counters: std::sync::Arc<LoopCounters>,
    started: Instant,
    /// Connections touched since the last flush: only these are polled, so a packet costs
    /// the same however many people are in other rooms.
    dirty: HashSet<u64>,
    /// Payload copies for the few packets a subscriber needs changed (VP8 ids after a
    /// layer switch) are cut from this one buffer: a refill per [`ARENA_BLOCK`], not an
    /// allocation per packet.
    payload_arena: bytes::BytesMut,
    /// Each received datagram's own buffer (the peer connection takes it) is cut from this
    /// one, the same way.
    receive_arena: BytesMut,
    /// Each connection's next timer, as of its last flush.
    deadlines: HashMap<u64, Instant>,
    /// Some participant needs an offer (set when tracks are added or removed).
    offers_pending: bool,
    next_housekeeping: Instant,
    /// Per-participant RTP packet budget (packets per second, and burst).
    max_pps: u32,
    /// The advertised ICE-TCP passive candidate, if the listener runs.
    tcp_candidate: Option<SocketAddr>,
    tcp_conns: HashMap<SocketAddr, mpsc::UnboundedSender<BytesMut>>,
    next_quality_report: Instant,
    recorders: super::recorder::Recorders,
    next_recording_flush: Instant,
    /// When every subscriber's layers are chosen again.
    next_allocation: Instant,
    /// Sender reports that arrived before their track was opened (the latest per SSRC,
    /// at most [`MAX_PENDING_SRS`] per participant): recorded when the track opens, so
    /// the recording has the NTP ↔ RTP mapping from its first second.
    pending_srs: HashMap<u64, Vec<(u64, SenderReportRecord)>>,
    /// Heap allocations made on the per-packet path (RTP read, forwarding decisions, the
    /// flush that encrypts and sends), not yet added to the shared counters.
    forwarding_allocations: u64,
    /// Lists each pump, timer and flush fills and empties again: kept between rounds so
    /// that, once grown, forwarding allocates nothing for them.
    scratch: Scratch,
}

/// Working lists of one round of the loop, empty between rounds.
#[derive(Default)]
struct Scratch {
    touched: Vec<u64>,
    opened: Vec<(u64, OpenedStream)>,
    media: Vec<(u64, rtc::rtp::Packet)>,
    keyframe_asks: Vec<(u64, u32)>,
    ice_restarted: Vec<(i64, u64)>,
    now_connected: Vec<u64>,
    due: Vec<u64>,
    out: Vec<(SocketAddr, BytesMut)>,
    over_tcp: Vec<(SocketAddr, BytesMut)>,
}

/// How often each hearing's recorded packets go to the writer thread (which writes them
/// out at once): with the loop's 250 ms housekeeping tick, a `kill -9` loses at most
/// about 750 ms of media, within the "at most the last second".
const RECORDING_HANDOVER: Duration = Duration::from_millis(500);

/// Datagrams taken from the socket before each pump and flush, when they are waiting.
const RECV_BATCH: usize = 32;

/// How often each subscriber's layers are chosen again (a changed estimate or view size
/// also triggers it).
const ALLOCATION_INTERVAL: Duration = Duration::from_millis(500);

/// How one loop fits among the others.
pub struct ShardLink {
    pub index: usize,
    pub router: Router,
    /// Every loop's inbox, this one's included.
    pub inboxes: Vec<mpsc::Sender<Inbound>>,
    pub counters: std::sync::Arc<LoopCounters>,
}

/// A stream a publisher opened (its first packet arrived).
struct OpenedStream {
    receiver: rtc::rtp_transceiver::RTCRtpReceiverId,
    ssrc: u32,
    rid: Option<String>,
    mime: String,
    clock_rate: u32,
}

/// Report blocks a participant sent about the streams it receives from us: the loss on
/// the way to it, which drives its bandwidth estimate.
fn on_reception_reports(
    subscribed: &[SubscribedTrack],
    estimate: &mut crate::media::bandwidth::LossBasedEstimate,
    sent: &crate::media::bitrate::BitrateMeter,
    reports: &[ReceptionReport],
    now: Instant,
    now_ms: u64,
) {
    for r in reports {
        if subscribed.iter().any(|t| t.ssrc == r.ssrc) {
            estimate.on_report(r.fraction_lost, now, sent.bps(now_ms));
        }
    }
}

/// Sender reports kept per participant for tracks not yet opened (a publisher has a few
/// streams; more SSRCs than this are not media we will record).
const MAX_PENDING_SRS: usize = 8;

/// Wall-clock microseconds: recordings and hearing events share this clock.
fn wall_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn sdp_error(e: impl std::fmt::Display) -> ServerMessage {
    ServerMessage::Error {
        code: "bad_sdp".into(),
        message: format!("SDP 无法处理 / the SDP could not be used: {e}"),
    }
}

impl EventLoop {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        link: ShardLink,
        socket: UdpSocket,
        candidate: SocketAddr,
        ice_servers: Vec<IceServer>,
        grace: Duration,
        max_pps: u32,
        tcp_candidate: Option<SocketAddr>,
        recordings: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            socket,
            sender: Default::default(),
            candidate,
            ice_servers,
            grace,
            participants: HashMap::new(),
            router: link.router,
            ids: ParticipantIds::new(link.index, link.inboxes.len()),
            shard: link.index,
            inboxes: link.inboxes,
            counters: link.counters,
            started: Instant::now(),
            dirty: HashSet::new(),
            payload_arena: bytes::BytesMut::new(),
            receive_arena: BytesMut::new(),
            deadlines: HashMap::new(),
            offers_pending: false,
            next_housekeeping: Instant::now(),
            max_pps,
            tcp_candidate,
            tcp_conns: HashMap::new(),
            next_quality_report: Instant::now(),
            recorders: super::recorder::Recorders::new(recordings),
            next_recording_flush: Instant::now(),
            next_allocation: Instant::now(),
            pending_srs: HashMap::new(),
            scratch: Scratch::default(),
            forwarding_allocations: 0,
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut tcp: mpsc::Receiver<TcpEvent>,
        mut inbox: mpsc::Receiver<Inbound>,
    ) {
        let mut buf = vec![0u8; 2048];
        let mut allocated = Mark::now();
        loop {
            LoopCounters::add(&self.counters.heap_allocations, allocated.since());
            allocated = Mark::now();
            LoopCounters::add(
                &self.counters.forwarding_heap_allocations,
                std::mem::take(&mut self.forwarding_allocations),
            );
            self.pump();
            self.flush().await;
            let now = Instant::now();
            let deadline = self
                .deadlines
                .values()
                .copied()
                .min()
                .unwrap_or(now + Duration::from_millis(500))
                .min(now + Duration::from_millis(500));
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => {
                        self.on_datagram(&buf[..n], from);
                        // Whatever else is already queued is handled before the next
                        // pump and flush: one poll of each touched connection and one
                        // batched send for the lot, instead of one per datagram.
                        for _ in 1..RECV_BATCH {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, from)) => self.on_datagram(&buf[..n], from),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "media recv"),
                },
                Some(ev) = tcp.recv() => self.on_tcp(ev),
                Some(m) = inbox.recv() => {
                    self.on_inbound(m);
                    for _ in 1..RECV_BATCH {
                        match inbox.try_recv() {
                            Ok(m) => self.on_inbound(m),
                            Err(_) => break,
                        }
                    }
                }
                c = commands.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = tokio::time::sleep_until(deadline.into()) => {}
            }
            self.on_timers();
        }
    }

    fn on_tcp(&mut self, ev: TcpEvent) {
        match ev {
            TcpEvent::Opened { peer, writer } => {
                self.tcp_conns.insert(peer, writer);
            }
            TcpEvent::Packet { peer, data } => self.on_packet(Transport::Tcp, &data, peer),
            TcpEvent::Closed { peer } => {
                self.tcp_conns.remove(&peer);
                self.router.forget(Transport::Tcp, peer);
            }
        }
    }

    fn on_datagram(&mut self, data: &[u8], from: SocketAddr) {
        self.on_packet(Transport::Udp, data, from);
    }

    fn on_packet(&mut self, transport: Transport, data: &[u8], from: SocketAddr) {
        let ufrag = stun_local_ufrag(data);
        let Some(id) = self.router.route(transport, from, ufrag.as_deref()) else {
            return;
        };
        let data = cut_from_arena(&mut self.receive_arena, data);
        let owner = shard_of_participant(id, self.inboxes.len());
        if owner != self.shard {
            // Another loop's participant: the kernel's choice of socket is by address
            // hash, not by hearing. A full inbox drops it, as a full socket buffer would.
            let m = Inbound {
                participant: id,
                transport,
                from,
                data,
            };
            if self.inboxes[owner].try_send(m).is_ok() {
                LoopCounters::add(&self.counters.handed_over, 1);
            }
            return;
        }
        self.on_owned_packet(id, transport, data, from);
    }

    fn on_inbound(&mut self, m: Inbound) {
        self.on_owned_packet(m.participant, m.transport, m.data, m.from);
    }

    fn on_owned_packet(&mut self, id: u64, transport: Transport, data: BytesMut, from: SocketAddr) {
        let (local_addr, transport_protocol) = match (transport, self.tcp_candidate) {
            (Transport::Tcp, Some(tcp)) => (tcp, TransportProtocol::TCP),
            (Transport::Tcp, None) => return,
            (Transport::Udp, _) => (self.candidate, TransportProtocol::UDP),
        };
        let Some(pc) = self.participants.get_mut(&id).and_then(|p| p.pc.as_mut()) else {
            return;
        };
        let msg = TaggedBytesMut {
            now: Instant::now(),
            transport: TransportContext {
                local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol,
            },
            message: data,
        };
        let rtp = is_rtp(&msg.message);
        let read = Mark::now();
        if let Err(e) = pc.handle_read(msg) {
            tracing::debug!(participant = id, error = %e, "media read");
        }
        if rtp {
            self.forwarding_allocations += read.since();
        }
        self.dirty.insert(id);
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        let mut due = std::mem::take(&mut self.scratch.due);
        due.extend(
            self.deadlines
                .iter()
                .filter(|(_, d)| **d <= now)
                .map(|(id, _)| *id),
        );
        for id in due.drain(..) {
            self.deadlines.remove(&id);
            if let Some(pc) = self.participants.get_mut(&id).and_then(|p| p.pc.as_mut()) {
                let _ = pc.handle_timeout(now);
                self.dirty.insert(id);
            }
        }
        self.scratch.due = due;
        if now < self.next_housekeeping {
            return;
        }
        self.next_housekeeping = now + Duration::from_millis(250);
        if now >= self.next_recording_flush {
            self.next_recording_flush = now + RECORDING_HANDOVER;
            self.recorders.flush();
        }
        if now >= self.next_allocation {
            self.next_allocation = now + ALLOCATION_INTERVAL;
            self.allocate_layers();
        }
        if now >= self.next_quality_report {
            self.next_quality_report = now + Duration::from_secs(2);
            self.report_quality(now);
        }
        let expired: Vec<u64> = self
            .participants
            .values()
            .filter(|p| p.reconnecting_until.is_some_and(|u| u <= now))
            .map(|p| p.id)
            .collect();
        for id in expired {
            self.remove(id, LeftReason::Timeout);
        }
    }

    /// Measure each connection (ICE round-trip time, loss reported by the peer's receiver
    /// reports) and tell everyone in the room.
    fn report_quality(&mut self, now: Instant) {
        use rtc::statistics::StatsSelector;
        use rtc::statistics::report::RTCStatsReportEntry;
        let mut reports = Vec::new();
        for p in self.participants.values_mut().filter(|p| p.connected) {
            let Some(pc) = p.pc.as_mut() else { continue };
            let stats = pc.get_stats(now, StatsSelector::None);
            let mut rtt: Option<f64> = None;
            for e in stats.iter() {
                if let RTCStatsReportEntry::IceCandidatePair(c) = e
                    && c.nominated
                    && c.current_round_trip_time > 0.0
                {
                    rtt = Some(rtt.map_or(c.current_round_trip_time, |r: f64| {
                        r.max(c.current_round_trip_time)
                    }))
                }
            }
            p.rtt_ms = rtt.map(|r| (r * 1000.0).round() as u32);
            // From its receiver reports (rtc 0.21 leaves the remote-inbound stats' loss at
            // zero: nothing feeds them).
            p.loss_permille = Some(p.estimate.last_loss_permille.min(1000) as u16);
            let (rtt_ms, loss_permille) = (p.rtt_ms.unwrap_or(0), p.loss_permille.unwrap_or(0));
            reports.push((
                p.hearing,
                ServerMessage::Quality {
                    participant_id: Participant::public_id(p.id),
                    level: crate::media::quality::level(rtt_ms, loss_permille),
                    rtt_ms,
                    loss_permille,
                },
            ));
        }
        for (hearing, msg) in reports {
            for p in self.participants.values().filter(|p| p.hearing == hearing) {
                p.send(msg.clone());
            }
        }
    }

    fn broadcast(&self, hearing: i64, except: u64, msg: &ServerMessage) {
        for p in self
            .participants
            .values()
            .filter(|p| p.hearing == hearing && p.id != except)
        {
            p.send(msg.clone());
        }
    }

    fn on_command(&mut self, cmd: Command) {
        // Commands are rare and may touch anyone: poll everybody once afterwards.
        self.offers_pending = true;
        self.dirty.extend(self.participants.keys().copied());
        match cmd {
            Command::Join {
                hearing,
                case,
                seat,
                events,
                reply,
            } => {
                let id = self.join(hearing, case, seat, events);
                let _ = reply.send(id);
            }
            Command::Signal { participant, msg } => self.on_signal(participant, msg),
            Command::Stats { hearing, reply } => {
                let _ = reply.send(self.stats(hearing));
            }
            Command::Control {
                participant,
                control,
            } => self.on_control(participant, control),
            Command::Remove {
                participant,
                reason,
            } => self.remove(participant, reason),
            Command::CloseRecording { hearing, done } => self.recorders.close(hearing, done),
            Command::Disconnected { participant } => {
                if let Some(p) = self.participants.get_mut(&participant) {
                    p.reconnecting_until = Some(Instant::now() + self.grace);
                    let (hearing, pid) = (p.hearing, Participant::public_id(participant));
                    self.broadcast(
                        hearing,
                        participant,
                        &ServerMessage::ParticipantReconnecting {
                            participant_id: pid,
                        },
                    );
                }
            }
        }
    }

    /// Apply a procedure decision. Media that becomes visible again resumes at a fresh
    /// keyframe, so nobody sees a smeared picture after a side room closes.
    fn on_control(&mut self, id: u64, control: super::MediaControl) {
        use super::MediaControl as C;
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let hearing = p.hearing;
        match control {
            C::Group(g) => p.route.group = g,
            C::ReceiveOnly => p.route.receive_only = true,
            // Only what is recorded changes; nobody sees anything new.
            C::SideRoomRecorded(on) => {
                p.route.side_room_recorded = on;
                return;
            }
            C::ChairMute { kind, muted } => {
                match kind {
                    MediaKind::Audio => p.route.chair_muted_audio = muted,
                    MediaKind::Video => p.route.chair_muted_video = muted,
                }
                let pid = Participant::public_id(id);
                self.broadcast(
                    hearing,
                    id,
                    &ServerMessage::MuteState {
                        participant_id: pid,
                        kind,
                        muted,
                        by_chair: true,
                    },
                );
            }
        }
        self.resume_video_of(hearing, id);
    }

    /// Keyframes for every video `subscriber` is set to receive (its path just came up).
    fn ask_keyframes_for(&mut self, subscriber: u64) {
        let Some(s) = self.participants.get(&subscriber) else {
            return;
        };
        let asks: Vec<(u64, u32, usize)> = s
            .subscribed
            .iter()
            .filter(|t| t.is_video())
            .filter_map(|t| Some((t.publisher, t.key, t.switch.target?)))
            .collect();
        for (publisher, key, layer) in asks {
            self.request_keyframe_for(subscriber, publisher, key, layer);
        }
    }

    /// Every video subscription touching this participant (what it receives and what
    /// the others receive from it) waits for, and asks, a fresh keyframe.
    fn resume_video_of(&mut self, hearing: i64, id: u64) {
        let mut asks = Vec::new();
        for s in self
            .participants
            .values_mut()
            .filter(|s| s.hearing == hearing)
        {
            let sid = s.id;
            for t in s
                .subscribed
                .iter_mut()
                .filter(|t| sid == id || t.publisher == id)
            {
                if let Some(layer) = t.restart() {
                    asks.push((sid, t.publisher, t.key, layer));
                }
            }
        }
        for (subscriber, publisher, key, layer) in asks {
            self.request_keyframe_for(subscriber, publisher, key, layer);
        }
    }

    fn stats(&mut self, hearing: Option<i64>) -> Vec<super::stats::ParticipantStats> {
        use super::stats::{LayerStats, ParticipantStats, TrackStats};
        let now_ms = self.now_ms();
        let kind = |k: MediaKind| {
            if k == MediaKind::Audio {
                "audio"
            } else {
                "video"
            }
            .to_string()
        };
        let out: Vec<ParticipantStats> = self
            .participants
            .values()
            .filter(|p| hearing.is_none_or(|h| h == p.hearing))
            .map(|p| ParticipantStats {
                participant_id: Participant::public_id(p.id),
                hearing_id: p.hearing,
                name: p.seat.name.clone(),
                role: p.seat.role.clone(),
                connected: p.connected,
                reconnecting: p.reconnecting_until.is_some(),
                dropped_packets: p.dropped_packets,
                rtt_ms: p.rtt_ms,
                loss_permille: p.loss_permille,
                estimate_bps: p.estimate.bps(),
                sending_bps: p.sent.bps(now_ms),
                audio_only: p.audio_only,
                published: p
                    .published
                    .iter()
                    .map(|t| TrackStats {
                        track_id: t.id.clone(),
                        kind: kind(t.kind),
                        codec: t.mime.clone(),
                        packets: t.packets,
                        bytes: t.bytes,
                        bitrate_bps: t.layers.iter().map(|l| l.bitrate.bps(now_ms)).sum(),
                        publisher: None,
                        layers: if t.simulcast() {
                            t.layers
                                .iter()
                                .map(|l| LayerStats {
                                    rid: l.rid.clone().unwrap_or_default(),
                                    bitrate_bps: l.bitrate.bps(now_ms),
                                    height: l.height,
                                })
                                .collect()
                        } else {
                            Vec::new()
                        },
                        layer: None,
                        target_layer: None,
                        display_height: None,
                    })
                    .collect(),
                subscribed: p
                    .subscribed
                    .iter()
                    .map(|t| TrackStats {
                        track_id: t.published_track.clone(),
                        kind: kind(t.kind),
                        codec: t.mime.to_ascii_lowercase(),
                        packets: t.packets,
                        bytes: t.bytes,
                        bitrate_bps: t.bitrate.bps(now_ms),
                        publisher: Some(Participant::public_id(t.publisher)),
                        layers: Vec::new(),
                        layer: t.is_video().then_some(t.switch.current).flatten(),
                        target_layer: t.is_video().then_some(t.switch.target).flatten(),
                        display_height: t.is_video().then_some(t.display_height),
                    })
                    .collect(),
            })
            .collect();
        // In no order: `Sfu::stats` sorts what all loops return.
        out
    }

    fn join(
        &mut self,
        hearing: i64,
        case: i64,
        seat: Seat,
        events: mpsc::UnboundedSender<ServerMessage>,
    ) -> u64 {
        // The same person again (a reloaded page, a new network): the new connection takes the seat.
        let previous: Vec<u64> = self
            .participants
            .values()
            .filter(|p| p.hearing == hearing && p.seat.key == seat.key)
            .map(|p| p.id)
            .collect();
        for old in previous {
            if let Some(p) = self.participants.get(&old) {
                p.send(ServerMessage::Error {
                    code: "seat_taken_over".into(),
                    message: "您已在另一连接中加入 / you joined again from another connection"
                        .into(),
                });
            }
            self.remove(old, LeftReason::Rejoined);
        }
        let id = self.ids.next_id();
        let p = Participant {
            id,
            hearing,
            case,
            seat,
            pc: None,
            events,
            connected: false,
            offer_outstanding: false,
            needs_offer: false,
            published: Vec::new(),
            subscribed: Vec::new(),
            audio_muted: false,
            video_muted: false,
            reconnecting_until: None,
            audio_only: false,
            budget: crate::media::rate_limit::PacketBudget::new(self.max_pps, self.max_pps),
            dropped_packets: 0,
            rtt_ms: None,
            loss_permille: None,
            route: crate::media::routing::Route::default(),
            estimate: Default::default(),
            sent: Default::default(),
            ackable: Default::default(),
            remote_ufrag: None,
            ice_restarting: false,
        };
        let others: Vec<_> = self
            .participants
            .values()
            .filter(|o| o.hearing == hearing)
            .map(|o| o.info())
            .collect();
        p.send(ServerMessage::Joined {
            participant_id: Participant::public_id(id),
            participants: others,
            ice_servers: self.ice_servers.clone(),
        });
        for o in self.participants.values().filter(|o| o.hearing == hearing) {
            for t in &o.published {
                p.send(ServerMessage::TrackPublished {
                    participant_id: Participant::public_id(o.id),
                    track_id: t.id.clone(),
                    kind: t.kind,
                    simulcast: false,
                });
            }
        }
        self.broadcast(
            hearing,
            id,
            &ServerMessage::ParticipantJoined {
                participant: p.info(),
            },
        );
        self.participants.insert(id, p);
        id
    }

    fn on_signal(&mut self, id: u64, msg: ClientMessage) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        p.reconnecting_until = None;
        match msg {
            ClientMessage::Join { .. } => {}
            ClientMessage::Offer { sdp } => self.on_offer(id, sdp),
            ClientMessage::Answer { sdp } => self.on_answer(id, sdp),
            ClientMessage::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                if let Some(pc) = p.pc.as_mut()
                    && !candidate.is_empty()
                {
                    let init = RTCIceCandidateInit {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                        ..Default::default()
                    };
                    if let Err(e) = pc.add_remote_candidate(init) {
                        p.send(ServerMessage::Error {
                            code: "bad_candidate".into(),
                            message: e.to_string(),
                        });
                    }
                }
            }
            ClientMessage::Mute { kind, muted } => {
                match kind {
                    MediaKind::Audio => p.audio_muted = muted,
                    MediaKind::Video => p.video_muted = muted,
                }
                let (hearing, pid) = (p.hearing, Participant::public_id(id));
                self.broadcast(
                    hearing,
                    id,
                    &ServerMessage::MuteState {
                        participant_id: pid,
                        kind,
                        muted,
                        by_chair: false,
                    },
                );
            }
            ClientMessage::AudioOnly { enabled } => {
                p.audio_only = enabled;
                // The next allocation pauses (or resumes) its videos; resuming waits
                // for a keyframe of each.
                self.next_allocation = Instant::now();
            }
            ClientMessage::ViewSize {
                participant_id,
                height,
            } => {
                for s in p.subscribed.iter_mut().filter(|s| {
                    s.is_video() && Participant::public_id(s.publisher) == participant_id
                }) {
                    s.display_height = height;
                }
                self.next_allocation = Instant::now();
            }
            // Procedure messages are the room's business, not the media core's.
            ClientMessage::RaiseHand { .. }
            | ClientMessage::Help { .. }
            | ClientMessage::ScreenShare { .. }
            | ClientMessage::Control { .. } => {}
            ClientMessage::Leave => self.remove(id, LeftReason::Left),
            ClientMessage::Ping => p.send(ServerMessage::Pong),
        }
    }

    fn on_offer(&mut self, id: u64, sdp: String) {
        let (candidate, tcp_candidate) = (self.candidate, self.tcp_candidate);
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let now = Instant::now();
        let first = p.pc.is_none();
        if first {
            match peer_connection::build(candidate, tcp_candidate, now, p.ackable.clone()) {
                Ok(pc) => p.pc = Some(pc),
                Err(e) => {
                    p.send(ServerMessage::Error {
                        code: "internal".into(),
                        message: e.to_string(),
                    });
                    return;
                }
            }
        }
        let pc = p.pc.as_mut().expect("built above");
        if p.offer_outstanding {
            // Glare: the client's offer wins; ours is rolled back and sent again later.
            if let Ok(rb) = RTCSessionDescription::rollback(None) {
                let _ = pc.set_local_description(now, rb);
            }
            p.offer_outstanding = false;
            p.needs_offer = true;
        }
        // A new ICE username in a later offer is an ICE restart (the phone changed
        // networks): rtc takes new credentials at once; the answer must say again that
        // our candidates are complete, and video resumes at fresh keyframes.
        let restart = !first
            && peer_connection::remote_ufrag(&sdp).is_some_and(|u| Some(u) != p.remote_ufrag);
        p.remote_ufrag = peer_connection::remote_ufrag(&sdp);
        let answer = RTCSessionDescription::offer(sdp)
            .and_then(|offer| pc.set_remote_description(now, offer))
            .and_then(|_| {
                if restart {
                    pc.add_local_candidate(RTCIceCandidateInit::default())?;
                }
                Ok(())
            })
            .and_then(|_| pc.create_answer(None))
            .and_then(|answer| {
                pc.set_local_description(now, answer.clone())
                    .map(|_| answer)
            });
        match answer {
            Ok(answer) => {
                if let Some(u) = peer_connection::local_ufrag(&answer.sdp) {
                    self.router.set_ufrag(u, id);
                }
                p.send(ServerMessage::Answer { sdp: answer.sdp });
            }
            Err(e) => {
                p.send(sdp_error(e));
                if first {
                    p.pc = None;
                }
                return;
            }
        }
        let hearing = p.hearing;
        if restart {
            // rtc drops the selected candidate pair at once: until the new path is
            // checked, nothing reaches the phone and nothing it sends is taken, so a
            // keyframe asked now would be lost. Video in both directions resumes at
            // keyframes asked once ICE is connected again (see `pump`).
            tracing::info!(participant = id, "ICE restart");
            p.ice_restarting = true;
            for t in p.subscribed.iter_mut() {
                t.restart();
            }
        }
        if first {
            // Subscribe the newcomer to everything already published in the room.
            let existing: Vec<TrackSource> = self
                .participants
                .values()
                .filter(|o| o.hearing == hearing && o.id != id)
                .flat_map(|o| o.published.iter().map(move |t| t.source(o.id)))
                .collect();
            for source in &existing {
                self.subscribe(id, source);
            }
        }
    }

    fn on_answer(&mut self, id: u64, sdp: String) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let Some(pc) = p.pc.as_mut() else { return };
        if !p.offer_outstanding {
            p.send(ServerMessage::Error {
                code: "unexpected_answer".into(),
                message: "没有待回应的 offer / no offer is waiting for an answer".into(),
            });
            return;
        }
        let res = RTCSessionDescription::answer(sdp)
            .and_then(|a| pc.set_remote_description(Instant::now(), a));
        p.offer_outstanding = false;
        match res {
            Ok(()) => {
                let mut newly = Vec::new();
                for s in p.subscribed.iter_mut().filter(|s| !s.negotiated) {
                    s.negotiated = true;
                    if s.is_video()
                        && let Some(layer) = s.switch.target
                    {
                        newly.push((s.publisher, s.key, layer));
                    }
                }
                // A joiner's first answer comes before its path is up: these are then
                // asked for again when it connects (`ask_keyframes_for`).
                for (publisher, key, layer) in newly {
                    self.request_keyframe_for(id, publisher, key, layer);
                }
            }
            Err(e) => p.send(sdp_error(e)),
        }
    }

    /// Give `subscriber` its own send-only copy of a published track.
    fn subscribe(&mut self, subscriber: u64, source: &TrackSource) {
        let TrackSource {
            publisher,
            key,
            ref track_id,
            kind,
            ref mime,
            clock_rate,
        } = *source;
        let Some(s) = self.participants.get_mut(&subscriber) else {
            return;
        };
        let Some(pc) = s.pc.as_mut() else { return };
        if s.subscribed
            .iter()
            .any(|t| t.publisher == publisher && t.key == key)
        {
            return;
        }
        let ssrc = u32::from_le_bytes(crate::crypto::random_bytes::<4>());
        let rtc_kind = if kind == MediaKind::Audio {
            RtpCodecKind::Audio
        } else {
            RtpCodecKind::Video
        };
        let track = MediaStreamTrack::new(
            Participant::public_id(publisher),
            track_id.to_string(),
            track_id.to_string(),
            rtc_kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: RTCRtpCodec {
                    mime_type: mime.to_string(),
                    clock_rate,
                    channels: if kind == MediaKind::Audio { 2 } else { 0 },
                    ..Default::default()
                },
                ..Default::default()
            }],
        );
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: vec![],
            send_encodings: vec![],
        };
        let sender = match pc.add_transceiver_from_track(track, Some(init)) {
            Ok(tid) => pc.rtp_transceiver(tid).and_then(|t| t.sender()),
            Err(e) => {
                tracing::warn!(subscriber, error = %e, "cannot add a forwarded track");
                None
            }
        };
        let Some(sender) = sender else { return };
        s.subscribed
            .push(SubscribedTrack::new(source, sender, ssrc));
        s.needs_offer = true;
    }

    /// Ask for a keyframe on one subscription's behalf, if it can use one now: its answer is
    /// in and its subscriber's path is up. Any earlier, the keyframe would arrive before the
    /// subscriber can receive it, and the 500 ms throttle would then hold back the request
    /// that counts (it is asked again on the answer or when the path comes up). The one rule
    /// for every request made for a subscriber; `forward` and relayed PLI/FIR ask
    /// [`Self::request_keyframe`] directly, for subscribers already receiving.
    fn request_keyframe_for(&mut self, subscriber: u64, publisher: u64, key: u32, layer: usize) {
        let ready = self.participants.get(&subscriber).is_some_and(|s| {
            s.connected
                && s.subscribed
                    .iter()
                    .any(|t| t.publisher == publisher && t.key == key && t.negotiated)
        });
        if ready {
            self.request_keyframe(publisher, key, layer);
        }
    }

    /// Ask a publisher for a keyframe of one layer of one track, at most every 500 ms.
    fn request_keyframe(&mut self, publisher: u64, key: u32, layer: usize) {
        let now_ms = self.now_ms();
        let Some(p) = self.participants.get_mut(&publisher) else {
            return;
        };
        let Some(t) = p.published.iter_mut().find(|t| t.key() == key) else {
            return;
        };
        if t.kind != MediaKind::Video {
            return;
        }
        let receiver = t.receiver;
        let Some(l) = t.layers.get_mut(layer) else {
            return;
        };
        if !l.keyframes.request(now_ms) {
            return;
        }
        let media_ssrc = l.ssrc;
        tracing::trace!(target: "yunting::forward", to = publisher, layer, "PLI sent to publisher");
        self.dirty.insert(publisher);
        if let Some(mut r) = p.pc.as_mut().and_then(|pc| pc.rtp_receiver(receiver)) {
            let _ = r.write_rtcp(
                Instant::now(),
                vec![Box::new(PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc,
                })],
            );
        }
    }

    fn remove(&mut self, id: u64, reason: LeftReason) {
        let Some(mut p) = self.participants.remove(&id) else {
            return;
        };
        self.router.remove(id);
        self.pending_srs.remove(&id);
        if let Some(pc) = p.pc.as_mut() {
            let _ = pc.close();
        }
        let pid = Participant::public_id(id);
        for t in &p.published {
            self.broadcast(
                p.hearing,
                id,
                &ServerMessage::TrackUnpublished {
                    participant_id: pid.clone(),
                    track_id: t.id.clone(),
                },
            );
        }
        // Others stop receiving its tracks.
        for o in self
            .participants
            .values_mut()
            .filter(|o| o.hearing == p.hearing)
        {
            let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut o.subscribed)
                .into_iter()
                .partition(|s| s.publisher == id);
            o.subscribed = kept;
            if let Some(pc) = o.pc.as_mut() {
                for s in gone {
                    let _ = pc.remove_track(s.sender);
                    o.needs_offer = true;
                }
            }
        }
        self.broadcast(
            p.hearing,
            id,
            &ServerMessage::ParticipantLeft {
                participant_id: pid,
                reason,
            },
        );
    }

    /// Drain every connection's events and received packets, forward media, send offers.
    fn pump(&mut self) {
        let now = Instant::now();
        let mut scratch = std::mem::take(&mut self.scratch);
        let Scratch {
            touched,
            opened,
            media,
            keyframe_asks,
            ice_restarted,
            now_connected,
            ..
        } = &mut scratch;
        touched.extend(self.dirty.iter().copied());
        let now_ms = self.now_ms();
        for id in touched.drain(..) {
            let Some(p) = self.participants.get_mut(&id) else {
                continue;
            };
            let Some(pc) = p.pc.as_mut() else { continue };
            while let Some(ev) = pc.poll_event() {
                match ev {
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => {
                        let was = std::mem::replace(
                            &mut p.connected,
                            s == RTCPeerConnectionState::Connected,
                        );
                        if p.connected && !was {
                            now_connected.push(p.id);
                        }
                    }
                    RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                        RTCIceConnectionState::Connected | RTCIceConnectionState::Completed,
                    ) if p.ice_restarting => {
                        p.ice_restarting = false;
                        ice_restarted.push((p.hearing, p.id));
                    }
                    RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                        let codec = pc
                            .rtp_receiver(init.receiver_id)
                            .and_then(|r| r.track().codec(init.ssrc).cloned());
                        let Some(codec) = codec else { continue };
                        opened.push((
                            p.id,
                            OpenedStream {
                                receiver: init.receiver_id,
                                ssrc: init.ssrc,
                                rid: init.rid.map(|r| r.to_string()),
                                mime: codec.mime_type.to_ascii_lowercase(),
                                clock_rate: codec.clock_rate,
                            },
                        ));
                    }
                    _ => {}
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = pc.poll_read() {
                match message {
                    RTCMessage::RtpPacket(_, pkt) => {
                        if p.budget.allow(now_ms) {
                            media.push((p.id, pkt));
                        } else {
                            if p.dropped_packets % 1000 == 0 {
                                tracing::warn!(
                                    participant = p.id,
                                    dropped = p.dropped_packets + 1,
                                    "RTP over the per-participant budget; dropping"
                                );
                            }
                            p.dropped_packets += 1;
                        }
                    }
                    RTCMessage::RtcpPacket(_, pkts) => {
                        // A compound packet: every part counts (an SR usually comes with
                        // an SDES, a PLI with a receiver report).
                        for k in &pkts {
                            let any = k.as_any();
                            if let Some(sr) = any.downcast_ref::<SenderReport>() {
                                // Its report blocks are about what it receives from us.
                                on_reception_reports(
                                    &p.subscribed,
                                    &mut p.estimate,
                                    &p.sent,
                                    &sr.reports,
                                    now,
                                    now_ms,
                                );
                                let rec = SenderReportRecord {
                                    ssrc: sr.ssrc,
                                    ntp_time: sr.ntp_time,
                                    rtp_time: sr.rtp_time,
                                    packet_count: sr.packet_count,
                                    octet_count: sr.octet_count,
                                };
                                let layer = p.published.iter().find_map(|t| {
                                    t.layer_of(sr.ssrc).map(|l| t.layers[l].rec_track)
                                });
                                match layer {
                                    Some(rec_track) => {
                                        if let Some(rt) = rec_track {
                                            self.recorders.sender_report(
                                                p.hearing,
                                                rt,
                                                wall_us(),
                                                &rec,
                                            );
                                        }
                                    }
                                    // Not opened yet (its first RTP is in this batch, or
                                    // the report came first): keep the latest for it.
                                    None => keep_pending_sr(
                                        self.pending_srs.entry(p.id).or_default(),
                                        wall_us(),
                                        rec,
                                    ),
                                }
                            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                                on_reception_reports(
                                    &p.subscribed,
                                    &mut p.estimate,
                                    &p.sent,
                                    &rr.reports,
                                    now,
                                    now_ms,
                                );
                            } else if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                                keyframe_asks.push((p.id, pli.media_ssrc));
                            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                                keyframe_asks.push((p.id, fir.media_ssrc));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if !opened.is_empty() {
            self.offers_pending = true;
        }
        for (hearing, id) in ice_restarted.drain(..) {
            tracing::info!(participant = id, "ICE connected again after a restart");
            self.resume_video_of(hearing, id);
        }
        for id in now_connected.drain(..) {
            self.ask_keyframes_for(id);
        }
        for (publisher, stream) in opened.drain(..) {
            self.open_stream(publisher, stream);
        }
        for (subscriber, media_ssrc) in keyframe_asks.drain(..) {
            tracing::trace!(target: "yunting::forward", from = subscriber, media_ssrc, "keyframe asked by subscriber");
            let target = self
                .participants
                .get(&subscriber)
                .and_then(|s| s.subscribed.iter().find(|t| t.ssrc == media_ssrc))
                .and_then(|t| {
                    t.switch
                        .current
                        .or(t.switch.target)
                        .map(|l| (t.publisher, t.key, l))
                });
            if let Some((publisher, key, layer)) = target {
                self.request_keyframe(publisher, key, layer);
            }
        }
        let forwarding = Mark::now();
        for (publisher, pkt) in media.drain(..) {
            self.forward(publisher, pkt, now);
        }
        self.forwarding_allocations += forwarding.since();
        self.scratch = scratch;
        if !std::mem::take(&mut self.offers_pending) {
            return;
        }
        for p in self.participants.values_mut() {
            if !p.needs_offer || p.offer_outstanding {
                continue;
            }
            self.dirty.insert(p.id);
            let Some(pc) = p.pc.as_mut() else { continue };
            let offer = pc
                .create_offer(None)
                .and_then(|o| pc.set_local_description(now, o.clone()).map(|_| o));
            match offer {
                Ok(o) => {
                    p.needs_offer = false;
                    p.offer_outstanding = true;
                    p.send(ServerMessage::Offer { sdp: o.sdp });
                }
                Err(e) => tracing::warn!(participant = p.id, error = %e, "cannot create an offer"),
            }
        }
    }

    /// A publisher's new stream: a new publication (announced, subscribed by everyone
    /// else in the room), or another simulcast layer of one it already sends. Every
    /// stream is described to the recorder.
    fn open_stream(&mut self, publisher: u64, stream: OpenedStream) {
        let Some(p) = self.participants.get_mut(&publisher) else {
            return;
        };
        if p.published
            .iter()
            .any(|t| t.layer_of(stream.ssrc).is_some())
        {
            return;
        }
        let kind = if stream.mime.starts_with("audio/") {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        let hearing = p.hearing;
        let existing = (kind == MediaKind::Video && stream.rid.is_some())
            .then(|| {
                p.published
                    .iter()
                    .position(|t| t.receiver == stream.receiver && t.simulcast())
            })
            .flatten();
        let index = match existing {
            Some(i) => i,
            None => {
                p.published.push(PublishedTrack {
                    id: format!("{}-{}", Participant::public_id(publisher), stream.ssrc),
                    key: stream.ssrc,
                    receiver: stream.receiver,
                    kind,
                    video_codec: PublishedTrack::video_codec_of(&stream.mime),
                    mime: stream.mime.clone(),
                    clock_rate: stream.clock_rate,
                    layers: Vec::new(),
                    packets: 0,
                    bytes: 0,
                });
                p.published.len() - 1
            }
        };
        if stream.rid.is_none() {
            p.ackable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(stream.ssrc);
        }
        let track = &mut p.published[index];
        let mut layer = Layer::new(stream.rid.clone(), stream.ssrc);
        layer.rec_track = self.recorders.track(
            hearing,
            p.case,
            crate::recording::manifest::TrackInfo {
                index: 0,
                seat: p.seat.key.clone(),
                participant_id: Participant::public_id(publisher),
                name: p.seat.name.clone(),
                role: p.seat.role.clone(),
                kind: if kind == MediaKind::Audio {
                    "audio"
                } else {
                    "video"
                }
                .into(),
                mime: stream.mime.clone(),
                clock_rate: stream.clock_rate,
                ssrc: stream.ssrc,
                first_us: wall_us(),
                simulcast: stream.rid.as_ref().map(|rid| {
                    crate::recording::manifest::SimulcastLayer {
                        publication: track.id.clone(),
                        rid: rid.clone(),
                        layer: super::published_track::rid_rank(rid),
                    }
                }),
            },
        );
        if let Some(rt) = layer.rec_track
            && let Some(pending) = self.pending_srs.get_mut(&publisher)
            && let Some(i) = pending.iter().position(|(_, sr)| sr.ssrc == stream.ssrc)
        {
            let (at, sr) = pending.swap_remove(i);
            self.recorders.sender_report(hearing, rt, at, &sr);
        }
        track.add_layer(layer);
        if existing.is_some() {
            // Another layer of a publication everyone already receives.
            self.next_allocation = Instant::now();
            return;
        }
        let source = track.source(publisher);
        self.broadcast(
            hearing,
            publisher,
            &ServerMessage::TrackPublished {
                participant_id: Participant::public_id(publisher),
                track_id: source.track_id.clone(),
                kind: source.kind,
                simulcast: stream.rid.is_some(),
            },
        );
        let subscribers: Vec<u64> = self
            .participants
            .values()
            .filter(|o| o.hearing == hearing && o.id != publisher)
            .map(|o| o.id)
            .collect();
        for s in subscribers {
            self.subscribe(s, &source);
        }
    }

    fn forward(&mut self, publisher: u64, mut pkt: rtc::rtp::Packet, now: Instant) {
        let source_ssrc = pkt.header.ssrc;
        let now_ms = self.now_ms();
        let Some(p) = self.participants.get_mut(&publisher) else {
            return;
        };
        let Some((track, li)) = p
            .published
            .iter_mut()
            .find_map(|t| t.layer_of(source_ssrc).map(|l| (t, l)))
        else {
            return;
        };
        track.packets += 1;
        track.bytes += pkt.payload.len() as u64;
        let (hearing, kind, key, clock_rate) =
            (p.hearing, track.kind, track.key(), track.clock_rate);
        let video = kind == MediaKind::Video;
        let route = p.route;
        let track_codec = track.video_codec;
        let keyframe = track_codec.is_some_and(|c| starts_keyframe(c, &pkt.payload));
        let layer = &mut track.layers[li];
        layer.bitrate.on_bytes(pkt.payload.len(), now_ms);
        if keyframe
            && let Some(c) = track.video_codec
            && let Some(h) = crate::media::keyframe::keyframe_height(c, &pkt.payload)
        {
            layer.height = h;
        }
        if let Some(t) = layer.rec_track
            && route.recorded(kind)
        {
            self.recorders.rtp(hearing, t, wall_us(), &pkt);
        }
        if !route.publishes(kind) {
            return;
        }
        // Every subscriber negotiated its own extension ids, and the publisher's would make
        // it drop the packet: strip them once here (the recorder above kept the packet as
        // received), so the per-subscriber clone below copies no extension list. Stale
        // padding from the publisher's extension block would make rtc-rtp mis-size the
        // packet once the subscriber's stack adds its own extensions (marshal_to mismatch).
        pkt.header.extension = false;
        pkt.header.extensions_padding = 0;
        // The list goes back to the publisher's connection, which parses its next
        // packet's extensions into it: no list is allocated per received packet.
        let extensions = std::mem::take(&mut pkt.header.extensions);
        if let Some(pc) = p.pc.as_mut() {
            pc.recycle_header_extensions(extensions);
        }
        // VP8's descriptor, read once here for every subscriber's picture-id mapping.
        let vp8 = (track_codec == Some(crate::media::keyframe::VideoCodec::Vp8))
            .then(|| crate::media::vp8_ids::parse(&pkt.payload))
            .flatten();
        // Layers some subscriber waits on a keyframe of (a bit each; three layers at most).
        let mut need_keyframe: u8 = 0;
        for s in self
            .participants
            .values_mut()
            .filter(|s| s.hearing == hearing && s.id != publisher)
        {
            let Some(sub) = s
                .subscribed
                .iter_mut()
                .find(|t| t.publisher == publisher && t.key == key && t.negotiated)
            else {
                continue;
            };
            // A subscriber whose path is down (an ICE restart, a network change) gets
            // nothing, but its numbering still closes over what it missed, or its receiver
            // reports would count it all as loss once the path is back. A side room or a
            // chair's mute keeps the media from this subscriber.
            let (forward, waiting) = if !s.connected {
                (false, None)
            } else if crate::media::routing::forwards(&route, s.route.group, kind) {
                sub.decide(li, keyframe)
            } else {
                (false, None)
            };
            if let Some(w) = waiting {
                need_keyframe |= 1 << w.min(7);
            }
            if !forward {
                // Held back on purpose (paused, waiting for a keyframe): keep the
                // subscriber's numbering gapless, or its receiver reports would count
                // these as lost and its estimate would fall for nothing.
                if sub.seq.source() == Some(source_ssrc) {
                    sub.seq.skip();
                }
                continue;
            }
            if sub.seq.is_stale(source_ssrc, pkt.header.sequence_number) {
                continue;
            }
            let Some(pc) = s.pc.as_mut() else { continue };
            let Some(mut sender) = pc.rtp_sender(sub.sender) else {
                continue;
            };
            let pt = match sub.payload_type {
                Some(pt) => pt,
                None => {
                    let Some(pt) = sender
                        .get_parameters()
                        .rtp_parameters
                        .codecs
                        .iter()
                        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&sub.mime))
                        .map(|c| c.payload_type)
                    else {
                        continue;
                    };
                    sub.payload_type = Some(pt);
                    pt
                }
            };
            // One continuous stream whichever layer (or publisher SSRC) it comes from.
            let (seq, ts) = sub.seq.map(
                source_ssrc,
                pkt.header.sequence_number,
                pkt.header.timestamp,
                now_ms,
                clock_rate,
            );
            // The payload is shared (refcounted) and the extension list is empty: the
            // per-subscriber copy is the fixed header only.
            let mut out = pkt.clone();
            if let (Some(m), Some(ids)) = (sub.vp8_ids.as_mut(), vp8)
                && let Some(rw) = m.map(source_ssrc, ids)
            {
                out.payload =
                    rewritten_payload(&mut self.payload_arena, &pkt.payload, |b| rw.apply(b));
            }
            out.header.ssrc = sub.ssrc;
            out.header.payload_type = pt;
            out.header.sequence_number = seq;
            out.header.timestamp = ts;
            if video {
                // Off unless RUST_LOG names this target: what a frozen tile was sent.
                tracing::trace!(
                    target: "yunting::forward",
                    to = s.id, from = publisher, layer = li, key = keyframe,
                    marker = pkt.header.marker, src_seq = pkt.header.sequence_number,
                    src_ts = pkt.header.timestamp, seq, ts,
                    vp8_in = ?vp8.map(|i| (i.picture_id.map(|p| p.1), i.tl0.map(|t| t.1))),
                    vp8_out = ?crate::media::vp8_ids::parse(&out.payload).map(|i| (i.picture_id.map(|p| p.1), i.tl0.map(|t| t.1))),
                    "video out"
                );
            }
            let bytes = out.payload.len();
            sub.packets += 1;
            sub.bytes += bytes as u64;
            sub.bitrate.on_bytes(bytes, now_ms);
            s.sent.on_bytes(bytes, now_ms);
            if let Err(e) = sender.write_rtp(now, out) {
                tracing::debug!(error = %e, "forward");
            }
            self.dirty.insert(s.id);
        }
        if video {
            for l in 0..8usize {
                if need_keyframe & (1 << l) != 0 {
                    self.request_keyframe(publisher, key, l);
                }
            }
        }
    }

    /// Every subscriber's share of its bandwidth: which layer of each video it receives
    /// (the policy is `media::allocation`). A changed target asks for a keyframe of the
    /// new layer; the switch happens when it arrives.
    fn allocate_layers(&mut self) {
        let now_ms = self.now_ms();
        // The layers of every publication, as measured now.
        let mut layers: HashMap<(u64, u32), Vec<crate::media::layer_select::LayerInfo>> =
            HashMap::new();
        for p in self.participants.values() {
            for t in p.published.iter().filter(|t| t.kind == MediaKind::Video) {
                let mut v = Vec::with_capacity(t.layers.len());
                t.layer_infos(now_ms, &mut v);
                layers.insert((p.id, t.key()), v);
            }
        }
        // (subscriber, publisher, track, layer)
        let mut asks: Vec<(u64, u64, u32, usize)> = Vec::new();
        for s in self.participants.values_mut().filter(|s| s.connected) {
            let audio = s.subscribed.iter().filter(|t| !t.is_video()).count();
            let videos: Vec<usize> = (0..s.subscribed.len())
                .filter(|&i| s.subscribed[i].is_video())
                .collect();
            let none = Vec::new();
            let wants: Vec<crate::media::allocation::Want> = videos
                .iter()
                .map(|&i| {
                    let t = &s.subscribed[i];
                    crate::media::allocation::Want {
                        layers: layers.get(&(t.publisher, t.key)).unwrap_or(&none),
                        display_height: t.display_height,
                        current: t.switch.current,
                    }
                })
                .collect();
            let targets =
                crate::media::allocation::allocate(s.estimate.bps(), audio, s.audio_only, &wants);
            for (&i, target) in videos.iter().zip(targets) {
                let t = &mut s.subscribed[i];
                if t.switch.target == target {
                    continue;
                }
                let resumed = t.switch.target.is_none();
                if (t.switch.retarget(target) || resumed)
                    && let Some(l) = target
                {
                    asks.push((s.id, t.publisher, t.key, l));
                }
            }
        }
        for (subscriber, publisher, key, layer) in asks {
            self.request_keyframe_for(subscriber, publisher, key, layer);
        }
    }
    async fn flush(&mut self) {
        let flushing = Mark::now();
        let mut out = std::mem::take(&mut self.scratch.out);
        let mut over_tcp = std::mem::take(&mut self.scratch.over_tcp);
        for id in self.dirty.drain() {
            let Some(pc) = self.participants.get_mut(&id).and_then(|p| p.pc.as_mut()) else {
                self.deadlines.remove(&id);
                continue;
            };
            while let Some(t) = pc.poll_write() {
                if t.transport.transport_protocol == TransportProtocol::TCP {
                    over_tcp.push((t.transport.peer_addr, t.message));
                } else {
                    out.push((t.transport.peer_addr, t.message));
                }
            }
            match pc.poll_timeout() {
                Some(d) => self.deadlines.insert(id, d),
                None => self.deadlines.remove(&id),
            };
        }
        for (to, data) in over_tcp.drain(..) {
            if let Some(w) = self.tcp_conns.get(&to) {
                let _ = w.send(data);
            }
        }
        self.forwarding_allocations += flushing.since();
        let sent = self.sender.send_all(&self.socket, &mut out).await;
        out.clear();
        self.scratch.out = out;
        self.scratch.over_tcp = over_tcp;
        let c = &self.counters;
        LoopCounters::add(&c.datagrams_sent, sent.datagrams as u64);
        LoopCounters::add(&c.gso_messages, sent.gso_messages as u64);
        LoopCounters::add(&c.gso_datagrams, sent.gso_datagrams as u64);
    }
}

/// Keep `sr` (arrived at `at_us`) as the latest report of its SSRC, within the bound.
fn keep_pending_sr(
    pending: &mut Vec<(u64, SenderReportRecord)>,
    at_us: u64,
    sr: SenderReportRecord,
) {
    if let Some(slot) = pending.iter_mut().find(|(_, p)| p.ssrc == sr.ssrc) {
        *slot = (at_us, sr);
    } else if pending.len() < MAX_PENDING_SRS {
        pending.push((at_us, sr));
    }
}

/// An RTP (not RTCP) packet, by its first two bytes (RFC 7983 demultiplexing, RFC 5761 for
/// RTCP's payload types 192–223).
fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [128..=191, pt, ..] if !(192..=223).contains(pt))
}

/// The size of the blocks received datagrams and rewritten payloads are cut from. A
/// received datagram's copy lives only until it is decrypted (and its header extensions
/// until it is forwarded), so a loop's block is soon free again; 256 KiB holds about 200
/// full-size packets, so refills (two allocations each) stay far below one per packet.
const ARENA_BLOCK: usize = 256 * 1024;

/// A copy of `src` cut from `arena`, which is refilled [`ARENA_BLOCK`] at a time: two
/// allocations (the block and its shared header) per block of packets, not one per packet.
/// The copies share the block, which is freed when the last of them is.
fn cut_from_arena(arena: &mut BytesMut, src: &[u8]) -> BytesMut {
    if arena.capacity() - arena.len() < src.len() {
        *arena = BytesMut::with_capacity(src.len().max(ARENA_BLOCK));
    }
    arena.extend_from_slice(src);
    arena.split()
}

/// A copy of `src`, changed by `edit`, cut from `arena`.
fn rewritten_payload(
    arena: &mut BytesMut,
    src: &[u8],
    edit: impl FnOnce(&mut [u8]),
) -> bytes::Bytes {
    let mut copy = cut_from_arena(arena, src);
    edit(&mut copy);
    copy.freeze()
}

#[cfg(test)]
mod tests {
    use super::rewritten_payload;

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls_by_its_first_two_bytes() {
        use super::is_rtp;
        assert!(is_rtp(&[0x80, 96, 0, 1])); // VP8
        assert!(is_rtp(&[0x90, 0xef, 0, 1])); // marker bit set, payload type 111
        assert!(!is_rtp(&[0x80, 200, 0, 6])); // sender report
        assert!(!is_rtp(&[0x81, 206, 0, 2])); // PLI
        assert!(!is_rtp(&[0x00, 0x01, 0, 0])); // STUN binding request
        assert!(!is_rtp(&[22, 0xfe, 0xfd])); // DTLS handshake
        assert!(!is_rtp(&[0x80]));
    }

    #[test]
    fn rewritten_payloads_are_separate_copies_from_one_buffer() {
        let mut arena = bytes::BytesMut::new();
        let src = [1u8, 2, 3, 4];
        let a = rewritten_payload(&mut arena, &src, |b| b[0] = 9);
        let b = rewritten_payload(&mut arena, &src, |b| b[3] = 8);
        assert_eq!(&a[..], &[9, 2, 3, 4]);
        assert_eq!(&b[..], &[1, 2, 3, 8]);
        // Both came from the first block: no allocation for the second.
        assert!(arena.capacity() >= super::ARENA_BLOCK - 8);
        let big = vec![7u8; 100_000];
        let c = rewritten_payload(&mut arena, &big, |_| {});
        assert_eq!(c.len(), 100_000);
        assert_eq!(&a[..], &[9, 2, 3, 4], "earlier copies are not disturbed");
    }
}
