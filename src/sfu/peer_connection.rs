//! How the server's side of each participant's WebRTC connection is built on the sans-IO
//! `rtc` core: the codecs we forward (Opus; VP8 and H.264 for video, since iOS Safari
//! prefers H.264), NACK/RTX, RTCP reports and TWCC from the stack's interceptors, and one
//! host candidate: the shared media port.

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability,
    RtpCodecKind, TYPE_RTCP_FB_TRANSPORT_CC,
};
use rtc::sansio::Protocol;
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Lets the inbound RTCP the SFU acts on reach it: by default the interceptor chain's
/// terminus drops inbound RTCP. A subscriber's keyframe request (PLI/FIR) must be relayed
/// to the publisher for a late joiner to see a picture quickly, and a publisher's sender
/// report (NTP ↔ RTP time of its stream) goes into the recording, which post-processing
/// uses to put audio and video on one clock; and the report blocks of receiver (and
/// sender) reports say how much of what we send each subscriber is lost, which drives its
/// bandwidth estimate and layer choice.
#[derive(Default)]
pub struct DeliverKeyframeRequests {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for DeliverKeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(pkts) = &msg.message.packet
            && pkts.iter().any(|p| {
                p.as_any().downcast_ref::<PictureLossIndication>().is_some()
                    || p.as_any().downcast_ref::<FullIntraRequest>().is_some()
                    || p.as_any().downcast_ref::<SenderReport>().is_some()
                    || p.as_any().downcast_ref::<ReceiverReport>().is_some()
            })
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for DeliverKeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

/// The publisher's streams we acknowledge in RTCP report blocks: the ones opened without
/// a simulcast RID. Browsers stop stamping a stream's MID/RID header extensions once a
/// report block acknowledges its SSRC, and `rtc` 0.21 forgets a simulcast layer's SSRC
/// at every renegotiation (`start_rtp` re-creates the receiver's codings with no SSRC)
/// and can only bind it again from those extensions: without this, a publisher's video
/// stopped for good the first time the server re-offered to add someone's tracks. A
/// stream is held back until it opens as a plain one, so a report written in the moment
/// between a layer's first packet and the event loop seeing it cannot slip through.
/// Shared with the event loop, which adds each plain stream as it opens.
pub type AckableSsrcs = Arc<Mutex<HashSet<u32>>>;

/// Keeps only report blocks about [`AckableSsrcs`] in the receiver and sender reports
/// the stack writes (at a slot below the report generators, which write from high to
/// low).
pub struct HoldSimulcastAcks {
    ackable: AckableSsrcs,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl HoldSimulcastAcks {
    pub fn new(ackable: AckableSsrcs) -> Self {
        Self {
            ackable,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }

    fn filter(&self, pkts: &mut [Box<dyn rtc::rtcp::Packet>]) {
        let ok = self.ackable.lock().unwrap_or_else(|e| e.into_inner());
        for p in pkts.iter_mut() {
            if let Some(rr) = p.as_any().downcast_ref::<ReceiverReport>()
                && rr.reports.iter().any(|r| !ok.contains(&r.ssrc))
            {
                let mut rr = rr.clone();
                rr.reports.retain(|r| ok.contains(&r.ssrc));
                *p = Box::new(rr);
            } else if let Some(sr) = p.as_any().downcast_ref::<SenderReport>()
                && sr.reports.iter().any(|r| !ok.contains(&r.ssrc))
            {
                let mut sr = sr.clone();
                sr.reports.retain(|r| ok.contains(&r.ssrc));
                *p = Box::new(sr);
            }
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for HoldSimulcastAcks {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(pkts) = &mut msg.message.packet {
            self.filter(pkts);
        }
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for HoldSimulcastAcks {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

fn media_engine() -> rtc::shared::error::Result<MediaEngine> {
    let mut me = MediaEngine::default();
    let fb = |t: &str, p: &str| RTCPFeedback {
        typ: t.into(),
        parameter: p.into(),
    };
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    let video_fb = vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")];
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.into(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: video_fb.clone(),
            },
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )?;
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_H264.into(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line:
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
                rtcp_feedback: video_fb,
            },
            payload_type: 102,
        },
        RtpCodecKind::Video,
    )?;
    Ok(me)
}

/// Transport-wide congestion control for what participants send us: the transport-cc
/// extension and feedback are negotiated and the TWCC receiver answers each publisher's
/// packets, so a phone's own send-side estimate can adapt its uplink. Unlike `rtc`'s
/// `configure_twcc`, no TWCC *sender* is installed: stamping a transport-wide sequence
/// number on every forwarded packet cost two heap allocations and a longer packet each,
/// for feedback this server does not read (its per-subscriber estimate comes from receiver
/// reports, `media::bandwidth`). Subscribers simply send no TWCC feedback then.
fn configure_twcc_feedback(
    registry: Registry,
    me: &mut MediaEngine,
) -> rtc::shared::error::Result<Registry> {
    for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
        me.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_TRANSPORT_CC.to_owned(),
                ..Default::default()
            },
            kind,
        );
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: rtc::sdp::extmap::TRANSPORT_CC_URI.to_owned(),
            },
            kind,
            None,
        )?;
    }
    Ok(registry.with(
        Slot::TwccReceiver,
        rtc::interceptor::TwccReceiverBuilder::new().build(),
    ))
}

