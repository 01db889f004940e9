//! A small site on loopback for the Chrome capture tests: a page whose script fetch()es JSON
//! APIs, POSTs a GraphQL query, sets cookies (from JS and with Set-Cookie), follows a redirect
//! chain, loads an image, reads an EventSource, and registers a service worker that answers
//! `/sw-api/*` by calling the real API `/api/sw-backend` itself.
//!
//! Plain HTTP/1.1 on tokio, one request per connection; it records every request it served.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct CaptureSite {
    pub url: String,
    /// `METHOD /path?query` of every request served, in order.
    pub served: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for CaptureSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CaptureSite {
    pub async fn start() -> CaptureSite {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind site");
        let address = listener.local_addr().expect("site address");
        let served: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = served.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, log).await;
                });
            }
        });
        CaptureSite {
            url: format!("http://{address}/"),
            served,
            task,
        }
    }

    pub fn served(&self) -> Vec<String> {
        self.served
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }
}

pub const PAGE: &str = r#"<!doctype html>
<html><head><title>Lamp shop</title></head>
<body>
<h1>Lamp shop</h1>
<img src="/logo.png" alt="logo">
<ul id="products"></ul>
<script>
document.cookie = "js_pref=dark; path=/";
(async () => {
  const products = await fetch("/api/products?page=1", {headers: {"Accept": "application/json"}}).then(r => r.json());
  document.getElementById("products").textContent = products.products.map(p => p.name).join(", ");
  await fetch("/graphql", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({operationName: "SearchProducts",
      query: "query SearchProducts($q: String!) { search(q: $q) { id name price } }",
      variables: {q: "lamp"}})
  }).then(r => r.json());
  await fetch("/redirect/start").then(r => r.json());
  await new Promise(resolve => {
    const source = new EventSource("/events");
    let seen = 0;
    source.onmessage = () => { if (++seen === 2) { source.close(); resolve(); } };
    source.onerror = () => { source.close(); resolve(); };
  });
  await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise(resolve => navigator.serviceWorker.addEventListener("controllerchange", resolve));
  }
  await fetch("/sw-api/items").then(r => r.json());
  document.title = "Lamp shop (loaded)";
})();
</script>
</body></html>
"#;

const SERVICE_WORKER: &str = r#"
self.addEventListener("install", event => self.skipWaiting());
self.addEventListener("activate", event => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", event => {
  const url = new URL(event.request.url);
  if (url.pathname.startsWith("/sw-api/")) {
    event.respondWith(fetch("/api/sw-backend?via=service-worker"));
  }
});
"#;

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

struct Reply {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn json(body: &str) -> Reply {
    Reply {
        status: "200 OK",
        headers: vec![("Content-Type", "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn redirect(status: &'static str, to: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Location", to.into())],
        body: Vec::new(),
    }
}

fn route(method: &str, path: &str, body: &str) -> Reply {
    let bare = path.split('?').next().unwrap_or(path);
    match (method, bare) {
        ("GET", "/") => Reply {
            status: "200 OK",
            headers: vec![
                ("Content-Type", "text/html; charset=utf-8".into()),
                ("Set-Cookie", "srv_session=srv123; Path=/; HttpOnly".into()),
            ],
            body: PAGE.as_bytes().to_vec(),
        },
        ("GET", "/api/products") => {
            let mut reply = json(
                r#"{"products":[{"id":1,"name":"Desk lamp","price":"24.90"},{"id":2,"name":"Floor lamp","price":"89.00"}],"page":1}"#,
            );
            reply
                .headers
                .push(("Set-Cookie", "api_seen=1; Path=/".into()));
            reply
        }
        ("POST", "/graphql") => {
            let operation = if body.contains("SearchProducts") {
                "SearchProducts"
            } else {
                "unknown"
            };
            json(&format!(
                r#"{{"data":{{"search":[{{"id":"1","name":"Desk lamp","price":24.9}}]}},"extensions":{{"operation":"{operation}"}}}}"#
            ))
        }
        ("GET", "/redirect/start") => redirect("302 Found", "/redirect/middle"),
        ("GET", "/redirect/middle") => redirect("301 Moved Permanently", "/api/final"),
        ("GET", "/api/final") => json(r#"{"final":true}"#),
        ("GET", "/api/sw-backend") => {
            json(r#"{"items":[{"id":7,"name":"Shade"}],"served_via":"service worker"}"#)
        }
        ("GET", "/logo.png") => Reply {
            status: "200 OK",
            headers: vec![("Content-Type", "image/png".into())],
            body: PNG.to_vec(),
        },
        ("GET", "/sw.js") => Reply {
            status: "200 OK",
            headers: vec![("Content-Type", "application/javascript".into())],
            body: SERVICE_WORKER.as_bytes().to_vec(),
        },
        ("GET", "/events") => Reply {
            status: "200 OK",
            headers: vec![
                ("Content-Type", "text/event-stream".into()),
                ("Cache-Control", "no-cache".into()),
            ],
            body: b"retry: 600000\n\ndata: {\"tick\":1}\n\ndata: {\"tick\":2}\n\n".to_vec(),
        },
        _ => Reply {
            status: "404 Not Found",
            headers: vec![("Content-Type", "text/plain".into())],
            body: b"not found".to_vec(),
        },
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let Some((head, body)) = crate::proxy::read_request(&mut stream).await? else {
        return Ok(());
    };
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let body = String::from_utf8_lossy(&body).into_owned();
    if let Ok(mut log) = log.lock() {
        log.push(format!("{method} {path}"));
    }
    let reply = route(&method, &path, &body);
    let mut response = format!("HTTP/1.1 {}\r\n", reply.status);
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    stream.write_all(response.as_bytes()).await?;
    stream.write_all(&reply.body).await?;
    stream.shutdown().await
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
