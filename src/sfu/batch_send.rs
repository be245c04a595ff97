//! Sending a flush's datagrams with as few system calls as the kernel allows: the event
//! loop produces its datagrams in bursts (a publisher's packet goes to every subscriber
//! at once, and a video frame is several packets of one size). Datagrams to one
//! destination that share a size go out as one UDP GSO message (`UDP_SEGMENT`, Linux ≥
//! 4.18: the kernel cuts the buffer into datagrams); the rest go out together in one
//! `sendmmsg(2)`. Which datagrams form a message is decided by [`plan`], a pure function.
//! Both system calls are made with `libc` on stack-built headers, so sending allocates
//! nothing; tokio's readiness decides when to call them.

use bytes::BytesMut;
use rustix::net::SocketAddrAny;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::ops::Range;
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// At most this many datagrams per `sendmmsg` call (the kernel's UIO_MAXIOV is 1024).
const MAX_BATCH: usize = 64;
/// At most this many segments per GSO message (the kernel's UDP_MAX_SEGMENTS is 64 on
/// older kernels, 128 on newer).
const MAX_SEGMENTS: usize = 64;
/// GSO only for segments that fit an Ethernet MTU (a larger one the kernel would refuse
/// rather than fragment) and at most this many bytes per message (64 KiB UDP limit).
const MAX_SEGMENT_SIZE: usize = 1452;
const MAX_GSO_BYTES: usize = 60_000;

/// One system call's worth of datagrams: `range` of the (destination-grouped) list, all
/// to one destination and cut at `segment` bytes, or datagrams sent one per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Gso { range: Range<usize>, segment: usize },
    Each { range: Range<usize> },
}

/// Group `out` by destination (keeping each destination's order) and cut it into
/// messages: a run of equal-size datagrams to one destination, optionally ended by one
/// smaller datagram, is a GSO message when it has at least two; everything else is sent
/// datagram by datagram.
pub fn plan(out: &mut [(SocketAddr, BytesMut)], gso: bool, messages: &mut Vec<Message>) {
    messages.clear();
    // Stable: a destination's datagrams keep their order (DTLS records, RTP sequence).
    out.sort_by_key(|(to, _)| *to);
    let mut i = 0;
    let mut singles_from = 0;
    while i < out.len() {
        let (to, first) = (out[i].0, out[i].1.len());
        let mut end = i + 1;
        if gso && first <= MAX_SEGMENT_SIZE {
            let mut bytes = first;
            while end < out.len()
                && out[end].0 == to
                && end - i < MAX_SEGMENTS
                && bytes + out[end].1.len() <= MAX_GSO_BYTES
            {
                let len = out[end].1.len();
                if len > first || len == 0 {
                    break;
                }
                bytes += len;
                end += 1;
                if len < first {
                    break; // a shorter one can only be the last segment
                }
            }
        }
        if end - i >= 2 {
            if singles_from < i {
                messages.push(Message::Each {
                    range: singles_from..i,
                });
            }
            messages.push(Message::Gso {
                range: i..end,
                segment: first,
            });
            singles_from = end;
        }
        i = end;
    }
    if singles_from < out.len() {
        messages.push(Message::Each {
            range: singles_from..out.len(),
        });
    }
}

/// The state one socket's sender keeps between flushes.
#[derive(Debug)]
pub struct BatchSender {
    /// Off once the kernel or the device refused a GSO message (then never tried again).
    gso: bool,
    messages: Vec<Message>,
}

impl Default for BatchSender {
    fn default() -> Self {
        Self {
            gso: true,
            messages: Vec::new(),
        }
    }
}

/// What one [`BatchSender::send_all`] did (for /metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Datagrams the kernel took.
    pub datagrams: usize,
    /// GSO messages, and the datagrams they carried.
    pub gso_messages: usize,
    pub gso_datagrams: usize,
}

impl BatchSender {
    /// Send every datagram (reordered by destination). A datagram the kernel refuses is
    /// dropped and logged, as a failed UDP send is a packet lost on the wire.
    pub async fn send_all(
        &mut self,
        socket: &UdpSocket,
        out: &mut [(SocketAddr, BytesMut)],
    ) -> Sent {
        let mut messages = std::mem::take(&mut self.messages);
        plan(out, self.gso, &mut messages);
        let mut sent = Sent::default();
        for m in &messages {
            sent.datagrams += match m {
                Message::Each { range } => send_each(socket, &out[range.clone()]).await,
                Message::Gso { range, segment } => {
                    let group = &out[range.clone()];
                    match send_gso(socket, group, *segment).await {
                        Ok(()) => {
                            sent.gso_messages += 1;
                            sent.gso_datagrams += group.len();
                            group.len()
                        }
                        Err(e) if gso_unsupported(&e) => {
                            tracing::info!(error = %e, "UDP GSO refused: sending datagram by datagram");
                            self.gso = false;
                            send_each(socket, group).await
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, to = %group[0].0, "media send");
                            0
                        }
                    }
                }
            };
        }
        self.messages = messages;
        sent
    }
}

