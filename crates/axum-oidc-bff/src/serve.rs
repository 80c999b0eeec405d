//! The accept loop: how connections are taken, kept and let go, so that slow or idle clients
//! cannot hold the server.
//!
//! `axum::serve` sets no timer, so a request head that never ends, or a keep-alive connection
//! left idle, is kept forever, and connections are taken until the process runs out of file
//! descriptors. Here each connection (HTTP/1 or HTTP/2, from hyper-util's auto builder) is
//! watched by a small supervisor:
//!
//! - **Header-read timeout** ([`ServeLimits::header_read_timeout`]): once the first byte of a
//!   request head (or of the HTTP/2 preface) arrives, the whole head must arrive within the
//!   bound, or the connection is dropped.
//! - **Idle timeout** ([`ServeLimits::idle_timeout`]): a connection with no request in flight
//!   that long is closed (gracefully: an HTTP/1 connection at once, an HTTP/2 one with a
//!   GOAWAY). A response still streaming — the session event stream — is in flight, so the
//!   stream keeps going.
//! - **Connection cap** ([`ServeLimits::max_connections`]): one connection more is answered
//!   with a fixed `503` and `Retry-After` and closed, without parsing its request, so the
//!   descriptors the IdP, Redis and SQLite clients need stay free. When even the refusals are
//!   all busy, new connections wait in the kernel's queue until one frees.
//! - **Graceful shutdown**: when the shutdown signal completes, no more connections are taken
//!   (those already queued in the kernel are taken and served rather than reset), every
//!   connection is asked to finish what it is doing, and after
//!   [`ServeLimits::shutdown_grace`] whatever is left is dropped.
//!
//! hyper's own HTTP/1 header-read timer is off: it also runs while a keep-alive connection waits
//! for its next request, which would tie the idle timeout to the header-read timeout.

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{ConnectInfo, Request},
    response::Response,
    Router,
};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::{pin, Pin},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Notify, OwnedSemaphorePermit, Semaphore},
    time::{sleep, sleep_until, timeout, Instant},
};

/// The bounds of [`serve`]; see the module documentation.
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// Connections served at once; one more gets a `503` and is closed.
    pub max_connections: usize,
    /// From the first byte of a request head to its end.
    pub header_read_timeout: Duration,
    /// With no request in flight.
    pub idle_timeout: Duration,
    /// On shutdown, how long connections may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    /// The cap from [`default_max_connections`]; 10 s to read a request head, 30 s idle, 15 s
    /// to finish at shutdown.
    fn default() -> Self {
        ServeLimits {
            max_connections: default_max_connections(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(15),
        }
    }
}

/// After a graceful close has started (idle), how long the peer may take to go (an HTTP/2 peer
/// must answer the GOAWAY's ping) before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// On shutdown, how long a connection that has not sent a request yet may take to start one
/// (it may be on its way: closing such a connection unread would reset it).
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);
/// Refusals of connections over the cap in progress at once. With every place and every refusal
/// taken, the accept loop waits: new connections wait in the kernel's queue, holding no
/// descriptor of the process.
pub const MAX_REJECTING: usize = 128;
/// How long a refusal waits for its client's request head, and then for the client to read the
/// `503` and close.
const REFUSAL_WAIT: Duration = Duration::from_millis(100);
/// What a connection over the cap is answered with.
const REFUSAL: &str = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
    Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\
    Content-Length: 43\r\n\r\nThe server is busy; try again in a moment.\n";

/// Reads whatever the client has sent already and throws it away, without waiting.
fn discard_readable(stream: &TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(stream.try_read(&mut sink), Ok(n) if n > 0) {}
}

/// The default [`ServeLimits::max_connections`]: what the process's soft limit on open files
/// leaves after a reserve for everything else it opens (clients of the IdP, Redis and SQLite,
/// the site's files, the development IdP), at most 50,000. With the common limit of 1,024:
/// 768.
pub fn default_max_connections() -> usize {
    let soft = open_files_limit().unwrap_or(1024);
    let reserve = (soft / 8).max(256);
    soft.saturating_sub(reserve).clamp(16, 50_000)
}

