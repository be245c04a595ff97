//! The one media UDP port, opened once per event loop with `SO_REUSEPORT`: every loop
//! reads and sends on its own socket, and peers see one address. The port is first taken
//! without `SO_REUSEPORT`, so a port another program (or a second server) holds is still
//! refused as in use, instead of silently sharing its traffic.

use anyhow::{Context, Result};
use rustix::net::{AddressFamily, SocketType, bind as bind_fd, ipproto, socket, sockopt};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};

/// Kernel receive buffer asked for per socket (capped by `net.core.rmem_max`): a burst
/// of keyframes from several publishers must not overflow it while the loop is busy.
const RECV_BUFFER: usize = 4 << 20;

/// `n` non-blocking sockets bound to the same address and port (`addr` may ask for port 0).
pub fn bind(addr: &str, n: usize) -> Result<Vec<UdpSocket>> {
    let addr: SocketAddr = addr
        .to_socket_addrs()?
        .next()
        .context("no address to bind")?;
    let addr = {
        let probe = UdpSocket::bind(addr)?;
        probe.local_addr()?
    };
    (0..n)
        .map(|_| {
            let family = if addr.is_ipv4() {
                AddressFamily::INET
            } else {
                AddressFamily::INET6
            };
            let fd = socket(family, SocketType::DGRAM, Some(ipproto::UDP))?;
            sockopt::set_socket_reuseport(&fd, true)?;
            let _ = sockopt::set_socket_recv_buffer_size(&fd, RECV_BUFFER);
            bind_fd(&fd, &addr)?;
            let s = UdpSocket::from(fd);
            s.set_nonblocking(true)?;
            Ok(s)
        })
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("opening {n} sockets on {addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_socket_shares_the_port_and_a_held_port_is_refused() {
        let socks = bind("127.0.0.1:0", 3).unwrap();
        let addr = socks[0].local_addr().unwrap();
        assert!(socks.iter().all(|s| s.local_addr().unwrap() == addr));
        // Ours now: another server asking for it is refused.
        assert!(bind(&addr.to_string(), 2).is_err());
        assert!(UdpSocket::bind(addr).is_err());
        // Datagrams to the port reach one of the sockets.
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            tx.send_to(b"x", addr).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut buf = [0u8; 8];
        let got: usize = socks
            .iter()
            .map(|s| std::iter::from_fn(|| s.recv_from(&mut buf).ok()).count())
            .sum();
        assert_eq!(got, 3);
    }
}
