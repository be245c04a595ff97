use crate::peer_connection::event::{RTCEventInternal, TaggedRTCEventInternal};
use crate::peer_connection::message::internal::{
    RTCMessageInternal, RTPMessage, TaggedRTCMessageInternal,
};

use interceptor::Packet;
use log::debug;
use shared::error::{Error, Result};
use shared::marshal::{Marshal, MarshalSize};
use shared::util::is_rtcp;
use srtp::context::Context;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Default)]
pub(crate) struct SrtpHandlerContext {
    pub(crate) local_srtp_context: Option<Context>,
    pub(crate) remote_srtp_context: Option<Context>,

    pub(crate) read_outs: VecDeque<TaggedRTCMessageInternal>,
    pub(crate) write_outs: VecDeque<TaggedRTCMessageInternal>,
    pub(crate) event_outs: VecDeque<TaggedRTCEventInternal>,

    /// (yunting) Where each outgoing RTP or RTCP packet is marshalled before it is encrypted into its
    /// own buffer: reused, where `marshal()` allocated per packet.
    pub(crate) marshal_scratch: Vec<u8>,

    /// (yunting) Header-extension lists the application handed back
    /// ([`RTCPeerConnection::recycle_header_extensions`](crate::peer_connection::RTCPeerConnection::recycle_header_extensions)),
    /// which received packets' headers are parsed into instead of new ones.
    pub(crate) spare_extension_lists: Vec<Vec<rtp::header::Extension>>,
}

/// Spare extension lists kept per connection: a few per stream in flight is plenty.
pub(crate) const MAX_SPARE_EXTENSION_LISTS: usize = 32;

/// SrtpHandler implements SRTP/RTP/RTCP Protocols handling
pub(crate) struct SrtpHandler<'a> {
    ctx: &'a mut SrtpHandlerContext,
}

/// (yunting) `write` marshals a packet of `size` bytes into `scratch`, which is kept and
/// reused across packets where `marshal()` allocated a buffer for each; the bytes written.
fn marshal_into(
    scratch: &mut Vec<u8>,
    size: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize>,
) -> Result<&[u8]> {
    scratch.clear();
    scratch.resize(size, 0);
    let n = write(scratch)?;
    Ok(&scratch[..n])
}

/// (yunting) Decrypt an SRTP packet, parsing its header once.
///
/// `Context::decrypt_rtp` parsed the header from a slice (copying each extension's payload)
/// and `Packet::unmarshal` parsed it again from the decrypted copy. The header is not
/// encrypted, so it is parsed once from the received buffer, whose extension payloads it
/// then shares rather than copies; the payload is the decrypted buffer past the header,
/// less any padding, as `Packet::unmarshal` takes it.
fn decrypt_rtp_packet(
    context: &mut Context,
    encrypted: bytes::Bytes,
    extensions: Vec<rtp::header::Extension>,
) -> Result<rtp::Packet> {
    let header = rtp::Header::unmarshal_reusing(&mut encrypted.clone(), extensions)?;
    let decrypted = context
        .decrypt_rtp_with_header(&encrypted, &header)?
        .freeze();
    let header_len = header.marshal_size();
    if decrypted.len() < header_len {
        return Err(Error::ErrShortPacket);
    }
    let mut payload = decrypted.slice(header_len..);
    if header.padding {
        let padding = payload.last().copied().ok_or(Error::ErrShortPacket)? as usize;
        if padding > payload.len() {
            return Err(Error::ErrShortPacket);
        }
        payload.truncate(payload.len() - padding);
    }
    Ok(rtp::Packet { header, payload })
}

impl<'a> SrtpHandler<'a> {
    pub(crate) fn new(ctx: &'a mut SrtpHandlerContext) -> Self {
        SrtpHandler { ctx }
    }

    pub(crate) fn name(&self) -> &'static str {
        "SrtpHandler"
    }
}

