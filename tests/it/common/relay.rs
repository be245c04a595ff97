//! A UDP relay between a test client and the media server that can lose packets: the
//! weak mobile network of a party, on loopback. The client is told the server is at the
//! relay's address (its SDP is rewritten); the relay forwards both ways and drops the
//! given share of the server's media (SRTP/SRTCP) on the way to the client, never STUN
//! or DTLS, so the connection itself holds while its media suffers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tokio::net::UdpSocket;

pub struct LossyRelay {
    pub addr: SocketAddr,
    /// Per mille of the server's media dropped on its way to the client.
    loss_permille: Arc<AtomicU32>,
    pub dropped: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyRelay {
    pub async fn start(server: SocketAddr) -> LossyRelay {
        let to_client = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = to_client.local_addr().unwrap();
        let to_server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let loss_permille = Arc::new(AtomicU32::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let (loss, drops) = (loss_permille.clone(), dropped.clone());
        let task = tokio::spawn(async move {
            let mut client: Option<SocketAddr> = None;
            let (mut a, mut b) = (vec![0u8; 2048], vec![0u8; 2048]);
            // A small deterministic generator: the same drops every run.
            let mut x: u64 = 0x2545_F491_4F6C_DD1D;
            loop {
                tokio::select! {
                    r = to_client.recv_from(&mut a) => {
                        let Ok((n, from)) = r else { return };
                        client = Some(from);
                        let _ = to_server.send_to(&a[..n], server).await;
                    }
                    r = to_server.recv_from(&mut b) => {
                        let Ok((n, _)) = r else { return };
                        let Some(c) = client else { continue };
                        // RFC 7983: 128–191 is RTP/RTCP; STUN (0–3) and DTLS (20–63) pass.
                        if (128..=191).contains(&b[0]) {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            if (x % 1000) < u64::from(loss.load(Ordering::Relaxed)) {
                                drops.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        }
                        let _ = to_client.send_to(&b[..n], c).await;
                    }
                }
            }
        });
        LossyRelay {
            addr,
            loss_permille,
            dropped,
            task,
        }
    }

    pub fn set_loss_permille(&self, permille: u32) {
        self.loss_permille.store(permille, Ordering::Relaxed);
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
