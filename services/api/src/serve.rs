//! The accept loop both HTTP listeners (api and ops) share. `axum::serve` waits forever for a
//! request head, so a client trickling headers (slow-loris) would hold a connection and its task
//! for good; this loop serves HTTP/1.1 through hyper with a deadline on every request head,
//! caps on header size and count, connection upgrades (the events WebSocket), and a graceful
//! shutdown that lets open requests finish for up to the shutdown grace.

use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use recon_runtime::config::HttpSettings;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long the loop pauses after an accept error that is not about one connection (e.g. out
/// of file descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown`, then stops accepting, lets each open connection
/// finish its current request (idle ones close at once) and waits up to `grace` for them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: &HttpSettings,
    grace: Duration,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout)
        .max_header_size(http.max_header_bytes)
        .max_headers(http.max_headers);
    let closing = CancellationToken::new();
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            // Reap finished connections so the set does not grow with every client ever seen.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) if is_per_connection(&err) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept connections; retrying");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let closing = closing.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = closing.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            // Header timeouts, oversized heads and clients that hang up land here; hyper has
            // already answered (431, 414, 400) where HTTP allows an answer.
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    closing.cancel();
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            ?grace,
            "closing connections still busy after the shutdown grace"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Errors that concern only the connection being accepted (the peer gave up), not the listener.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;
    use axum::Router;
    use recon_runtime::config::HttpSettings;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_util::sync::CancellationToken;

    async fn start(
        app: Router,
    ) -> (
        std::net::SocketAddr,
        CancellationToken,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let http = HttpSettings {
            header_read_timeout: Duration::from_millis(300),
            ..HttpSettings::default()
        };
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            super::serve(listener, app, &http, Duration::from_secs(10), token).await
        });
        (address, shutdown, task)
    }

    async fn read_all(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut received)).await;
        assert!(read.is_ok(), "the server did not close the connection");
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_connection_that_never_finishes_its_head_is_closed() {
        let (address, shutdown, task) =
            start(Router::new().route("/", get(|| async { "hi" }))).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert_eq!(read_all(&mut stream).await, "", "closed without an answer");
        // A prompt client on the same server is served.
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        assert!(read_all(&mut stream).await.ends_with("hi"));
        shutdown.cancel();
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn shutdown_lets_an_open_request_finish_and_refuses_new_connections() {
        let app = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        );
        let (address, shutdown, task) = start(app).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        shutdown.cancel();
        let answer = read_all(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("done"), "{answer}");
        task.await.unwrap().unwrap();
        assert!(
            TcpStream::connect(address).await.is_err(),
            "the listener is closed"
        );
    }
}
