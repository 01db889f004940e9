//! A capture with planted secrets: unique random strings in every place a capture can hold a
//! secret (headers, cookies, query strings, JSON/form/multipart bodies, URLs, redirects,
//! WebSocket frames). The canary test checks none of them comes out of the server.

use recon_contracts::{
    Body, Capture, CaptureSource, Cookie, Header, Initiator, Page, RequestRecord, ResourceType,
    ResponseRecord, StreamKind, StreamSummary, Timing, CAPTURE_FORMAT_VERSION,
};

pub const HOST: &str = "https://canary-shop.recon.test";

pub struct Canaries {
    pub capture: Capture,
    /// Every planted value; none may appear anywhere the server writes.
    pub planted: Vec<String>,
}

struct Planter(Vec<String>);

impl Planter {
    fn plant(&mut self, tag: &str) -> String {
        let value = format!("cnry{tag}{}", uuid::Uuid::new_v4().simple());
        self.0.push(value.clone());
        value
    }
}

fn request(id: &str, method: &str, url: String, resource_type: ResourceType) -> RequestRecord {
    RequestRecord {
        id: id.to_owned(),
        page_id: Some("page-1".to_owned()),
        method: method.to_owned(),
        url,
        resource_type,
        initiator: None,
        request_headers: vec![Header::new("Accept", "application/json")],
        post_data: None,
        response: None,
        timing: Timing {
            started_at_ms: 1_764_000_000_000.0,
            duration_ms: Some(40.0),
            wait_ms: Some(30.0),
        },
        redirected_from: None,
        failure: None,
    }
}

fn json_response(body: String, headers: Vec<Header>) -> Option<ResponseRecord> {
    let mut all = vec![Header::new("Content-Type", "application/json")];
    all.extend(headers);
    Some(ResponseRecord {
        status: 200,
        status_text: "OK".to_owned(),
        headers: all,
        mime_type: "application/json".to_owned(),
        body: Some(Body::text(body)),
        remote_address: Some("203.0.113.9:443".to_owned()),
        protocol: Some("h2".to_owned()),
        from_cache: false,
        from_service_worker: false,
    })
}

