//! Sockets: the listener, outbound connects from the speaker's own address, per-connection
//! reader/writer tasks, and TCP-MD5 (RFC 2385) through `setsockopt(TCP_MD5SIG)`.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Input;

/// `struct tcp_md5sig` from linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; 80],
}

/// Sets (or with an empty key, clears) the TCP-MD5 key for `peer` on a socket.
pub(crate) fn set_md5(fd: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> std::io::Result<()> {
    if key.len() > 80 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "TCP-MD5 key longer than 80 octets",
        ));
    }
    // SAFETY: sockaddr_storage and the rest of TcpMd5Sig are plain integers/arrays for which
    // all-zero bytes are a valid value.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage as *mut libc::sockaddr_in)
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut sig.addr as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6)
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
        }
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: the fd is a live socket owned by the caller; we pass a pointer to a fully
    // initialised TcpMd5Sig and its exact size, which the kernel only reads.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            &sig as *const TcpMd5Sig as *const libc::c_void,
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Binds the listener (with SO_REUSEADDR so a restarted speaker can rebind at once).
pub(crate) fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(64)
}

/// Accepts connections forever, handing them to the speaker loop.
pub(crate) fn spawn_accept(
    listener: std::sync::Arc<TcpListener>,
    tx: mpsc::UnboundedSender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, from)) => {
                    if tx.send(Input::Inbound(stream, from)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// Connects to a peer from our own address (so the peer sees the address it has configured).
pub(crate) fn spawn_connect(
    local: IpAddr,
    peer: SocketAddr,
    md5: Option<Vec<u8>>,
    attempt: u64,
    tx: mpsc::UnboundedSender<Input>,
) {
    // Detached: the result comes back as an Input, stale attempts are ignored by number.
    tokio::spawn(async move {
        let res = async {
            let s = if peer.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            s.bind(SocketAddr::new(local, 0))?;
            if let Some(k) = &md5 {
                set_md5(&s, peer.ip(), k)?;
            }
            tokio::time::timeout(std::time::Duration::from_secs(10), s.connect(peer))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
                })?
        }
        .await;
        let msg = match res {
            Ok(stream) => Input::Connected {
                peer: peer.ip(),
                attempt,
                stream,
            },
            Err(e) => {
                tracing::debug!(%peer, error = %e, "connect failed");
                Input::ConnectFailed {
                    peer: peer.ip(),
                    attempt,
                }
            }
        };
        let _ = tx.send(msg);
    });
}

/// A live connection: bytes to write go into `tx`; reads arrive as `Input::Data`.
pub(crate) struct Conn {
    pub id: u64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    /// Bytes handed to the writer and not yet written.
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    reader: JoinHandle<()>,
}

/// Output a peer may leave unread before the session is dropped: a peer that stops reading
/// must not make the speaker buffer without bound.
pub(crate) const MAX_QUEUED: usize = 256 << 20;

impl Conn {
    /// Queues bytes for the peer; `false` when the peer has too much unread output.
    pub fn send(&self, b: Vec<u8>) -> bool {
        use std::sync::atomic::Ordering;
        if self.queued.load(Ordering::Relaxed) > MAX_QUEUED {
            return false;
        }
        self.queued.fetch_add(b.len(), Ordering::Relaxed);
        let _ = self.tx.send(b);
        true
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The writer ends when `tx` is dropped (and shuts the socket down); stop reading too.
        self.reader.abort();
    }
}

pub(crate) fn spawn_conn(
    stream: TcpStream,
    peer: IpAddr,
    id: u64,
    tx: mpsc::Sender<Input>,
) -> Conn {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (wtx, mut wrx) = mpsc::unbounded_channel::<Vec<u8>>();
    let queued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let q = queued.clone();
    tokio::spawn(async move {
        while let Some(first) = wrx.recv().await {
            // Coalesce what is queued into one write: many small UPDATEs per syscall.
            let mut buf = first;
            while buf.len() < 64 * 1024 {
                match wrx.try_recv() {
                    Ok(more) => buf.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            if wr.write_all(&buf).await.is_err() {
                return;
            }
            q.fetch_sub(buf.len(), std::sync::atomic::Ordering::Relaxed);
        }
        let _ = wr.shutdown().await;
    });
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Input::Closed { peer, conn: id }).await;
                    return;
                }
                Ok(n) => {
                    if tx
                        .send(Input::Data {
                            peer,
                            conn: id,
                            bytes: buf[..n].to_vec(),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    Conn {
        id,
        tx: wtx,
        queued,
        reader,
    }
}
