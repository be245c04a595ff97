//! One UDP port for every participant: a datagram belongs to the connection whose ICE
//! username fragment it names (STUN, RFC 8445) or, after that, to whoever last proved to
//! own its source address. Binding on every STUN request follows a phone that moves
//! between Wi-Fi and cellular (a new address after an ICE restart).

use rtc::stun::attributes::ATTR_USERNAME;
use rtc::stun::message::Message as StunMessage;
use rtc::stun::textattrs::TextAttribute;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

/// The local (our) ufrag named by a STUN binding request's USERNAME `ours:theirs`.
pub fn stun_local_ufrag(buf: &[u8]) -> Option<String> {
    // RFC 7983: STUN's first byte is 0..=3; anything else is DTLS/RTP/RTCP.
    if buf.is_empty() || buf[0] > 3 {
        return None;
    }
    let mut m = StunMessage::new();
    m.unmarshal_binary(buf).ok()?;
    let user = TextAttribute::get_from_as(&m, ATTR_USERNAME).ok()?.text;
    user.split(':').next().map(str::to_owned)
}

/// UDP datagram or ICE-TCP connection (RFC 6544): the same address may appear on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

#[derive(Debug)]
pub struct Demux<K> {
    by_ufrag: HashMap<String, K>,
    by_addr: HashMap<(Transport, SocketAddr), K>,
}

impl<K: Copy + Eq + Hash> Default for Demux<K> {
    fn default() -> Self {
        Self {
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Demux<K> {
    pub fn set_ufrag(&mut self, ufrag: String, key: K) {
        self.by_ufrag.retain(|_, k| *k != key);
        self.by_ufrag.insert(ufrag, key);
    }

    /// Which connection a datagram from `from` belongs to, if any.
    pub fn route(
        &mut self,
        transport: Transport,
        from: SocketAddr,
        stun_ufrag: Option<&str>,
    ) -> Option<K> {
        if let Some(k) = stun_ufrag.and_then(|u| self.by_ufrag.get(u).copied()) {
            self.by_addr.insert((transport, from), k);
            return Some(k);
        }
        self.lookup(transport, from)
    }

    /// The connection that owns `from`, without binding anything (not STUN).
    pub fn lookup(&self, transport: Transport, from: SocketAddr) -> Option<K> {
        self.by_addr.get(&(transport, from)).copied()
    }

    /// A TCP connection closed: forget its address.
    pub fn forget(&mut self, transport: Transport, from: SocketAddr) {
        self.by_addr.remove(&(transport, from));
    }

    pub fn remove(&mut self, key: K) {
        self.by_ufrag.retain(|_, k| *k != key);
        self.by_addr.retain(|_, k| *k != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_ufrag_then_by_address() {
        let mut d = Demux::default();
        d.set_ufrag("abcd".into(), 1u32);
        d.set_ufrag("efgh".into(), 2u32);
        let a: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:4000".parse().unwrap();
        assert_eq!(d.route(Transport::Udp, a, None), None); // unknown address, not STUN: dropped
        assert_eq!(d.route(Transport::Udp, a, Some("abcd")), Some(1));
        assert_eq!(d.route(Transport::Udp, a, None), Some(1));
        // The phone moved: STUN from a new address re-binds.
        assert_eq!(d.route(Transport::Udp, b, Some("abcd")), Some(1));
        assert_eq!(d.route(Transport::Udp, b, None), Some(1));
        // A restart with a new ufrag replaces the old one.
        d.set_ufrag("ijkl".into(), 1);
        assert_eq!(d.route(Transport::Udp, b, Some("abcd")), Some(1)); // address still bound
        d.remove(1);
        assert_eq!(d.route(Transport::Udp, b, None), None);
        assert_eq!(d.route(Transport::Udp, a, Some("efgh")), Some(2));
        // The same address over TCP is a different path until it proves itself.
        assert_eq!(d.route(Transport::Tcp, a, None), None);
        assert_eq!(d.route(Transport::Tcp, a, Some("efgh")), Some(2));
        d.forget(Transport::Tcp, a);
        assert_eq!(d.route(Transport::Tcp, a, None), None);
    }

    #[test]
    fn non_stun_bytes_have_no_ufrag() {
        assert_eq!(stun_local_ufrag(&[0x80, 0x60]), None);
        assert_eq!(stun_local_ufrag(&[0x00, 0x01, 0x00]), None);
        assert_eq!(stun_local_ufrag(&[]), None);
    }
}
