#![allow(dead_code)]
//! A hearing participant as a test sees it: a WebSocket to `/ws/hearing/<id>` and an
//! async `webrtc` peer connection that publishes VP8 + Opus read from files (made with
//! the ffmpeg CLI) and counts what it receives from each other participant.

use futures_util::{SinkExt, StreamExt};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media::Sample;
use rtc::media::io::ivf_reader::IVFReader;
use rtc::media::io::ogg_reader::OggReader;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::{MediaStreamTrack, Track};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};
use yunting::media::keyframe::{VideoCodec, starts_keyframe};

/// Video bitrate of the generated test media (the load generator raises it to ~1 Mbps).
pub static VIDEO_KBPS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(300);

/// The all-keyframe twin of a test video (see [`media_files`]), if it was made.
fn intra_twin(video: &std::path::Path) -> Option<PathBuf> {
    let twin = video.with_extension("intra.ivf");
    twin.exists().then_some(twin)
}

/// Test media made once per test binary: 20 s of a test pattern (VP8, a keyframe every
/// second) and a tone (Opus). The video has an all-keyframe twin of the same frames, so
/// the publisher can answer a keyframe request (PLI/FIR) at the next frame, as a live
/// encoder does, instead of at the file's next keyframe.
pub fn media_files() -> &'static (PathBuf, PathBuf) {
    static FILES: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("yunting-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kbps = VIDEO_KBPS.load(std::sync::atomic::Ordering::Relaxed);
        let video = dir.join("video.ivf");
        let audio = dir.join("audio.ogg");
        let run = |args: &[&str]| {
            let out = std::process::Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-y"])
                .args(args)
                .output()
                .expect("ffmpeg is installed (scripts/install-packages.sh test)");
            assert!(
                out.status.success(),
                "ffmpeg failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        for (gop, out) in [
            ("30", video.clone()),
            ("1", video.with_extension("intra.ivf")),
        ] {
            run(&[
                "-f",
                "lavfi",
                "-i",
                &format!(
                    "testsrc=size={}:rate=30",
                    if kbps > 500 { "640x360" } else { "320x240" }
                ),
                "-t",
                "20",
                "-c:v",
                "libvpx",
                "-b:v",
                &format!("{kbps}k"),
                "-minrate",
                &format!("{kbps}k"),
                "-maxrate",
                &format!("{kbps}k"),
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-g",
                gop,
                "-auto-alt-ref",
                "0",
                out.to_str().unwrap(),
            ]);
        }
        run(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "20",
            "-c:a",
            "libopus",
            "-page_duration",
            "20000",
            audio.to_str().unwrap(),
        ]);
        (video, audio)
    })
}

#[derive(Debug, Default, Clone)]
pub struct Received {
    pub audio_packets: u64,
    pub video_packets: u64,
    /// Did the first video packet from this publisher start a keyframe?
    pub first_video_was_keyframe: Option<bool>,
    pub first_video_at: Option<Instant>,
}

type Counts = Arc<Mutex<HashMap<String, Received>>>;

/// The load generator's end-to-end probe (off unless [`probe::ON`] is set): each audio
/// frame's send instant, keyed by its publisher and its bytes; a subscriber receiving the
/// frame (one Opus frame is one RTP payload, unchanged by the SFU) records the delay.
pub mod probe {
    use std::collections::HashMap;
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;

    pub static ON: AtomicBool = AtomicBool::new(false);
    pub static SENT: AtomicU64 = AtomicU64::new(0);
    pub static RECEIVED: AtomicU64 = AtomicU64::new(0);

    fn sent_at() -> &'static Mutex<HashMap<(String, u64), Instant>> {
        static M: OnceLock<Mutex<HashMap<(String, u64), Instant>>> = OnceLock::new();
        M.get_or_init(Default::default)
    }

    fn delays() -> &'static Mutex<Vec<u32>> {
        static D: OnceLock<Mutex<Vec<u32>>> = OnceLock::new();
        D.get_or_init(Default::default)
    }

    fn key(bytes: &[u8]) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    }

    pub fn sent(publisher: &str, frame: &[u8]) {
        if !ON.load(Ordering::Relaxed) {
            return;
        }
        SENT.fetch_add(1, Ordering::Relaxed);
        sent_at()
            .lock()
            .unwrap()
            .insert((publisher.to_string(), key(frame)), Instant::now());
    }

    pub fn received(publisher: &str, payload: &[u8]) {
        if !ON.load(Ordering::Relaxed) {
            return;
        }
        RECEIVED.fetch_add(1, Ordering::Relaxed);
        let at = sent_at()
            .lock()
            .unwrap()
            .get(&(publisher.to_string(), key(payload)))
            .copied();
        if let Some(at) = at {
            delays()
                .lock()
                .unwrap()
                .push(at.elapsed().as_micros() as u32);
        }
    }

    /// The delays recorded so far (µs), cleared.
    pub fn take() -> Vec<u32> {
        std::mem::take(&mut *delays().lock().unwrap())
    }
}

