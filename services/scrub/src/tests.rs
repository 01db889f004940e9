//! Whole-capture tests: planted secrets in every place a capture can hold one.

use recon_contracts::{
    Body, BodyEncoding, Capture, CaptureSource, Cookie, Header, Initiator, Page, RequestRecord,
    ResourceType, ResponseRecord, StreamKind, StreamSummary, Timing, CAPTURE_FORMAT_VERSION,
};

use super::*;

fn canary(tag: &str) -> String {
    format!("cn{tag}{}", uuid::Uuid::new_v4().simple())
}

fn request(id: &str, url: &str, headers: Vec<Header>, body: Option<Body>) -> RequestRecord {
    RequestRecord {
        id: id.to_owned(),
        page_id: None,
        method: if body.is_some() { "POST" } else { "GET" }.to_owned(),
        url: url.to_owned(),
        resource_type: ResourceType::Fetch,
        initiator: None,
        request_headers: headers,
        post_data: body,
        response: None,
        timing: Timing::default(),
        redirected_from: None,
        failure: None,
    }
}

fn response(headers: Vec<Header>, mime: &str, body: &str) -> Option<ResponseRecord> {
    Some(ResponseRecord {
        status: 200,
        status_text: "OK".into(),
        headers,
        mime_type: mime.into(),
        body: Some(Body::text(body)),
        remote_address: None,
        protocol: None,
        from_cache: false,
        from_service_worker: false,
    })
}