/// Packets of each forwarded video kept for retransmission on a subscriber's NACK:
/// 256 is 1–2.5 s of video at 100–250 packets/s, longer than any retransmission that
/// can still arrive in time to be played. `rtc`'s default of 1024 kept about 10 s, and
/// with it the packets' buffers: most of a participant's memory.
const NACK_HISTORY: u16 = 256;

/// A fresh server-side connection whose only local candidate is the shared media port.
pub fn build(
    candidate: SocketAddr,
    tcp_candidate: Option<SocketAddr>,
    now: Instant,
    ackable: AckableSsrcs,
) -> rtc::shared::error::Result<RTCPeerConnection> {
    let mut me = media_engine()?;
    let registry = Registry::new()
        .with(Slot::from(14_000), DeliverKeyframeRequests::default())
        .with(Slot::from(9_500), HoldSimulcastAcks::new(ackable));
    // NACK feedback is in the codecs above; the responder keeps a shorter history than
    // `rtc`'s 1024 packets (see NACK_HISTORY).
    let registry = registry
        .with(
            Slot::NackResponder,
            rtc::interceptor::NackResponderBuilder::new()
                .with_size(NACK_HISTORY)
                .build(),
        )
        .with(
            Slot::NackGenerator,
            rtc::interceptor::NackGeneratorBuilder::new().build(),
        );
    configure_simulcast_extension_headers(&mut me)?;
    let registry = configure_twcc_feedback(registry, &mut me)?;
    let registry = configure_rtcp_reports(registry);
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_media_engine(me)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .build(now)?;
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: candidate.ip().to_string(),
            port: candidate.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    if let Some(tcp) = tcp_candidate {
        let passive = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "tcp".to_owned(),
                address: tcp.ip().to_string(),
                port: tcp.port(),
                component: 1,
                ..Default::default()
            },
            tcp_type: rtc::ice::tcp_type::TcpType::Passive,
        }
        .new_candidate_host()?;
        pc.add_local_candidate(RTCIceCandidate::from(&passive).to_json()?)?;
    }
    // End of gathering: the server's candidates are known up front.
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    // The loop knows every stream by its SSRC: no copy of the track id per received packet.
    pc.omit_track_ids_of_received_rtp(true);
    Ok(pc)
}

/// The client's ICE username fragment, from its offer: a new one is an ICE restart.
pub fn remote_ufrag(sdp: &str) -> Option<String> {
    local_ufrag(sdp)
}

/// Our ICE username fragment, from an SDP we produced.
pub fn local_ufrag(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(|u| u.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use rtc::rtp::Header;
    use rtc::shared::marshal::Unmarshal;

    /// A browser's packet header: one-byte extensions (RFC 8285) ids 1, 3 and 4 in a
    /// three-word block, the rest of it padding.
    fn browser_header() -> Vec<u8> {
        let mut h = vec![
            0x90, 0x60, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef,
        ];
        h.extend_from_slice(&[0xbe, 0xde, 0x00, 0x03]);
        h.extend_from_slice(&[0x10, 0x01, 0x31, 0x01, 0x02, 0x40, 0x07, 0, 0, 0, 0, 0]);
        h
    }

    /// The vendored `Header::unmarshal_reusing` (what the SFU's connections parse received
    /// packets with, into lists the forwarding hands back) reads what `unmarshal` reads,
    /// into the list it is given.
    #[test]
    fn headers_parsed_into_a_handed_back_list_equal_freshly_parsed_ones() {
        let raw = bytes::Bytes::from(browser_header());
        let fresh = Header::unmarshal(&mut raw.clone()).unwrap();
        assert_eq!(fresh.extensions.len(), 3);

        let mut list = Vec::with_capacity(8);
        list.push(rtc::rtp::header::Extension {
            id: 9,
            payload: bytes::Bytes::from_static(b"stale"),
        });
        let at = list.as_ptr();
        let reused = Header::unmarshal_reusing(&mut raw.clone(), list).unwrap();
        assert_eq!(reused, fresh);
        assert_eq!(
            reused.extensions.as_ptr(),
            at,
            "the list given is the list used"
        );

        // Without extensions the list comes back empty, still with its room.
        let plain = bytes::Bytes::from_static(&[0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
        let h = Header::unmarshal_reusing(&mut plain.clone(), reused.extensions).unwrap();
        assert_eq!(h, Header::unmarshal(&mut plain.clone()).unwrap());
        assert!(h.extensions.capacity() >= 8);
    }
}