/// Errors that mean "no GSO here" (kernel without it, device without checksum offload)
/// rather than "this destination failed".
fn gso_unsupported(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(e),
        Some(Errno::IO | Errno::INVAL | Errno::NOPROTOOPT | Errno::OPNOTSUPP)
    )
}

/// One GSO message: the group's datagrams as one list of buffers, which the kernel cuts
/// into datagrams of `segment` bytes. Headers and control message are built on the stack.
async fn send_gso(
    socket: &UdpSocket,
    group: &[(SocketAddr, BytesMut)],
    segment: usize,
) -> io::Result<()> {
    socket
        .async_io(Interest::WRITABLE, || {
            let mut iovs = [EMPTY_IOVEC; MAX_SEGMENTS];
            for (iov, (_, d)) in iovs.iter_mut().zip(group) {
                *iov = iovec_of(d);
            }
            let to = SocketAddrAny::from(group[0].0);
            // One control message: UDP_SEGMENT with the segment size (a u16).
            let mut control = ControlBuffer([0; CONTROL_LEN]);
            // SAFETY: an all-zero msghdr is a valid empty one; every pointer set below
            // points into locals that outlive the `sendmsg` call.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = to.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = to.addr_len() as _;
            hdr.msg_iov = iovs.as_mut_ptr();
            hdr.msg_iovlen = group.len().min(MAX_SEGMENTS) as _;
            hdr.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
            // SAFETY: CMSG_SPACE only computes a size.
            hdr.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as _;
            // SAFETY: `msg_control` holds CONTROL_LEN bytes, room for one u16 control
            // message (CMSG_SPACE(2)), so the first header and its data are in bounds.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(&hdr);
                (*cmsg).cmsg_level = libc::SOL_UDP;
                (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(2) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, segment as u16);
            }
            // SAFETY: `hdr` is fully initialised and its buffers live until this returns.
            let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &hdr, libc::MSG_DONTWAIT) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        })
        .await
}

async fn send_each(socket: &UdpSocket, out: &[(SocketAddr, BytesMut)]) -> usize {
    let mut sent = 0;
    let mut rest = out;
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(MAX_BATCH)];
        match socket
            .async_io(Interest::WRITABLE, || send_chunk(socket, chunk))
            .await
        {
            Ok(n) if n > 0 => {
                sent += n;
                rest = &rest[n..];
            }
            Ok(_) => break,
            Err(e) => {
                // The first datagram of the chunk is the one refused (e.g. no route):
                // drop it and go on with the others.
                tracing::debug!(error = %e, to = %rest[0].0, "media send");
                rest = &rest[1..];
            }
        }
    }
    sent
}

