//! Sending a flush's datagrams in one `sendmmsg(2)` call instead of one `sendto(2)` each:
//! the event loop produces its datagrams in bursts (a publisher's packet goes to every
//! subscriber at once), and a system call per datagram was a tenth of the server's CPU.
//! `rustix` provides the call; tokio's readiness decides when to make it.

use bytes::BytesMut;
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// At most this many datagrams per call (the kernel's UIO_MAXIOV is 1024).
const MAX_BATCH: usize = 64;

/// Send every datagram; returns how many the kernel took (the rest are reported as
/// errors: a UDP send that fails is a dropped packet, as on the wire).
pub async fn send_all(socket: &UdpSocket, out: &[(SocketAddr, BytesMut)]) -> usize {
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

fn send_chunk(socket: &UdpSocket, chunk: &[(SocketAddr, BytesMut)]) -> io::Result<usize> {
    let addrs: Vec<SocketAddrAny> = chunk.iter().map(|(a, _)| SocketAddrAny::from(*a)).collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|(_, d)| [IoSlice::new(d)]).collect();
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = (0..chunk.len())
        .map(|_| SendAncillaryBuffer::default())
        .collect();
    let mut msgs: Vec<MMsgHdr<'_>> = addrs
        .iter()
        .zip(&iovs)
        .zip(controls.iter_mut())
        .map(|((a, iov), c)| MMsgHdr::new_with_addr(a, iov, c))
        .collect();
    sendmmsg(socket, &mut msgs, SendFlags::DONTWAIT).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_reaches_several_destinations_in_order() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let out: Vec<(SocketAddr, BytesMut)> = (0..150u8)
            .map(|i| {
                (
                    if i % 3 == 0 { ba } else { aa },
                    BytesMut::from(&[i; 40][..]),
                )
            })
            .collect();
        assert_eq!(send_all(&tx, &out).await, 150);
        let mut buf = [0u8; 64];
        let mut got_a = Vec::new();
        while got_a.len() < 100 {
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(n, 40);
            got_a.push(buf[0]);
        }
        let want_a: Vec<u8> = (0..150u8).filter(|i| i % 3 != 0).collect();
        assert_eq!(got_a, want_a);
        for i in (0..150u8).filter(|i| i % 3 == 0) {
            b.recv(&mut buf).await.unwrap();
            assert_eq!(buf[0], i);
        }
    }
}