fn open_files_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0).then(|| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then shuts down
/// gracefully (see the module documentation) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let max =
        u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let permits = Arc::new(Semaphore::new(max as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = Server {
        limits: Arc::new(limits),
        builder: Arc::new(connection_builder()),
        router,
        stop: stop_rx,
        permits: permits.clone(),
        rejecting: Arc::new(Semaphore::new(MAX_REJECTING)),
    };

    let mut shutdown = pin!(shutdown);
    loop {
        if server.permits.available_permits() == 0 && server.rejecting.available_permits() == 0 {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = server.permits.acquire() => {}
                _ = server.rejecting.acquire() => {}
            }
        }
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => server.take(stream, peer),
            // The peer went away before it was accepted: on to the next.
            Err(err) if is_connection_error(&err) => {}
            // Out of descriptors (EMFILE) and the like: wait a moment, as axum::serve does.
            Err(err) => {
                tracing::error!(error = %err, "cannot accept connections");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }

    tracing::info!("shutting down: taking no new connections");
    drain_backlog(listener, &server);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it is gone, and drops itself by the grace at the
    // latest: all permits back means every connection has closed.
    let grace = server.limits.shutdown_grace + Duration::from_secs(1);
    match timeout(grace, permits.acquire_many(max)).await {
        Ok(_) => tracing::info!("every connection has closed"),
        Err(_) => tracing::warn!(
            open = max as usize - permits.available_permits(),
            "connections still open after the shutdown grace"
        ),
    }
    Ok(())
}

/// Connections the kernel has completed wait in the listener's queue; closing the listener
/// would reset them. They are taken (with real, non-blocking `accept` calls) and served first.
fn drain_backlog(listener: TcpListener, server: &Server) {
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(error = %err, "cannot take the connections queued at shutdown");
            return;
        }
    };
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                match stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream))
                {
                    Ok(stream) => server.take(stream, peer),
                    Err(err) => tracing::debug!(error = %err, "a queued connection was lost"),
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if is_connection_error(&err) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot take the connections queued at shutdown");
                return;
            }
        }
    }
}

fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The header-read timeout is the supervisor's (see the module documentation).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder
        .http2()
        .timer(TokioTimer::new())
        // Pings find peers that went away without closing.
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_concurrent_streams(100)
        .enable_connect_protocol();
    builder
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

struct Server {
    limits: Arc<ServeLimits>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    stop: watch::Receiver<bool>,
    permits: Arc<Semaphore>,
    rejecting: Arc<Semaphore>,
}

impl Server {
    fn take(&self, stream: TcpStream, peer: SocketAddr) {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => self.spawn_connection(stream, peer, permit),
            Err(_) => self.refuse(stream),
        }
    }

    /// Over the cap: a fixed `503` after the request head (or a moment without one), then
    /// close. Nothing of the request is parsed.
    fn refuse(&self, stream: TcpStream) {
        let Ok(permit) = self.rejecting.clone().try_acquire_owned() else {
            // The accept loop waits for a free refusal before it accepts; this is the rare race.
            let _ = stream.try_write(REFUSAL.as_bytes());
            discard_readable(&stream);
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let mut stream = stream;
            let mut sink = [0u8; 4096];
            // An HTTP client expects the answer after its request: wait for the head's end,
            // briefly (a client that sends nothing gets the answer anyway).
            let _ = timeout(REFUSAL_WAIT, async {
                let mut seen = Vec::with_capacity(64);
                while seen.len() < 16 * 1024 {
                    let n = stream.read(&mut sink).await?;
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&sink[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                io::Result::Ok(())
            })
            .await;
            let _ = timeout(REFUSAL_WAIT, async {
                stream.write_all(REFUSAL.as_bytes()).await?;
                stream.shutdown().await?;
                // Read (and discard) what else the client sends until it closes, briefly:
                // closing with unread bytes would reset the connection, and the reset can destroy
                // the 503 on its way.
                while stream.read(&mut sink).await? > 0 {}
                io::Result::Ok(())
            })
            .await;
            discard_readable(&stream);
        });
    }

    fn spawn_connection(&self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        // Small writes (server-sent events) go out at once.
        let _ = stream.set_nodelay(true);
        let (limits, builder, router) = (
            self.limits.clone(),
            self.builder.clone(),
            self.router.clone(),
        );
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Watched {
                inner: stream,
                activity: activity.clone(),
            });
            let service = Tracked {
                inner: TowerToHyperService::new(router),
                activity: activity.clone(),
                peer,
            };
            let connection = builder.serve_connection_with_upgrades(io, service);
            supervise(connection, &activity, stop, &limits).await;
        });
    }
}

type Connection<'a> = auto::UpgradeableConnection<
    'a,
    TokioIo<Watched>,
    Tracked<TowerToHyperService<Router>>,
    TokioExecutor,
>;

