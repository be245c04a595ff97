//! ICE-TCP (RFC 6544, passive): one listener for networks that block UDP. Each connection
//! carries RFC 4571-framed packets; a reader task de-frames them into the event loop, a
//! writer task frames what the loop sends back. The loop demultiplexes them exactly like
//! UDP datagrams (STUN username first, then the connection's address). Every loop learns
//! of each connection (to send on it); its packets go to the first loop, which hands them
//! to the owner's loop like a datagram that reached the wrong socket.

use rtc::shared::tcp_framing::{TcpFrameDecoder, frame_packet};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub enum TcpEvent {
    Opened {
        peer: SocketAddr,
        writer: mpsc::UnboundedSender<bytes::BytesMut>,
    },
    Packet {
        peer: SocketAddr,
        data: Vec<u8>,
    },
    Closed {
        peer: SocketAddr,
    },
}

/// Largest frame accepted (an RTP packet or a DTLS record is far smaller).
const MAX_FRAME: usize = 16 * 1024;

pub async fn accept(listener: TcpListener, loops: Vec<mpsc::Sender<TcpEvent>>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let loops = loops.clone();
        tokio::spawn(async move {
            let (mut rd, mut wr) = stream.into_split();
            let (writer, mut outgoing) = mpsc::unbounded_channel::<bytes::BytesMut>();
            for l in &loops {
                let writer = writer.clone();
                if l.send(TcpEvent::Opened { peer, writer }).await.is_err() {
                    return;
                }
            }
            drop(writer);
            let events = &loops[0];
            let write_task = tokio::spawn(async move {
                while let Some(data) = outgoing.recv().await {
                    if wr.write_all(&frame_packet(&data)).await.is_err() {
                        break;
                    }
                }
            });
            let mut decoder = TcpFrameDecoder::new();
            let mut buf = vec![0u8; 4096];
            'read: loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        decoder.extend_from_slice(&buf[..n]);
                        while let Some(packet) = decoder.next_packet() {
                            if packet.len() > MAX_FRAME
                                || events
                                    .send(TcpEvent::Packet { peer, data: packet })
                                    .await
                                    .is_err()
                            {
                                break 'read;
                            }
                        }
                    }
                }
            }
            write_task.abort();
            for l in &loops {
                let _ = l.send(TcpEvent::Closed { peer }).await;
            }
        });
    }
}
