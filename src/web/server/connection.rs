//! One client connection: hyper's HTTP/1.1 with a header timeout and a head size limit, and a
//! watchdog that closes the connection once it has been idle for the keep-alive time.
//!
//! "Idle" means no byte moved in either direction and no request is being handled. So a
//! Smart-ID long poll (a request being handled) is never cut, a client that stops in the middle
//! of a body or stops reading its response is cut after the keep-alive time, and one that
//! trickles its head a byte at a time is cut by hyper's header timeout.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use rocket::local::asynchronous::Client;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::bridge;
use crate::config::ConnectionLimits;

/// When the connection last moved a byte, and how many of its requests are being handled.
pub struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> u64 {
        self.last_ms.load(Ordering::Relaxed)
    }

    /// Marks a request as being handled until the guard drops.
    pub fn handling(&self) -> Handling<'_> {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Handling(self)
    }

    /// Resolves once nothing has happened for `idle`.
    async fn idle(&self, idle: Duration) {
        loop {
            let last = self.last();
            tokio::time::sleep_until(self.opened + Duration::from_millis(last) + idle).await;
            if self.busy.load(Ordering::Relaxed) == 0 && self.last() == last {
                return;
            }
            if self.last() == last {
                // Busy without I/O (a handler at work): look again a full period later.
                self.touch();
            }
        }
    }
}

pub struct Handling<'a>(&'a Activity);

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        // The response is about to be written: its writing gets a full idle period.
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one connection until the client closes it, a limit cuts it, or shutdown ends it.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    client: Arc<Client>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        io: stream,
        activity: activity.clone(),
    });
    let watch = activity.clone();
    let service = hyper::service::service_fn(move |req| {
        let (client, activity) = (client.clone(), watch.clone());
        async move {
            let answer = bridge::answer(&client, peer, &activity, limits.body_read_timeout, req);
            Ok::<_, std::convert::Infallible>(answer.await)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    // The guard `wait_for` returns is not `Send`: drop it inside.
    let stopping = async move {
        let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
    };
    tokio::select! {
        _ = &mut conn => {}
        // Dropping the connection closes it: nothing is in flight on it.
        _ = activity.idle(limits.keep_alive) => {}
        _ = stopping => {
            // Finish the request in flight, then close; the server's grace bounds the wait.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The TCP stream, noting every byte that moves.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    fn moved<T>(&self, poll: Poll<io::Result<T>>, moved: bool) -> Poll<io::Result<T>> {
        if moved {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before;
        self.moved(poll, moved)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        self.moved(poll, moved)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        self.moved(poll, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