/// One `sendmmsg(2)` for up to [`MAX_BATCH`] datagrams; how many the kernel took.
/// Its headers, addresses and buffer descriptors are built on the stack: a flush
/// allocates nothing.
fn send_chunk(socket: &UdpSocket, chunk: &[(SocketAddr, BytesMut)]) -> io::Result<usize> {
    let n = chunk.len().min(MAX_BATCH);
    let mut names = [const { MaybeUninit::<SocketAddrAny>::uninit() }; MAX_BATCH];
    let mut iovs = [EMPTY_IOVEC; MAX_BATCH];
    // SAFETY: all-zero mmsghdrs are valid empty ones.
    let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
    for (i, (to, d)) in chunk[..n].iter().enumerate() {
        let name = names[i].write(SocketAddrAny::from(*to));
        iovs[i] = iovec_of(d);
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = name.as_ptr() as *mut libc::c_void;
        h.msg_namelen = name.addr_len() as _;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
    }
    // SAFETY: the first `n` headers are initialised and point into `names`, `iovs` and
    // `chunk`, all of which outlive the call.
    let sent = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            hdrs.as_mut_ptr(),
            n as _,
            libc::MSG_DONTWAIT,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

const EMPTY_IOVEC: libc::iovec = libc::iovec {
    iov_base: std::ptr::null_mut(),
    iov_len: 0,
};

/// A buffer descriptor for `sendmsg`: the kernel only reads through it.
fn iovec_of(d: &[u8]) -> libc::iovec {
    libc::iovec {
        iov_base: d.as_ptr() as *mut libc::c_void,
        iov_len: d.len(),
    }
}

/// Room for one control message carrying a u16 (`CMSG_SPACE(2)` is 24 on 64-bit Linux),
/// aligned as `cmsghdr` requires.
const CONTROL_LEN: usize = 32;
#[repr(C, align(8))]
struct ControlBuffer([u8; CONTROL_LEN]);

#[cfg(test)]
mod tests {
    use super::*;

    fn dgrams(spec: &[(u16, usize)]) -> Vec<(SocketAddr, BytesMut)> {
        spec.iter()
            .enumerate()
            .map(|(i, (port, len))| {
                (
                    SocketAddr::from(([127, 0, 0, 1], *port)),
                    BytesMut::from(&vec![i as u8; *len][..]),
                )
            })
            .collect()
    }

    #[test]
    fn the_gso_control_buffer_holds_one_u16_control_message() {
        // SAFETY: CMSG_SPACE only computes a size.
        assert!(unsafe { libc::CMSG_SPACE(2) } as usize <= CONTROL_LEN);
    }

    #[test]
    fn equal_sizes_to_one_destination_form_a_gso_message_ended_by_a_shorter_one() {
        let mut out = dgrams(&[
            (1, 1200),
            (2, 1200),
            (1, 1200),
            (2, 80),
            (1, 700),
            (1, 1200),
            (1, 1200),
            (3, 1200),
        ]);
        let mut m = Vec::new();
        plan(&mut out, true, &mut m);
        // Port 1's five keep their order: 0, 2, 4 (shorter: ends the group), 5, 6.
        let order: Vec<u8> = out.iter().map(|(_, d)| d[0]).collect();
        assert_eq!(order, [0, 2, 4, 5, 6, 1, 3, 7]);
        assert_eq!(
            m,
            [
                Message::Gso {
                    range: 0..3,
                    segment: 1200
                },
                Message::Gso {
                    range: 3..5,
                    segment: 1200
                },
                Message::Gso {
                    range: 5..7,
                    segment: 1200
                },
                Message::Each { range: 7..8 },
            ]
        );
        // A larger datagram after a smaller one, a single per destination, no GSO.
        let mut out = dgrams(&[(1, 100), (1, 1200), (2, 5), (3, 5)]);
        plan(&mut out, true, &mut m);
        assert_eq!(m, [Message::Each { range: 0..4 }]);
        let mut out = dgrams(&[(1, 1200), (1, 1200)]);
        plan(&mut out, false, &mut m);
        assert_eq!(m, [Message::Each { range: 0..2 }]);
    }

    #[test]
    fn a_gso_message_stays_within_the_kernel_limits() {
        let mut out = dgrams(&vec![(1, 1000); 150]);
        let mut m = Vec::new();
        plan(&mut out, true, &mut m);
        assert_eq!(
            m,
            [
                Message::Gso {
                    range: 0..60,
                    segment: 1000
                },
                Message::Gso {
                    range: 60..120,
                    segment: 1000
                },
                Message::Gso {
                    range: 120..150,
                    segment: 1000
                },
            ]
        );
        let mut out = dgrams(&[(1, 1500), (1, 1500)]);
        plan(&mut out, true, &mut m);
        assert_eq!(m, [Message::Each { range: 0..2 }], "above an Ethernet MTU");
    }

    #[tokio::test]
    async fn a_batch_reaches_several_destinations_in_order_as_separate_datagrams() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // To a: runs of three 1100-byte datagrams and a 300-byte one (a video frame);
        // to b: 40-byte ones. Each datagram's bytes say which it was.
        let mut out: Vec<(SocketAddr, BytesMut)> = (0..80u8)
            .map(|i| {
                if i % 5 == 4 {
                    (ba, BytesMut::from(&[i; 40][..]))
                } else {
                    let len = if i % 5 == 3 { 300 } else { 1100 };
                    (aa, BytesMut::from(&vec![i; len][..]))
                }
            })
            .collect();
        let sent = BatchSender::default().send_all(&tx, &mut out).await;
        // 16 frames to a, and b's 16 equal datagrams in one message.
        assert_eq!(
            sent,
            Sent {
                datagrams: 80,
                gso_messages: 17,
                gso_datagrams: 80
            },
            "loopback takes GSO"
        );
        let mut buf = [0u8; 2048];
        for i in (0..80u8).filter(|i| i % 5 != 4) {
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(n, if i % 5 == 3 { 300 } else { 1100 }, "datagram {i}");
            assert!(buf[..n].iter().all(|&x| x == i), "datagram {i}");
        }
        for i in (0..80u8).filter(|i| i % 5 == 4) {
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!((n, buf[0]), (40, i));
        }
    }
}