/// How a test client connects.
#[derive(Default)]
struct Connect<'a> {
    /// ICE over TCP only (a network that blocks UDP).
    tcp_only: bool,
    /// The staff session that admits this seat from the waiting room.
    admitter: Option<&'a str>,
    /// Publish these (VP8 IVF, Ogg Opus) instead of [`media_files`].
    media: Option<(PathBuf, PathBuf)>,
    /// Reach the server's UDP candidate through this address.
    via: Option<std::net::SocketAddr>,
}

/// The SDP with the server's UDP host candidates pointing at `via` instead.
fn via_relay(sdp: &str, via: Option<std::net::SocketAddr>) -> String {
    let Some(via) = via else {
        return sdp.to_string();
    };
    sdp.lines()
        .map(|l| {
            if l.starts_with("a=candidate:") && (l.contains(" udp ") || l.contains(" UDP ")) {
                // a=candidate:<foundation> <component> udp <priority> <ip> <port> typ host
                let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
                if f.len() > 5 {
                    f[4] = via.ip().to_string();
                    f[5] = via.port().to_string();
                }
                f.join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

struct Handler {
    gathered: mpsc::Sender<()>,
    connected: mpsc::UnboundedSender<RTCPeerConnectionState>,
    counts: Counts,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            let _ = self.gathered.try_send(());
        }
    }
    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        let _ = self.connected.send(s);
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let counts = self.counts.clone();
        tokio::spawn(async move {
            let publisher = track.stream_id().await;
            let video = track.kind().await == RtpCodecKind::Video;
            while let Some(ev) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                    let mut c = counts.lock().unwrap();
                    let r = c.entry(publisher.clone()).or_default();
                    if video {
                        r.video_packets += 1;
                        if r.first_video_was_keyframe.is_none() {
                            r.first_video_was_keyframe =
                                Some(starts_keyframe(VideoCodec::Vp8, &p.payload));
                            r.first_video_at = Some(Instant::now());
                        }
                    } else {
                        r.audio_packets += 1;
                        probe::received(&publisher, &p.payload);
                    }
                }
            }
        });
    }
}

pub struct MediaClient {
    pub participant_id: String,
    pub pc: Arc<dyn PeerConnection>,
    pub counts: Counts,
    pub connected_at: Option<Instant>,
    /// Server messages other than offer/answer, in order.
    pub events: mpsc::UnboundedReceiver<Value>,
    ws_out: mpsc::UnboundedSender<Message>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn track(
    kind: RtpCodecKind,
    mime: &str,
    clock_rate: u32,
    channels: u16,
) -> Arc<TrackLocalStaticSample> {
    let ssrc = u32::from_le_bytes(yunting::crypto::random_bytes::<4>());
    let id = format!("{mime}-{ssrc}");
    Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "client".into(),
                id.clone(),
                id,
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: RTCRtpCodec {
                        mime_type: mime.into(),
                        clock_rate,
                        channels,
                        ..Default::default()
                    },
                    ..Default::default()
                }],
            ),
        )
        .unwrap(),
    )
}

impl MediaClient {
    /// Connect the signaling socket with `token`, join, publish, and wait for the
    /// connection to come up.
    pub async fn join(base_http: &str, hearing: i64, token: &str) -> MediaClient {
        Self::join_with(base_http, hearing, token, false, None).await
    }

    /// As [`MediaClient::join`] for someone who waits in the waiting room: the staff
    /// member whose session is `admitter` admits them over HTTP.
    pub async fn join_admitted(
        base_http: &str,
        hearing: i64,
        token: &str,
        admitter: &str,
    ) -> MediaClient {
        Self::join_with(base_http, hearing, token, false, Some(admitter)).await
    }

    /// As [`MediaClient::join`]; with `tcp_only` the client gathers only ICE-TCP
    /// candidates, as on a network that blocks UDP.
    pub async fn join_with(
        base_http: &str,
        hearing: i64,
        token: &str,
        tcp_only: bool,
        admitter: Option<&str>,
    ) -> MediaClient {
        Self::connect(
            base_http,
            hearing,
            token,
            Connect {
                tcp_only,
                admitter,
                ..Default::default()
            },
        )
        .await
    }