/// Drives one connection, and closes it when it has been idle, or taken too long over a request
/// head, or the server stops.
async fn supervise(
    connection: Connection<'_>,
    activity: &Activity,
    mut stop: watch::Receiver<bool>,
    limits: &ServeLimits,
) {
    let mut connection = pin!(connection);
    let mut closing = false;
    // When to drop the connection, whatever it is doing.
    let mut drop_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let stopping = *stop.borrow_and_update();
        if stopping && drop_at.is_none_or(|at| at > now + limits.shutdown_grace) {
            drop_at = Some(now + limits.shutdown_grace);
        }
        if drop_at.is_some_and(|at| now >= at) {
            tracing::debug!("a connection did not finish in time; dropped");
            return;
        }
        let mut wake = drop_at;
        if !closing {
            let idle = activity.in_flight.load(Ordering::Acquire) == 0;
            let head_deadline = idle
                .then(|| activity.head_started())
                .flatten()
                .map(|started| started + limits.header_read_timeout);
            if head_deadline.is_some_and(|at| now >= at) {
                tracing::debug!("a request head took longer than the header-read timeout; dropped");
                return;
            }
            let idle_deadline = idle.then(|| activity.idle_since() + limits.idle_timeout);
            let stop_deadline = stopping.then(|| {
                if activity.requests.load(Ordering::Acquire) > 0 {
                    now
                } else {
                    activity.accepted + FIRST_REQUEST_GRACE
                }
            });
            let close_at = [idle_deadline, stop_deadline].into_iter().flatten().min();
            if close_at.is_some_and(|at| now >= at) {
                connection.as_mut().graceful_shutdown();
                closing = true;
                if !stopping {
                    drop_at = Some(now + CLOSE_GRACE);
                }
                // Polled at once: an idle HTTP/1 connection ends right away.
                continue;
            }
            wake = [wake, head_deadline, close_at].into_iter().flatten().min();
        }
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::trace!(error = %err, "a connection ended with an error");
                }
                return;
            }
            () = activity.changed.notified() => {}
            _ = stop.changed(), if !stopping => {}
            () = sleep_until(wake.unwrap_or(now)), if wake.is_some() => {}
        }
    }
}

/// What one connection is doing: requests in flight, and when the current request head began.
/// Times are milliseconds since the connection was accepted.
struct Activity {
    accepted: Instant,
    in_flight: AtomicUsize,
    /// Requests started so far.
    requests: AtomicU64,
    /// When the first byte of a request head arrived while nothing was in flight;
    /// [`NOT_STARTED`] otherwise.
    head_started_ms: AtomicU64,
    idle_since_ms: AtomicU64,
    /// Whether the peer speaks HTTP/2, whose idle connections exchange frames (pings, window
    /// updates) that are not request heads.
    h2: std::sync::atomic::AtomicBool,
    /// Wakes the supervisor when a deadline may have moved.
    changed: Notify,
}

const NOT_STARTED: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Activity {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(NOT_STARTED),
            idle_since_ms: AtomicU64::new(0),
            h2: std::sync::atomic::AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.accepted + Duration::from_millis(ms)
    }

    fn head_started(&self) -> Option<Instant> {
        match self.head_started_ms.load(Ordering::Acquire) {
            NOT_STARTED => None,
            ms => Some(self.at(ms)),
        }
    }

    fn idle_since(&self) -> Instant {
        self.at(self.idle_since_ms.load(Ordering::Acquire))
    }

    /// Bytes arrived from the peer.
    fn read_some(&self) {
        if self.h2.load(Ordering::Relaxed) || self.in_flight.load(Ordering::Acquire) > 0 {
            return;
        }
        let started = self.head_started_ms.compare_exchange(
            NOT_STARTED,
            self.elapsed_ms(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if started.is_ok() {
            self.changed.notify_one();
        }
    }

    /// A request head was read; the request is in flight until its response body is done.
    fn start_request(&self, h2: bool) {
        if h2 {
            self.h2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.head_started_ms.store(NOT_STARTED, Ordering::Release);
        self.changed.notify_one();
    }

    fn end_request(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since_ms
                .store(self.elapsed_ms(), Ordering::Release);
            self.changed.notify_one();
        }
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router, counting each request as in flight until its response body is done (or
/// dropped), and giving handlers the peer's address as `ConnectInfo<SocketAddr>`.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    peer: SocketAddr,
}

impl<S> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.activity
            .start_request(request.version() == http::Version::HTTP_2);
        let in_flight = InFlight(self.activity.clone());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// Ends its request when dropped: with the response body, or with the response future when the
/// request is cancelled.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// A response body that keeps its request in flight until it is done.
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    // Delegated, so that hyper still knows the length and sees empty bodies.
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_for_everything_else_the_process_opens() {
        let cap = default_max_connections();
        let limit = open_files_limit().unwrap();
        assert!(cap + 256 <= limit.max(272), "{cap} of {limit}");
        assert!(cap >= 16);
    }

    #[test]
    fn the_refusal_is_a_whole_http_answer() {
        let (head, body) = REFUSAL.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_head_is_timed_from_its_first_byte_and_only_while_nothing_is_in_flight() {
        let activity = Activity::new();
        assert_eq!(activity.head_started(), None, "a silent connection is idle");
        activity.read_some();
        let started = activity.head_started().expect("a head began");
        activity.start_request(false);
        assert_eq!(activity.head_started(), None, "the head was read");
        activity.read_some();
        assert_eq!(activity.head_started(), None, "a request body, not a head");
        activity.end_request();
        assert!(activity.idle_since() >= started);
        activity.read_some();
        assert!(activity.head_started().is_some(), "the next request's head");
        activity.start_request(true);
        activity.end_request();
        activity.read_some();
        assert_eq!(activity.head_started(), None, "HTTP/2 frames are not heads");
    }
}
