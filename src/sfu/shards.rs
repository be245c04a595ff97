//! Spreading hearings over several event loops, one per core, that share the one media
//! port. Each loop owns whole hearings, so forwarding never crosses loops; only the
//! kernel does not know that: it hands a datagram to whichever of the port's sockets its
//! address hashes to (`SO_REUSEPORT`). The [`Router`], shared by all loops, says which
//! participant (and so which loop) a datagram belongs to; a loop that receives another's
//! datagram passes it on through that loop's inbox.
//!
//! Participant ids carry their loop: loop `k` of `n` hands out `k + n`, `k + 2n`, …, so
//! a command for a participant needs no table to find its loop.

use super::demux::{Demux, Transport};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The loop that owns hearing `hearing`, of `n`.
pub fn shard_of_hearing(hearing: i64, n: usize) -> usize {
    (hearing.rem_euclid(n as i64)) as usize
}

/// The loop that owns participant `id`, of `n` (see the module docs).
pub fn shard_of_participant(id: u64, n: usize) -> usize {
    (id % n as u64) as usize
}

/// Participant ids handed out by loop `shard` of `n`, in order.
#[derive(Debug)]
pub struct ParticipantIds {
    next: u64,
    step: u64,
}

impl ParticipantIds {
    pub fn new(shard: usize, n: usize) -> Self {
        Self {
            next: (shard + n) as u64,
            step: n as u64,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += self.step;
        id
    }
}

/// What the loops count together, for `/metrics` (added to once per handed datagram or
/// per flush, never read on the media path).
#[derive(Debug, Default)]
pub struct LoopCounters {
    /// Datagrams one loop received for another loop's participant.
    pub handed_over: AtomicU64,
    /// UDP datagrams sent, and how many of them went out inside GSO messages.
    pub datagrams_sent: AtomicU64,
    pub gso_datagrams: AtomicU64,
    pub gso_messages: AtomicU64,
    /// Heap allocations made on the loops' threads (`crate::alloc_count`).
    pub heap_allocations: AtomicU64,
    /// Of which on the per-packet path: reading RTP, forwarding it, encrypting and
    /// sending what the loop flushes.
    pub forwarding_heap_allocations: AtomicU64,
}

impl LoopCounters {
    pub fn add(c: &AtomicU64, n: u64) {
        if n > 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn prometheus(&self, loops: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "# HELP yunting_sfu_event_loops Media event loops (one per core).\n# TYPE yunting_sfu_event_loops gauge\nyunting_sfu_event_loops {loops}\n\
             # HELP yunting_sfu_datagrams_handed_over Datagrams one loop received for another loop's participant.\n# TYPE yunting_sfu_datagrams_handed_over counter\nyunting_sfu_datagrams_handed_over {}\n\
             # HELP yunting_sfu_datagrams_sent UDP datagrams sent.\n# TYPE yunting_sfu_datagrams_sent counter\nyunting_sfu_datagrams_sent {}\n\
             # HELP yunting_sfu_gso_datagrams Datagrams sent inside UDP GSO messages.\n# TYPE yunting_sfu_gso_datagrams counter\nyunting_sfu_gso_datagrams {}\n\
             # HELP yunting_sfu_gso_messages UDP GSO messages sent.\n# TYPE yunting_sfu_gso_messages counter\nyunting_sfu_gso_messages {}\n\
             # HELP yunting_sfu_loop_heap_allocations Heap allocations made on the media loops' threads (zero unless the binary counts them).\n# TYPE yunting_sfu_loop_heap_allocations counter\nyunting_sfu_loop_heap_allocations {}\n\
             # HELP yunting_sfu_forwarding_heap_allocations Of those, made on the per-packet path (RTP read, forwarding, flush).\n# TYPE yunting_sfu_forwarding_heap_allocations counter\nyunting_sfu_forwarding_heap_allocations {}\n",
            get(&self.handed_over),
            get(&self.datagrams_sent),
            get(&self.gso_datagrams),
            get(&self.gso_messages),
            get(&self.heap_allocations),
            get(&self.forwarding_heap_allocations),
        )
    }
}

/// A datagram (or ICE-TCP frame) received by one loop for a participant of another.
pub struct Inbound {
    pub participant: u64,
    pub transport: Transport,
    pub from: SocketAddr,
    pub data: BytesMut,
}

/// Who owns a remote address or ICE username, shared by every loop. Reads (every
/// non-STUN packet) take the read lock for one hash lookup; writes happen on STUN
/// binding requests (a few per second per participant), joins and leaves. The lock is
/// never held across an await.
#[derive(Clone, Default)]
pub struct Router(Arc<RwLock<Demux<u64>>>);

impl Router {
    /// Which participant a packet from `from` belongs to; a STUN request naming one of
    /// our ufrags (binds `from` to it).
    pub fn route(
        &self,
        transport: Transport,
        from: SocketAddr,
        ufrag: Option<&str>,
    ) -> Option<u64> {
        match ufrag {
            Some(_) => self.write().route(transport, from, ufrag),
            None => self.read().lookup(transport, from),
        }
    }

    pub fn set_ufrag(&self, ufrag: String, participant: u64) {
        self.write().set_ufrag(ufrag, participant);
    }

    pub fn forget(&self, transport: Transport, from: SocketAddr) {
        self.write().forget(transport, from);
    }

    pub fn remove(&self, participant: u64) {
        self.write().remove(participant);
    }

    // A panic elsewhere while holding the lock cannot leave the maps half-changed (each
    // change is one insert or retain), so a poisoned lock is still used.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Demux<u64>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Demux<u64>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_loop_and_never_repeat() {
        for n in 1..5 {
            let mut seen = std::collections::HashSet::new();
            for shard in 0..n {
                let mut ids = ParticipantIds::new(shard, n);
                for _ in 0..50 {
                    let id = ids.next_id();
                    assert!(id > 0, "0 is never a participant");
                    assert_eq!(shard_of_participant(id, n), shard);
                    assert!(seen.insert(id), "id {id} handed out twice");
                }
            }
        }
    }

    #[test]
    fn hearings_spread_over_every_loop() {
        let n = 3;
        let mut count = [0; 3];
        for h in 1..=30 {
            count[shard_of_hearing(h, n)] += 1;
        }
        assert_eq!(count, [10, 10, 10]);
        assert!(shard_of_hearing(-4, n) < n);
    }

    #[test]
    fn every_loop_sees_what_any_loop_learned() {
        let r = Router::default();
        let other = r.clone();
        let a: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        r.set_ufrag("abcd".into(), 7);
        assert_eq!(other.route(Transport::Udp, a, None), None);
        assert_eq!(other.route(Transport::Udp, a, Some("abcd")), Some(7));
        assert_eq!(r.route(Transport::Udp, a, None), Some(7));
        r.remove(7);
        assert_eq!(other.route(Transport::Udp, a, None), None);
    }
}
