//! Connections whose clients must keep taking the response. A write that makes no
//! progress for the send timeout fails, and so does every write of a connection that was
//! aborted ([`Watch::abort`]): hyper then closes the connection and drops its response,
//! which frees the output it held. A client that never reads cannot pin memory longer
//! than that.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use crate::metrics::{DroppedLabels, Metrics};

/// What the server knows of a connection's sending: since when a write has been waiting
/// for the client, and whether the connection was aborted.
#[derive(Default)]
pub struct Watch {
    stalled_since: Mutex<Option<Instant>>,
    aborted: AtomicBool,
    waker: Mutex<Option<Waker>>,
    /// Outputs of this connection's responses that are not sent yet.
    pub holding: AtomicUsize,
}

impl Watch {
    /// How long a write has been waiting for the client to read, if one is.
    pub fn stalled_for(&self) -> Option<Duration> {
        lock(&self.stalled_since).map(|since| since.elapsed())
    }

    /// Ends the connection: its next write fails (the task is woken for it).
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request's connection, in its extensions (`ConnectInfo<Conn>`).
#[derive(Clone)]
pub struct Conn(pub Arc<Watch>);

impl Connected<IncomingStream<'_, WatchedListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, WatchedListener>) -> Self {
        Conn(stream.io().watch.clone())
    }
}

/// A TCP listener whose connections are [`WatchedIo`]s.
pub struct WatchedListener {
    inner: TcpListener,
    send_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl WatchedListener {
    pub fn new(inner: TcpListener, send_timeout: Duration, metrics: Arc<Metrics>) -> WatchedListener {
        WatchedListener {
            inner,
            send_timeout,
            metrics,
        }
    }
}

impl Listener for WatchedListener {
    type Io = WatchedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (WatchedIo, SocketAddr) {
        let (io, addr) = Listener::accept(&mut self.inner).await;
        let watched = WatchedIo {
            io,
            watch: Arc::default(),
            send_timeout: self.send_timeout,
            deadline: None,
            metrics: self.metrics.clone(),
        };
        (watched, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection whose writes time out without progress and can be aborted.
pub struct WatchedIo {
    io: TcpStream,
    watch: Arc<Watch>,
    send_timeout: Duration,
    /// Armed while a write waits for the client.
    deadline: Option<Pin<Box<Sleep>>>,
    metrics: Arc<Metrics>,
}

impl WatchedIo {
    fn write_with(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if self.watch.aborted.load(Ordering::Relaxed) {
            self.count_dropped("stalled");
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "response dropped: its client stopped reading while memory was short",
            )));
        }
        match write(Pin::new(&mut self.io), cx) {
            Poll::Ready(result) => {
                self.deadline = None;
                *lock(&self.watch.stalled_since) = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                *lock(&self.watch.waker) = Some(cx.waker().clone());
                let timeout = self.send_timeout;
                let deadline = self.deadline.get_or_insert_with(|| {
                    *lock(&self.watch.stalled_since) = Some(Instant::now());
                    Box::pin(tokio::time::sleep(timeout))
                });
                if deadline.as_mut().poll(cx).is_ready() {
                    self.count_dropped("send_timeout");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "response dropped: its client took nothing for the send timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }

    fn count_dropped(&self, reason: &'static str) {
        self.metrics.dropped.get_or_create(&DroppedLabels { reason }).inc();
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write_with(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_with(cx, |io, cx| io.poll_write_vectored(cx, bufs))
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
