//! A recording reverse proxy on loopback in front of a TestStack's api: it logs every request
//! the CLI sends (`METHOD /path?query`, so a test can count them at the server side) and can
//! cut a WebSocket after a number of server frames, to test the fall-back to polling.
//!
//! Each plain request (its body sized by `Content-Length` or chunked) is forwarded on a fresh
//! upstream connection with `Connection: close`; a WebSocket upgrade is tunnelled, and its
//! server-to-client frames are counted as they pass.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::capture_site::find;

pub struct RecordingProxy {
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    /// WebSocket connections cut by the proxy so far.
    pub sockets_cut: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:PORT`). With `cut_websocket_after`, every
    /// WebSocket is closed abruptly (no close frame) after that many text frames from the
    /// server.
    pub async fn start(upstream: &str, cut_websocket_after: Option<usize>) -> RecordingProxy {
        Self::start_with(upstream, cut_websocket_after, None).await
    }

    /// Like [`start`](Self::start), but requests whose path starts with `hold_path` are logged
    /// and then never answered, as from a server that hangs.
    pub async fn holding(upstream: &str, hold_path: &str) -> RecordingProxy {
        Self::start_with(upstream, None, Some(hold_path.to_owned())).await
    }

    async fn start_with(
        upstream: &str,
        cut_websocket_after: Option<usize>,
        hold_path: Option<String>,
    ) -> RecordingProxy {
        let hold_path = Arc::new(hold_path);
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sockets_cut = Arc::new(AtomicUsize::new(0));
        let (task_log, task_cut) = (log.clone(), sockets_cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (log, cut, upstream) = (task_log.clone(), task_cut.clone(), upstream.clone());
                let hold_path = hold_path.clone();
                tokio::spawn(async move {
                    let hold = hold_path.as_deref();
                    let _ = relay(client, &upstream, log, cut, cut_websocket_after, hold).await;
                });
            }
        });
        RecordingProxy {
            url: format!("http://{address}"),
            log,
            sockets_cut,
            task,
        }
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

async fn relay(
    mut client: TcpStream,
    upstream: &str,
    log: Arc<Mutex<Vec<String>>>,
    cut: Arc<AtomicUsize>,
    cut_after: Option<usize>,
    hold_path: Option<&str>,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    if let Ok(mut log) = log.lock() {
        log.push(format!("{method} {path}"));
    }
    if hold_path.is_some_and(|held| path.starts_with(held)) {
        // Keep the connection open and silent until the client gives up.
        let mut sink = [0u8; 1024];
        while client.read(&mut sink).await? > 0 {}
        return Ok(());
    }
    let is_upgrade = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("upgrade")
                && value.trim().eq_ignore_ascii_case("websocket")
        })
    });
    let mut server = TcpStream::connect(upstream).await?;
    if is_upgrade {
        server.write_all(head.as_bytes()).await?;
        server.write_all(&body).await?;
        return tunnel(client, server, cut, cut_after).await;
    }
    let mut rewritten: String = head
        .trim_end_matches("\r\n")
        .lines()
        .filter(|line| {
            !line
                .split_once(':')
                .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"))
        })
        .map(|line| format!("{line}\r\n"))
        .collect();
    rewritten.push_str("Connection: close\r\n\r\n");
    server.write_all(rewritten.as_bytes()).await?;
    server.write_all(&body).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    client.write_all(&response).await?;
    // One request per connection: the upstream closed after its answer, so does this.
    client.shutdown().await
}

/// One HTTP/1.1 request: its head (request line and headers) and its body as it came (a
/// `Content-Length` body, or a chunked one with its framing kept, so a proxy forwards it
/// untouched); `None` when the peer closed before a whole head arrived.
pub(crate) async fn read_request(
    stream: &mut TcpStream,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if !read_more(stream, &mut buffer).await? {
            return Ok(None);
        }
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let header = |wanted: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|coding| coding.contains("chunked")) {
        let end = chunked_body_end(stream, &mut buffer, head_end).await?;
        return Ok(Some((head, buffer[head_end..end].to_vec())));
    }
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        if !read_more(stream, &mut buffer).await? {
            break;
        }
    }
    Ok(Some((head, buffer[head_end..].to_vec())))
}

/// Reads chunks (`SIZE\r\n DATA \r\n`) up to the last, empty one; where the body ends in
/// `buffer` (or where the peer stopped sending).
async fn chunked_body_end(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    body_start: usize,
) -> std::io::Result<usize> {
    let mut at = body_start;
    loop {
        let size_line_end = loop {
            if let Some(end) = find(&buffer[at..], b"\r\n") {
                break at + end;
            }
            if !read_more(stream, buffer).await? {
                return Ok(buffer.len());
            }
        };
        let size_line = String::from_utf8_lossy(&buffer[at..size_line_end]).into_owned();
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return Ok(buffer.len());
        };
        // The last chunk has no data, and no trailers follow it from the clients tested here.
        let chunk_end = size_line_end + 2 + size + 2;
        while buffer.len() < chunk_end {
            if !read_more(stream, buffer).await? {
                return Ok(buffer.len());
            }
        }
        at = chunk_end;
        if size == 0 {
            return Ok(at);
        }
    }
}

/// Appends what the peer sent next; false once it closed.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let read = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read > 0)
}

/// Client → server bytes pass untouched; server → client: the 101 answer, then frame by frame,
/// counting text frames and cutting both sides after `cut_after` of them.
async fn tunnel(
    client: TcpStream,
    server: TcpStream,
    cut: Arc<AtomicUsize>,
    cut_after: Option<usize>,
) -> std::io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut pending = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let read = server_read.read(&mut chunk).await?;
        if read == 0 {
            upward.abort();
            return Ok(());
        }
        pending.extend_from_slice(&chunk[..read]);
        if let Some(end) = find(&pending, b"\r\n\r\n") {
            break end + 4;
        }
    };
    client_write.write_all(&pending[..head_end]).await?;
    let mut frames = FrameReader {
        buffer: pending[head_end..].to_vec(),
    };
    let mut text_frames = 0;
    while let Some(frame) = frames.next(&mut server_read).await? {
        let opcode = frame[0] & 0x0f;
        if opcode == 1 {
            text_frames += 1;
        }
        client_write.write_all(&frame).await?;
        if cut_after.is_some_and(|limit| text_frames >= limit) {
            cut.fetch_add(1, Ordering::SeqCst);
            break;
        }
    }
    upward.abort();
    // Dropping both halves resets the connection without a close frame: a dropped link.
    Ok(())
}

struct FrameReader {
    buffer: Vec<u8>,
}

impl FrameReader {
    /// One whole frame (header and payload) from the server, unmasked as servers send them.
    async fn next(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
    ) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(length) = frame_length(&self.buffer) {
                if self.buffer.len() >= length {
                    let rest = self.buffer.split_off(length);
                    return Ok(Some(std::mem::replace(&mut self.buffer, rest)));
                }
            }
            let mut chunk = [0u8; 8192];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(None);
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

fn frame_length(buffer: &[u8]) -> Option<usize> {
    if buffer.len() < 2 {
        return None;
    }
    let masked = buffer[1] & 0x80 != 0;
    let (header, payload) = match buffer[1] & 0x7f {
        126 if buffer.len() >= 4 => (4, u16::from_be_bytes([buffer[2], buffer[3]]) as usize),
        126 => return None,
        127 if buffer.len() >= 10 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buffer[2..10]);
            (10, u64::from_be_bytes(bytes) as usize)
        }
        127 => return None,
        short => (2, short as usize),
    };
    Some(header + if masked { 4 } else { 0 } + payload)
}

#[cfg(test)]
mod tests {
    #[test]
    fn frame_lengths() {
        assert_eq!(super::frame_length(&[0x81, 5]), Some(7));
        assert_eq!(super::frame_length(&[0x81, 126, 1, 0]), Some(260));
        assert_eq!(super::frame_length(&[0x81]), None);
        assert_eq!(super::frame_length(&[0x81, 0x85]), Some(11));
    }
}
