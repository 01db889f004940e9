//! The bundled demo shop (tests/fixtures/demo-site) served on loopback for `cargo xtask demo`:
//! a std-only static file server, one thread per connection. `POST /graphql` answers with
//! `graphql.json`; the page sets a session cookie, as a real shop would.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub struct DemoSite {
    pub url: String,
    pub port: u16,
}

/// Serves `root` on 127.0.0.1 (a free port) until the process ends.
pub fn serve(root: &Path) -> Result<DemoSite> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0 for the demo site")?;
    let address = listener.local_addr()?;
    let root = root.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &root);
            });
        }
    });
    Ok(DemoSite {
        url: format!("http://{address}/"),
        port: address.port(),
    })
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut chunk)?;
        if read == 0 || buffer.len() > 64 * 1024 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    // A POST body (the GraphQL query) is not needed to answer; it is left unread.
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let (status, content_type, body, extra) = match (method.as_str(), resolve(root, path)) {
        ("GET" | "HEAD" | "POST", Some(file)) => match std::fs::read(&file) {
            Ok(body) => {
                let cookie = if path == "/" {
                    "Set-Cookie: demo_session=d3m0s3ss10n; Path=/; HttpOnly; SameSite=Lax\r\n"
                } else {
                    ""
                };
                ("200 OK", content_type(&file), body, cookie)
            }
            Err(_) => ("404 Not Found", "text/plain", b"not found".to_vec(), ""),
        },
        _ => ("404 Not Found", "text/plain", b"not found".to_vec(), ""),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(&body)?;
    }
    stream.flush()
}

/// The file for a URL path, never outside `root`.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = match path {
        "/" => "index.html",
        "/graphql" => "graphql.json",
        other => other.trim_start_matches('/'),
    };
    let relative = Path::new(relative);
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let file = root.join(relative);
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "application/javascript",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_root() -> PathBuf {
        crate::paths::Paths::discover()
            .expect("paths")
            .repo
            .join("tests/fixtures/demo-site")
    }

    #[test]
    fn paths_stay_inside_the_site() {
        let root = demo_root();
        assert!(resolve(&root, "/").is_some());
        assert!(resolve(&root, "/graphql").is_some());
        assert!(resolve(&root, "/api/products/list.json").is_some());
        assert!(resolve(&root, "/../Cargo.toml").is_none());
        assert!(resolve(&root, "/api/../../Cargo.toml").is_none());
        assert!(resolve(&root, "/missing.json").is_none());
    }

    #[test]
    fn the_site_answers_over_http() {
        let root = demo_root();
        let site = serve(&root).unwrap();
        assert_eq!(crate::http::get_status(&site.url).unwrap(), 200);
        let missing = format!("{}nope", site.url);
        assert_eq!(crate::http::get_status(&missing).unwrap(), 404);
    }
}