pub fn canary_capture() -> Canaries {
    let mut p = Planter(Vec::new());
    let session = p.plant("session");
    let abck = p.plant("abck");
    let bearer = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI{}.{}",
        p.plant("jwtclaim"),
        p.plant("jwtsig")
    );
    let api_key_header = p.plant("apikeyheader");
    let csrf_header = p.plant("csrfheader");
    let query_key = p.plant("querykey");
    let query_token = p.plant("querytoken");
    let jsessionid = p.plant("jsessionid");
    let json_password = p.plant("jsonpassword");
    let json_token = p.plant("jsontoken");
    let email_user = p.plant("email");
    let form_csrf = p.plant("formcsrf");
    let form_password = p.plant("formpassword");
    let multipart_secret = p.plant("multipartsecret");
    let multipart_password = p.plant("multipartpassword");
    let userinfo = p.plant("userinfo");
    let fragment = p.plant("fragment");
    let location_token = p.plant("location");
    let initiator_sig = p.plant("initiator");
    let ws_token = p.plant("websocket");
    let response_token = p.plant("responsetoken");
    let stripe = format!("sk_live_{}", p.plant("stripe"));
    p.0.push(format!("{email_user}@mail.example.com"));

    let mut home = request("home", "GET", format!("{HOST}/"), ResourceType::Document);
    home.request_headers = vec![Header::new("Accept", "text/html")];
    home.response = Some(ResponseRecord {
        status: 200,
        status_text: "OK".to_owned(),
        headers: vec![
            Header::new("Content-Type", "text/html"),
            Header::new("Set-Cookie", format!("session={session}; Path=/; HttpOnly")),
            Header::new("Set-Cookie", format!("_abck={abck}; Path=/")),
        ],
        mime_type: "text/html".to_owned(),
        body: Some(Body::text(format!(
            r#"<html><head><meta name="csrf-token" content="{csrf_header}"></head><body><form><input type="hidden" name="authenticity_token" value="{form_csrf}"></form><script>window.cfg={{"stripeKey":"{stripe}"}}</script></body></html>"#
        ))),
        remote_address: None,
        protocol: None,
        from_cache: false,
        from_service_worker: false,
    });

    let cookie = format!("session={session}; _abck={abck}; theme=dark");
    let mut products = request(
        "products-1",
        "GET",
        format!("{HOST}/api/products?page=1&limit=20&api_key={query_key}&token={query_token}"),
        ResourceType::Fetch,
    );
    products.request_headers.extend([
        Header::new("Cookie", cookie.clone()),
        Header::new("Authorization", format!("Bearer {bearer}")),
        Header::new("X-Api-Key", api_key_header.clone()),
        Header::new("X-CSRF-Token", csrf_header.clone()),
        Header::new("Referer", format!("{HOST}/#access_token={fragment}")),
    ]);
    products.initiator = Some(Initiator {
        kind: "script".to_owned(),
        url: Some(format!("{HOST}/static/app.js?sig={initiator_sig}")),
    });
    products.response = json_response(
        r#"{"items":[{"id":1842,"name":"Desk lamp","price":19.9}],"next":2}"#.to_owned(),
        vec![],
    );

    let mut products_2 = products.clone();
    products_2.id = "products-2".to_owned();
    products_2.url =
        format!("{HOST}/api/products?page=2&limit=20&api_key={query_key}&token={query_token}");

    let mut login = request(
        "login",
        "POST",
        format!("{HOST}/api/login"),
        ResourceType::Fetch,
    );
    login.request_headers.extend([
        Header::new("Content-Type", "application/json"),
        Header::new("Cookie", cookie.clone()),
    ]);
    login.post_data = Some(Body::text(format!(
        r#"{{"email":"{email_user}@mail.example.com","password":"{json_password}","remember":true}}"#
    )));
    login.response = json_response(
        format!(
            r#"{{"access_token":"{json_token}","refresh_token":"{response_token}","user":{{"id":7}}}}"#
        ),
        vec![Header::new(
            "Location",
            format!("/account?session={location_token}"),
        )],
    );

    let mut form = request(
        "form",
        "POST",
        format!("{HOST}/account/settings"),
        ResourceType::Document,
    );
    form.request_headers.extend([
        Header::new("Content-Type", "application/x-www-form-urlencoded"),
        Header::new("Cookie", cookie.clone()),
    ]);
    form.post_data = Some(Body::text(format!(
        "csrf_token={form_csrf}&display_name=Ann&password={form_password}"
    )));

    let mut upload = request(
        "upload",
        "POST",
        format!("{HOST}/api/avatar"),
        ResourceType::Fetch,
    );
    upload.request_headers.extend([
        Header::new(
            "Content-Type",
            "multipart/form-data; boundary=----canaryBoundary",
        ),
        Header::new("Cookie", cookie.clone()),
    ]);
    upload.post_data = Some(Body::text(format!(
        "------canaryBoundary\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\n{multipart_secret}\r\n------canaryBoundary\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{multipart_password}\r\n------canaryBoundary--\r\n"
    )));

    let legacy = request(
        "legacy",
        "GET",
        format!(
            "https://user:{userinfo}@canary-shop.recon.test/legacy;jsessionid={jsessionid}/list"
        ),
        ResourceType::Xhr,
    );

    let capture = Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("{HOST}/"),
        started_at_ms: 1_764_000_000_000.0,
        ended_at_ms: 1_764_000_030_000.0,
        browser: Some("Chrome/131.0.0.0".to_owned()),
        pages: vec![Page {
            id: "page-1".to_owned(),
            url: format!("{HOST}/"),
            title: Some("Canary shop".to_owned()),
            started_at_ms: 1_764_000_000_000.0,
        }],
        requests: vec![home, products, products_2, login, form, upload, legacy],
        cookies: vec![
            Cookie {
                name: "session".to_owned(),
                value: session.clone(),
                domain: "canary-shop.recon.test".to_owned(),
                path: "/".to_owned(),
                expires: None,
                http_only: true,
                secure: true,
                same_site: Some("Lax".to_owned()),
            },
            Cookie {
                name: "_abck".to_owned(),
                value: abck.clone(),
                domain: ".recon.test".to_owned(),
                path: "/".to_owned(),
                expires: None,
                http_only: false,
                secure: true,
                same_site: None,
            },
        ],
        streams: vec![StreamSummary {
            kind: StreamKind::WebSocket,
            url: format!("wss://canary-shop.recon.test/live?token={ws_token}"),
            messages_sent: 1,
            messages_received: 2,
            samples: vec![format!(r#"{{"type":"auth","token":"{ws_token}"}}"#)],
        }],
    };
    Canaries {
        capture,
        planted: p.0,
    }
}
