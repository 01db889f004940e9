//! Just enough networking for health checks: a free port, "is anything listening", and the status
//! code of one plain-HTTP GET (curl for anything else).

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A port that was free a moment ago on 127.0.0.1 (the kernel picks it).
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0 to pick a free port")?;
    Ok(listener.local_addr()?.port())
}

/// True when something accepts TCP connections at `addr` (`host:port`).
pub fn is_listening(addr: &str) -> bool {
    resolve(addr).is_ok_and(|addrs| {
        addrs
            .iter()
            .any(|addr| TcpStream::connect_timeout(addr, Duration::from_millis(300)).is_ok())
    })
}

/// The status code of `GET url`. Plain `http://` is spoken here; other schemes go through curl.
pub fn get_status(url: &str) -> Result<u16> {
    let Some(rest) = url.strip_prefix("http://") else {
        return curl_status(url);
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let connect_to = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|byte| byte.is_ascii_digit()))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addrs = resolve(&connect_to)?;
    let mut stream = addrs
        .iter()
        .find_map(|addr| TcpStream::connect_timeout(addr, TIMEOUT).ok())
        .with_context(|| format!("cannot connect to {connect_to}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: xtask\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("cannot send GET {url}"))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") && head.len() < 1024 {
        if stream
            .read(&mut byte)
            .with_context(|| format!("no answer to GET {url}"))?
            == 0
        {
            break;
        }
        head.push(byte[0]);
    }
    parse_status_line(&String::from_utf8_lossy(&head))
        .with_context(|| format!("GET {url} did not answer with an HTTP status line"))
}

fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    parts
        .next()
        .filter(|version| version.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

fn resolve(addr: &str) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
        .collect();
    if addrs.is_empty() {
        bail!("{addr} resolves to no address");
    }
    Ok(addrs)
}

fn curl_status(url: &str) -> Result<u16> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            url,
        ])
        .output()
        .context("cannot run curl (needed for non-http URLs)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .ok()
        .filter(|code| *code != 0)
        .with_context(|| {
            format!(
                "curl {url} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_code() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status_line("HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(""), None);
    }

    #[test]
    fn talks_to_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || loop {
            // The is_listening probe connects and closes without a request.
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 512];
            let read = conn.read(&mut request).unwrap_or(0);
            if read > 0 {
                conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
                return String::from_utf8_lossy(&request[..read]).into_owned();
            }
        });
        assert!(is_listening(&addr.to_string()));
        assert_eq!(get_status(&format!("http://{addr}/readyz")).unwrap(), 204);
        assert!(server
            .join()
            .unwrap()
            .starts_with("GET /readyz HTTP/1.1\r\n"));
    }
}