    /// As [`MediaClient::join`], reaching the media server through `relay` (the server's
    /// candidates in its SDP are rewritten to that address): a network the test shapes.
    pub async fn join_via(
        base_http: &str,
        hearing: i64,
        token: &str,
        admitter: Option<&str>,
        relay: std::net::SocketAddr,
    ) -> MediaClient {
        Self::connect(
            base_http,
            hearing,
            token,
            Connect {
                admitter,
                via: Some(relay),
                ..Default::default()
            },
        )
        .await
    }

    /// As [`MediaClient::join`] (admitted by `admitter` if the seat waits), publishing
    /// `media` — a VP8 IVF file (30 fps) and an Ogg Opus file (20 ms pages) — instead of
    /// [`media_files`].
    pub async fn join_with_media(
        base_http: &str,
        hearing: i64,
        token: &str,
        admitter: Option<&str>,
        media: (PathBuf, PathBuf),
    ) -> MediaClient {
        Self::connect(
            base_http,
            hearing,
            token,
            Connect {
                admitter,
                media: Some(media),
                ..Default::default()
            },
        )
        .await
    }

    async fn connect(base_http: &str, hearing: i64, token: &str, how: Connect<'_>) -> MediaClient {
        let Connect {
            tcp_only,
            admitter,
            media,
            via,
        } = how;
        let url = format!(
            "{}/ws/hearing/{hearing}",
            base_http.replacen("http", "ws", 1)
        );
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        let (mut sink, mut stream) = ws.split();
        let (ws_out, mut ws_out_rx) = mpsc::unbounded_channel::<Message>();
        let writer = tokio::spawn(async move {
            while let Some(m) = ws_out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        ws_out
            .send(Message::Text(json!({"type": "join"}).to_string().into()))
            .unwrap();
        let mut early = Vec::new();
        let mut waiting = false;
        let joined: Value = loop {
            let Some(Ok(Message::Text(t))) = stream.next().await else {
                panic!("socket closed before joined")
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_ne!(v["type"], "error", "{v}");
            if v["type"] == "joined" {
                break v;
            }
            if v["type"] == "waiting" {
                waiting = true;
            }
            if v["type"] == "hearing_state" && std::mem::take(&mut waiting) {
                let admitter = admitter.expect("this seat waits to be admitted: pass an admitter");
                let resp = reqwest::Client::new()
                    .post(format!("{base_http}/api/hearings/{hearing}/control"))
                    .bearer_auth(admitter)
                    .json(&json!({"do": "admit", "seat": v["my_seat"]}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    resp.status().is_success(),
                    "admit: {}",
                    resp.text().await.unwrap()
                );
            }
            early.push(v);
        };
        let participant_id = joined["participant_id"].as_str().unwrap().to_string();

        let mut me = MediaEngine::default();
        me.register_default_codecs().unwrap();
        // Keyframe requests reach the publishing track (see `feed_video`).
        let registry = register_default_interceptors(Registry::new(), &mut me)
            .unwrap()
            .with(
                rtc::interceptor::Slot::from(14_000),
                yunting::sfu::peer_connection::DeliverKeyframeRequests::default(),
            );
        // Connectivity checks paced at RFC 8445's Ta (50 ms), as browsers do, rather than
        // webrtc-rs's 200 ms: the first check otherwise waits for a 200 ms tick, which
        // made this client's join slower than a browser's.
        let mut settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(50));
        if tcp_only {
            settings = settings.with_network_types(vec![rtc::ice::network_type::NetworkType::Tcp4]);
        }
        let settings = settings.build();
        let (gathered_tx, mut gathered) = mpsc::channel(1);
        let (state_tx, mut states) = mpsc::unbounded_channel();
        let counts: Counts = Arc::default();
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(me)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                connected: state_tx,
                counts: counts.clone(),
            }))
            .with_udp_addrs(if tcp_only {
                vec![]
            } else {
                vec!["127.0.0.1:0".to_owned()]
            })
            .with_tcp_addrs(if tcp_only {
                vec!["127.0.0.1:0".to_owned()]
            } else {
                vec![]
            })
            .build()
            .await
            .unwrap();
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let video = track(RtpCodecKind::Video, "video/VP8", 90_000, 0);
        let audio = track(RtpCodecKind::Audio, "audio/opus", 48_000, 2);
        let vsender = pc
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        let asender = pc
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), gathered.recv()).await;
        let offer = pc.local_description().await.unwrap();
        ws_out
            .send(Message::Text(
                json!({"type": "offer", "sdp": offer.sdp})
                    .to_string()
                    .into(),
            ))
            .unwrap();

        // Signaling from the server: answers to our offers, offers for new tracks.
        let (events_tx, events) = mpsc::unbounded_channel();
        for v in early {
            let _ = events_tx.send(v);
        }
        let reader_pc = pc.clone();
        let reader_out = ws_out.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(Message::Text(t))) = stream.next().await {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str() {
                    Some("answer") if tcp_only => {
                        let sdp = v["sdp"].as_str().unwrap().to_string();
                        reader_pc
                            .set_remote_description(
                                RTCSessionDescription::answer(sdp.clone()).unwrap(),
                            )
                            .await
                            .unwrap();
                        // webrtc-rs dials a passive TCP candidate only when it is added as a
                        // trickled candidate, not when it comes in the SDP (browsers do both).
                        for line in sdp.lines().filter(|l| {
                            l.starts_with("a=candidate:") && l.contains("tcptype passive")
                        }) {
                            let init = webrtc::peer_connection::RTCIceCandidateInit {
                                candidate: line.trim_start_matches("a=").to_string(),
                                sdp_mline_index: Some(0),
                                ..Default::default()
                            };
                            let _ = reader_pc.add_ice_candidate(init).await;
                        }
                    }
                    Some("answer") => {
                        reader_pc
                            .set_remote_description(
                                RTCSessionDescription::answer(via_relay(
                                    v["sdp"].as_str().unwrap(),
                                    via,
                                ))
                                .unwrap(),
                            )
                            .await
                            .unwrap();
                    }
                    Some("offer") => {
                        reader_pc
                            .set_remote_description(
                                RTCSessionDescription::offer(via_relay(
                                    v["sdp"].as_str().unwrap(),
                                    via,
                                ))
                                .unwrap(),
                            )
                            .await
                            .unwrap();
                        let answer = reader_pc.create_answer(None).await.unwrap();
                        reader_pc.set_local_description(answer).await.unwrap();
                        let answer = reader_pc.local_description().await.unwrap();
                        let _ = reader_out.send(Message::Text(
                            json!({"type": "answer", "sdp": answer.sdp})
                                .to_string()
                                .into(),
                        ));
                    }
                    _ => {
                        let _ = events_tx.send(v);
                    }
                }
            }
        });

        let deadline = Instant::now() + Duration::from_secs(10);
        let connected_at = loop {
            match tokio::time::timeout_at(deadline.into(), states.recv()).await {
                Ok(Some(RTCPeerConnectionState::Connected)) => break Some(Instant::now()),
                Ok(Some(RTCPeerConnectionState::Failed)) => panic!("connection failed"),
                Ok(Some(_)) => continue,
                _ => panic!("peer connection did not connect within 10 s"),
            }
        };

        let (video_file, audio_file) = media.unwrap_or_else(|| media_files().clone());
        let vpt = vsender
            .get_parameters()
            .await
            .unwrap()
            .rtp_parameters
            .codecs[0]
            .payload_type;
        let apt = asender
            .get_parameters()
            .await
            .unwrap()
            .rtp_parameters
            .codecs[0]
            .payload_type;
        let vfeed = tokio::spawn(feed_video(video, vpt, video_file));
        let afeed = tokio::spawn(feed_audio(audio, apt, audio_file, participant_id.clone()));
        MediaClient {
            participant_id,
            pc,
            counts,
            connected_at,
            events,
            ws_out,
            tasks: vec![writer, reader, vfeed, afeed],
        }
    }

    pub fn received_from(&self, participant: &str) -> Received {
        self.counts
            .lock()
            .unwrap()
            .get(participant)
            .cloned()
            .unwrap_or_default()
    }

    /// A change of network: ICE restarts on a freshly bound socket (a new address for
    /// the server to find), with a new offer.
    pub async fn restart_ice(&self) {
        self.pc.restart_ice().await.unwrap();
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer).await.unwrap();
        // Not trickling: give the new socket's host candidate a moment to be gathered.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let offer = self.pc.local_description().await.unwrap();
        self.send(json!({"type": "offer", "sdp": offer.sdp}));
    }

    pub fn send(&self, msg: Value) {
        let _ = self.ws_out.send(Message::Text(msg.to_string().into()));
    }

    /// Wait for a server event of `kind` (other events are skipped).
    pub async fn wait_event(&mut self, kind: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline.into(), self.events.recv()).await {
                Ok(Some(v)) if v["type"] == kind => return v,
                Ok(Some(_)) => continue,
                _ => panic!("no {kind} event within {timeout:?}"),
            }
        }
    }

    /// Drop the signaling socket without `leave` (as a phone losing its network would),
    /// keeping the media connection.
    pub fn drop_signaling(&mut self) {
        for t in self.tasks.drain(..2) {
            t.abort();
        }
    }

    pub async fn close(self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.pc.close().await;
    }
}