#[test]
fn no_planted_secret_survives_and_structure_stays() {
    let c: Vec<String> = (0..20).map(|i| canary(&i.to_string())).collect();
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{}.{}", &c[0][..10], c[1]);
    let email = format!("{}@mail.example.com", c[2]);
    let gh = format!("ghp_{}{}", &c[3], "abcdefghij");
    let mut requests = vec![
        request(
            "1",
            &format!("https://shop.example/app;jsessionid={}/list?page=2&api_key={}", c[4], c[5]),
            vec![
                Header::new("Cookie", format!("sid={}; theme=dark", c[6])),
                Header::new("Authorization", format!("Bearer {jwt}")),
                Header::new("X-Api-Key", &c[7]),
                Header::new("Referer", format!("https://shop.example/?token={}", c[8])),
            ],
            None,
        ),
        request(
            "2",
            "https://shop.example/api/login",
            vec![Header::new("Content-Type", "application/json")],
            Some(Body::text(format!(
                r#"{{"email":"{email}","password":"{}","remember":true,"note":"key {gh}"}}"#,
                c[9]
            ))),
        ),
        request(
            "3",
            "https://shop.example/form",
            vec![Header::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            )],
            Some(Body::text(format!(
                "csrf_token={}&q=lamp&pass={}",
                c[10], c[11]
            ))),
        ),
        request(
            "4",
            "https://shop.example/upload",
            vec![Header::new(
                "Content-Type",
                "multipart/form-data; boundary=----b0undary",
            )],
            Some(Body::text(format!(
                "------b0undary\r\nContent-Disposition: form-data; name=\"secret\"\r\n\r\n{}\r\n------b0undary--\r\n",
                c[12]
            ))),
        ),
    ];
    requests[0].response = response(
        vec![
            Header::new("Set-Cookie", format!("sid={}; Path=/; HttpOnly", c[6])),
            Header::new("Location", format!("/next?session={}", c[13])),
        ],
        "text/html",
        &format!(
            r#"<input type="hidden" name="authenticity_token" value="{}"><p>echo {}</p><script>var t = "{}";</script>"#,
            c[14], c[6], c[7]
        ),
    );
    requests[0].initiator = Some(Initiator {
        kind: "script".into(),
        url: Some(format!("https://shop.example/app.js?sig={}", c[15])),
    });
    requests[1].response = response(
        vec![],
        "application/json",
        &format!(
            r#"{{"access_token":"{}","user":{{"phone":"+1 415 555 0132"}}}}"#,
            c[16]
        ),
    );
    let capture = Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Chrome,
        target_url: format!("https://shop.example/?auth={}", c[17]),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: vec![Page {
            id: "p".into(),
            url: format!("https://shop.example/#access_token={}", c[18]),
            title: Some(format!("Hi {email}")),
            started_at_ms: 0.0,
        }],
        requests,
        cookies: vec![Cookie {
            name: "sid".into(),
            value: c[6].clone(),
            domain: "shop.example".into(),
            path: "/".into(),
            expires: None,
            http_only: true,
            secure: true,
            same_site: None,
        }],
        streams: vec![StreamSummary {
            kind: StreamKind::WebSocket,
            url: format!("wss://shop.example/live?token={}", c[19]),
            messages_sent: 1,
            messages_received: 1,
            samples: vec![format!(r#"{{"type":"auth","token":"{}"}}"#, c[19])],
        }],
    };
    let scrubbed = scrub(capture.clone());
    let json = serde_json::to_string(&scrubbed.capture).unwrap();
    for (index, secret) in c.iter().enumerate() {
        assert!(
            !json.contains(secret.as_str()),
            "canary {index} survived: {json}"
        );
    }
    assert!(!json.contains("415 555"), "phone survived");
    let requests = &scrubbed.capture.requests;
    assert_eq!(
        requests[0].url,
        "https://shop.example/app;jsessionid=<session>/list?page=2&api_key=<api-key%232>"
    );
    assert_eq!(
        requests[0].request_headers[0].value,
        "sid=<cookie:sid>; theme=<cookie:theme>"
    );
    assert_eq!(requests[0].request_headers[1].value, "Bearer <bearer>");
    assert_eq!(scrubbed.capture.cookies[0].value, "<cookie:sid>");
    // The cookie value echoed in the HTML body is swept with the same placeholder.
    let html = requests[0]
        .response
        .as_ref()
        .unwrap()
        .body
        .as_ref()
        .unwrap();
    assert!(html.data.contains("echo <cookie:sid>"), "{}", html.data);
    assert!(
        html.data.contains(r#"var t = "<api-key>""#),
        "{}",
        html.data
    );
    let login: serde_json::Value =
        serde_json::from_str(&requests[1].post_data.as_ref().unwrap().data).unwrap();
    assert_eq!(login["remember"], true);
    assert_eq!(login["email"], "<email>");
    assert_eq!(login["note"], "key <api-key#3>");
    assert_eq!(
        scrubbed.capture.pages[0].title.as_deref(),
        Some("Hi <email>"),
        "the same email gets the same placeholder"
    );
    assert!(scrubbed.replacements >= 20);
    for kind in [
        "cookie", "bearer", "api-key", "email", "password", "csrf", "session", "token", "phone",
    ] {
        assert!(
            scrubbed.by_kind.contains_key(kind),
            "no {kind} in {:?}",
            scrubbed.by_kind
        );
    }
    scrubbed.capture.validate().unwrap();
    // Deterministic: the same capture scrubs to the same copy.
    assert_eq!(scrub(capture).capture, scrubbed.capture);
    assert_eq!(
        requests[2].post_data.as_ref().unwrap().data,
        "csrf_token=<csrf#2>&q=lamp&pass=<password#2>"
    );
    let _ = BodyEncoding::Text;
}

#[test]
fn a_clean_capture_is_left_alone() {
    let capture = Capture {
        format_version: CAPTURE_FORMAT_VERSION,
        source: CaptureSource::Har,
        target_url: "https://shop.example/".into(),
        started_at_ms: 0.0,
        ended_at_ms: 1.0,
        browser: None,
        pages: vec![],
        requests: vec![request(
            "1",
            "https://shop.example/api/products?page=2&sort=price",
            vec![Header::new("Accept", "application/json")],
            None,
        )],
        cookies: vec![],
        streams: vec![],
    };
    let scrubbed = scrub(capture.clone());
    assert_eq!(scrubbed.capture, capture);
    assert_eq!(scrubbed.replacements, 0);
}