impl<'a>
    sansio::Protocol<TaggedRTCMessageInternal, TaggedRTCMessageInternal, TaggedRTCEventInternal>
    for SrtpHandler<'a>
{
    type Rout = TaggedRTCMessageInternal;
    type Wout = TaggedRTCMessageInternal;
    type Eout = TaggedRTCEventInternal;
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedRTCMessageInternal) -> Result<()> {
        if let RTCMessageInternal::Rtp(RTPMessage::Raw(message)) = msg.message {
            debug!("srtp read {:?}", msg.transport.peer_addr);

            #[allow(clippy::collapsible_else_if)]
            if is_rtcp(&message) {
                if let Some(context) = self.ctx.remote_srtp_context.as_mut() {
                    let mut decrypted = context.decrypt_rtcp(&message)?;
                    let rtcp_packets = rtcp::packet::unmarshal(&mut decrypted)?;
                    if rtcp_packets.is_empty() {
                        return Err(Error::Other("empty rtcp_packets".to_string()));
                    }

                    self.ctx.read_outs.push_back(TaggedRTCMessageInternal {
                        now: msg.now,
                        transport: msg.transport,
                        message: RTCMessageInternal::Rtp(RTPMessage::Packet(Packet::Rtcp(
                            rtcp_packets,
                        ))),
                    });
                } else {
                    return Err(Error::Other(format!(
                        "remote_srtp_context is not set yet for rtcp_packet {:?}",
                        msg.transport.peer_addr
                    )));
                }
            } else {
                if let Some(context) = self.ctx.remote_srtp_context.as_mut() {
                    let spare = self.ctx.spare_extension_lists.pop().unwrap_or_default();
                    let rtp_packet = decrypt_rtp_packet(context, message.freeze(), spare)?;

                    self.ctx.read_outs.push_back(TaggedRTCMessageInternal {
                        now: msg.now,
                        transport: msg.transport,
                        message: RTCMessageInternal::Rtp(RTPMessage::Packet(Packet::Rtp(
                            rtp_packet,
                        ))),
                    });
                } else {
                    return Err(Error::Other(format!(
                        "remote_srtp_context is not set yet for rtp_packet {:?}",
                        msg.transport.peer_addr
                    )));
                }
            }
        } else {
            debug!("bypass srtp read {:?}", msg.transport.peer_addr);
            self.ctx.read_outs.push_back(msg);
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.ctx.read_outs.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedRTCMessageInternal) -> Result<()> {
        if let RTCMessageInternal::Rtp(message) = msg.message {
            debug!("srtp write {:?}", msg.transport.peer_addr);

            let encrypted = match message {
                RTPMessage::Packet(Packet::Rtcp(rtcp_packets)) => {
                    if rtcp_packets.is_empty() {
                        return Err(Error::Other("empty rtcp_packets".to_string()));
                    };

                    if let Some(context) = self.ctx.local_srtp_context.as_mut() {
                        // As rtcp::packet::marshal, into the kept buffer.
                        let size = rtcp_packets.iter().map(|p| p.marshal_size()).sum();
                        let packet = marshal_into(&mut self.ctx.marshal_scratch, size, |buf| {
                            let mut offset = 0;
                            for p in &rtcp_packets {
                                offset += p.marshal_to(&mut buf[offset..])?;
                            }
                            Ok(offset)
                        })?;
                        context.encrypt_rtcp(packet)?
                    } else {
                        return Err(Error::Other(format!(
                            "local_srp_context is not set yet for rtcp_packet {:?}",
                            msg.transport.peer_addr
                        )));
                    }
                }
                RTPMessage::Packet(Packet::Rtp(rtp_message)) => {
                    if let Some(context) = self.ctx.local_srtp_context.as_mut() {
                        let packet = marshal_into(
                            &mut self.ctx.marshal_scratch,
                            rtp_message.marshal_size(),
                            |buf| rtp_message.marshal_to(buf),
                        )?;
                        context.encrypt_rtp_with_header(packet, &rtp_message.header)?
                    } else {
                        return Err(Error::Other(format!(
                            "local_srtp_context is not set yet for rtp_packet {:?}",
                            msg.transport.peer_addr
                        )));
                    }
                }
                RTPMessage::Raw(raw_packet) => {
                    // Bypass
                    debug!("Bypass srtp write {:?}", msg.transport.peer_addr);
                    raw_packet
                }
                RTPMessage::TrackPacket(_) => {
                    return Err(Error::Other(
                        "application level track message should never reach here".to_string(),
                    ));
                }
                RTPMessage::Packet(_) => {
                    return Err(Error::Other(
                        "unsupported packet kind for srtp write".to_string(),
                    ));
                }
            };

            self.ctx.write_outs.push_back(TaggedRTCMessageInternal {
                now: msg.now,
                transport: msg.transport,
                message: RTCMessageInternal::Rtp(RTPMessage::Raw(encrypted)),
            });
        } else {
            // Bypass
            debug!("Bypass srtp write {:?}", msg.transport.peer_addr);
            self.ctx.write_outs.push_back(msg);
        }
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.ctx.write_outs.pop_front()
    }

    fn handle_event(&mut self, mut evt: TaggedRTCEventInternal) -> Result<()> {
        if let RTCEventInternal::DTLSHandshakeComplete(local_srtp_context, remote_srtp_context) =
            &mut evt.event
        {
            debug!("srtp recv dtls handshake complete");

            self.ctx.local_srtp_context = local_srtp_context.take();
            self.ctx.remote_srtp_context = remote_srtp_context.take()
        }

        self.ctx.event_outs.push_back(evt);

        Ok(())
    }

    fn poll_event(&mut self) -> Option<Self::Eout> {
        self.ctx.event_outs.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<()> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