/// Write one frame every `period`, read by `next_frame` from a reader `open` makes; start
/// over at the end of the file, stop when the connection is gone.
async fn feed<R>(
    track: Arc<TrackLocalStaticSample>,
    pt: u8,
    period: Duration,
    open: impl Fn() -> Option<R>,
    next_frame: impl Fn(&mut R) -> Option<bytes::Bytes>,
    probe_as: Option<String>,
) {
    let ssrc = track.ssrcs().await[0];
    while let Some(mut reader) = open() {
        let mut tick = tokio::time::interval(period);
        while let Some(data) = next_frame(&mut reader) {
            // The Ogg comment header ("OpusTags") that `OggReader` hands out as the first
            // page is no media: sent at once, it does not delay the audio by a frame
            // against the video (the recording drops it).
            if !data.starts_with(b"OpusTags") {
                tick.tick().await;
            }
            if let Some(who) = &probe_as {
                probe::sent(who, &data);
            }
            let sample = Sample {
                data,
                duration: period,
                ..Sample::new(Instant::now())
            };
            if track
                .sample_writer(ssrc, pt)
                .write_sample(&sample)
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Publishes the IVF file's frames; after a keyframe request from the server (PLI or
/// FIR), the next frame comes from the file's all-keyframe twin when there is one.
async fn feed_video(track: Arc<TrackLocalStaticSample>, pt: u8, file: PathBuf) {
    use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    use std::sync::atomic::{AtomicBool, Ordering};
    use webrtc::media_stream::track_local::TrackLocalEvent;
    let wanted = Arc::new(AtomicBool::new(false));
    // The request reader ends with the feed, however the feed ends (aborted by `close`).
    let _requests = {
        let (track, wanted) = (track.clone(), wanted.clone());
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            loop {
                match track.poll().await {
                    Some(TrackLocalEvent::OnRtcpPacket(pkts)) => {
                        if pkts.iter().any(|p| {
                            p.as_any().is::<PictureLossIndication>()
                                || p.as_any().is::<FullIntraRequest>()
                        }) {
                            wanted.store(true, Ordering::Relaxed);
                        }
                    }
                    Some(_) => {}
                    // Not bound (yet, or between negotiations).
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }))
    };
    let ivf = |path: &std::path::Path| {
        IVFReader::new(std::io::BufReader::new(std::fs::File::open(path).ok()?))
            .ok()
            .map(|(r, _)| r)
    };
    let twin = intra_twin(&file);
    let open = || Some((ivf(&file)?, twin.as_deref().and_then(ivf)));
    // 1/30 s, rounded up so that the packetizer's `(duration × 90 kHz) as u32` is 3000
    // ticks: a 33 ms period would run the video 1 % fast (10 ms per second ahead of the
    // audio).
    feed(
        track,
        pt,
        Duration::from_nanos(33_333_334),
        open,
        |(main, twin)| {
            let frame = main.parse_next_frame().ok()?.0.freeze();
            let key = twin
                .as_mut()
                .and_then(|t| t.parse_next_frame().ok())
                .map(|(f, _)| f.freeze());
            if starts_keyframe(VideoCodec::Vp8, &frame) {
                wanted.store(false, Ordering::Relaxed);
                return Some(frame);
            }
            match key {
                Some(key) if wanted.swap(false, Ordering::Relaxed) => Some(key),
                _ => Some(frame),
            }
        },
        None,
    )
    .await;
}

async fn feed_audio(track: Arc<TrackLocalStaticSample>, pt: u8, file: PathBuf, who: String) {
    let open = || {
        OggReader::new(
            std::io::BufReader::new(std::fs::File::open(&file).ok()?),
            true,
        )
        .ok()
        .map(|(r, _)| r)
    };
    feed(
        track,
        pt,
        Duration::from_millis(20),
        open,
        |r| r.parse_next_page().ok().map(|(p, _)| p.freeze()),
        Some(who),
    )
    .await
}
