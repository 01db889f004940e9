//! The Rust example: reqwest (async, tokio) with a cookie store for warm-up cookies, secrets and
//! proxies from the environment, and the same pagination loop as the Python code.

use std::fmt::Write;

use recon_contracts::{NetworkTier, PaginationStyle};
use serde_json::Value;

use crate::curl::warm_env;
use crate::plan::{string_template, Library, Plan, PlanBody};
use crate::template::{Piece, Template};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! {} (browser-recon starter code).",
        line(&plan.label)
    );
    out.push_str("//!\n//! Cargo.toml: reqwest = { version = \"0.12\", features = [\"json\", \"cookies\"] },\n//! tokio = { version = \"1\", features = [\"full\"] }, serde_json = \"1\"\n");
    if plan.library == Library::CurlCffi {
        out.push_str("//! Validation needed Chrome's TLS fingerprint: reqwest is likely blocked; the Python\n//! version (curl_cffi) impersonates Chrome.\n");
    }
    out.push_str("//! Secrets are read from environment variables, never written here.\n\n");
    out.push_str("use std::env;\n\ntype Error = Box<dyn std::error::Error>;\n\n");
    out.push_str("fn secret(name: &str) -> Result<String, Error> {\n    env::var(name).map_err(|_| format!(\"set {name} first (a value from your browser session)\").into())\n}\n\n");
    out.push_str("/// The records of one page: the longest list in the response.\nfn records(data: &serde_json::Value) -> Vec<serde_json::Value> {\n    let mut best: &[serde_json::Value] = &[];\n    let mut stack = vec![data];\n    while let Some(item) = stack.pop() {\n        match item {\n            serde_json::Value::Array(items) if items.len() > best.len() => best = items.as_slice(),\n            serde_json::Value::Object(map) => stack.extend(map.values()),\n            _ => {}\n        }\n    }\n    best.to_vec()\n}\n\n");
    out.push_str("fn dig<'a>(data: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {\n    path.split('.').try_fold(data, |value, key| match value {\n        serde_json::Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),\n        other => other.get(key),\n    })\n    .filter(|value| !value.is_null() && value != &&serde_json::Value::Bool(false))\n}\n\n");
    out.push_str("#[tokio::main]\nasync fn main() -> Result<(), Error> {\n    let mut builder = reqwest::Client::builder().cookie_store(true);\n");
    let proxy_env = match plan.tier {
        NetworkTier::Direct => "PROXY_URL",
        NetworkTier::Datacenter => "DATACENTER_PROXY",
        NetworkTier::Residential => "RESIDENTIAL_PROXY",
    };
    if plan.tier == NetworkTier::Direct {
        let _ = writeln!(out, "    if let Ok(proxy) = env::var({proxy_env:?}) {{\n        builder = builder.proxy(reqwest::Proxy::all(proxy)?);\n    }}");
    } else {
        let _ = writeln!(out, "    // Validation needed the {} tier.\n    builder = builder.proxy(reqwest::Proxy::all(secret({proxy_env:?})?)?);", tier_name(plan.tier));
    }
    out.push_str("    let client = builder.build()?;\n");
    for warmup in &plan.warmups {
        let _ = writeln!(out, "    // {}", line(&warmup.mints.join("; ")));
        let _ = writeln!(
            out,
            "    client\n        .request(reqwest::Method::from_bytes({:?}.as_bytes())?, {})\n        .send()\n        .await?\n        .error_for_status()?;",
            warmup.method,
            rs_template(&warmup.url)
        );
    }
    let _ = writeln!(out, "    let mut url = {};", rs_template(&plan.url));
    let mut query = plan.query.clone();
    if let Some(name) = plan.pagination.as_ref().and_then(|p| p.parameter.as_ref()) {
        query.retain(|(n, _)| n != name);
    }
    let pairs: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("({name:?}.to_owned(), {})", rs_template(value)))
        .collect();
    let _ = writeln!(
        out,
        "    let mut query: Vec<(String, String)> = vec![{}];",
        pairs.join(", ")
    );
    match &plan.body {
        Some(PlanBody::Json(json)) => {
            let _ = writeln!(out, "    let mut body = {};", rs_json(json));
        }
        Some(PlanBody::Form(fields)) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("({name:?}.to_owned(), {})", rs_template(value)))
                .collect();
            let _ = writeln!(
                out,
                "    let body: Vec<(String, String)> = vec![{}];",
                fields.join(", ")
            );
        }
        Some(PlanBody::Raw(text)) => {
            let _ = writeln!(out, "    let body: String = {};", rs_template(text));
        }
        None => {}
    }
    out.push_str("    let mut results: Vec<serde_json::Value> = Vec::new();\n");
    let page = plan.pagination.as_ref().filter(|_| plan.json_response);
    let counter = match page.map(|p| p.style) {
        Some(PaginationStyle::Page) | Some(PaginationStyle::Offset) => page.map(|p| p.start),
        _ => None,
    };
    if let Some(start) = counter {
        let _ = writeln!(out, "    let mut position: i64 = {start};");
    }
    out.push_str("    let mut cursor: Option<String> = None;\n    for _ in 0..50 {\n");
    if let Some(page) = page {
        match (&page.body_path, &page.parameter, counter.is_some()) {
            (Some(path), _, true) => {
                let pointer: String = path.iter().map(|k| format!("/{k}")).collect();
                let _ = writeln!(out, "        if let Some(slot) = body.pointer_mut({pointer:?}) {{\n            *slot = serde_json::json!(position);\n        }}");
            }
            (Some(path), _, false) => {
                let pointer: String = path.iter().map(|k| format!("/{k}")).collect();
                let _ = writeln!(out, "        if let (Some(slot), Some(cursor)) = (body.pointer_mut({pointer:?}), &cursor) {{\n            *slot = serde_json::json!(cursor);\n        }}");
            }
            (None, Some(name), true) => {
                let _ = writeln!(out, "        let mut query = query.clone();\n        query.push(({name:?}.to_owned(), position.to_string()));");
            }
            (None, Some(name), false) => {
                let _ = writeln!(out, "        let mut query = query.clone();\n        if let Some(cursor) = &cursor {{\n            query.push(({name:?}.to_owned(), cursor.clone()));\n        }}");
            }
            (None, None, _) => {}
        }
    }
    let _ = writeln!(
        out,
        "        let request = client\n            .request(reqwest::Method::from_bytes({:?}.as_bytes())?, url.as_str())\n            .query(&query)",
        plan.method
    );
    for (name, value) in &plan.headers {
        let _ = writeln!(out, "            .header({name:?}, {})", rs_template(value));
    }
    if !plan.cookies.is_empty() {
        let mut cookie = Template::default();
        for (name, value) in &plan.cookies {
            if !cookie.0.is_empty() {
                cookie.0.push(Piece::Text("; ".to_owned()));
            }
            cookie.0.push(Piece::Text(format!("{name}=")));
            cookie.0.extend(value.0.iter().cloned());
        }
        let _ = writeln!(
            out,
            "            .header(\"Cookie\", {})",
            rs_template(&cookie)
        );
    }
    match &plan.body {
        Some(PlanBody::Json(_)) => out.push_str("            .json(&body)\n"),
        Some(PlanBody::Form(_)) => out.push_str("            .form(&body)\n"),
        Some(PlanBody::Raw(_)) => out.push_str("            .body(body.clone())\n"),
        None => {}
    }
    out.push_str(
        "            ;\n        let response = request.send().await?.error_for_status()?;\n",
    );
    if !plan.json_response {
        out.push_str("        print!(\"{}\", response.text().await?);\n        let _ = (&mut url, &mut query, &mut cursor, &mut results);\n        return Ok(());\n    }\n    Ok(())\n}\n");
        return out;
    }
    out.push_str("        let data: serde_json::Value = response.json().await?;\n        let batch = records(&data);\n        let empty = batch.is_empty();\n        results.extend(batch);\n");
    match page.map(|p| (p.style, p.next_field.clone(), p.page_size)) {
        Some((PaginationStyle::Page | PaginationStyle::Offset, next, size)) => {
            out.push_str("        if empty {\n            break;\n        }\n");
            if let Some(next) = next {
                let _ = writeln!(
                    out,
                    "        if dig(&data, {next:?}).is_none() {{\n            break;\n        }}"
                );
            }
            if let Some(size) = size {
                let _ = writeln!(out, "        if (results.len() as i64) % {size} != 0 {{\n            break;\n        }}");
            }
            if page.is_some_and(|p| p.style == PaginationStyle::Page) {
                out.push_str("        position += 1;\n");
            } else {
                out.push_str("        position = results.len() as i64;\n");
            }
        }
        Some((PaginationStyle::Cursor, Some(next), _)) => {
            let _ = writeln!(out, "        let _ = empty;\n        cursor = dig(&data, {next:?}).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));\n        if cursor.is_none() {{\n            break;\n        }}");
        }
        Some((PaginationStyle::NextLink, Some(next), _)) => {
            let _ = writeln!(out, "        let _ = empty;\n        match dig(&data, {next:?}).and_then(|v| v.as_str()) {{\n            Some(link) => {{\n                url = reqwest::Url::parse(&url)?.join(link)?.to_string();\n                query.clear();\n            }}\n            None => break,\n        }}");
        }
        _ => out.push_str("        let _ = empty;\n        break;\n"),
    }
    out.push_str("    }\n    let _ = (&mut url, &mut query, &mut cursor);\n    println!(\"{}\", serde_json::to_string_pretty(&results)?);\n    Ok(())\n}\n");
    out
}

fn tier_name(tier: NetworkTier) -> &'static str {
    match tier {
        NetworkTier::Direct => "direct",
        NetworkTier::Datacenter => "datacenter",
        NetworkTier::Residential => "residential",
    }
}

fn rs_template(template: &Template) -> String {
    let mut format = String::new();
    let mut arguments = Vec::new();
    for piece in &template.0 {
        match piece {
            Piece::Text(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
            Piece::Env(name) => {
                format.push_str("{}");
                arguments.push(format!("secret({name:?})?"));
            }
            Piece::Warm(key) => {
                format.push_str("{}");
                arguments.push(format!("secret({:?})?", warm_env(key)));
            }
        }
    }
    if arguments.is_empty() {
        return format!("{:?}.to_owned()", template.as_text().unwrap_or(""));
    }
    if format == "{}" && arguments.len() == 1 {
        return arguments.remove(0);
    }
    format!("format!({format:?}, {})", arguments.join(", "))
}

fn rs_json(value: &Value) -> String {
    let mut secrets = Vec::new();
    let text = json_with_slots(value, &mut secrets);
    if secrets.is_empty() {
        return format!("serde_json::json!({text})");
    }
    format!("serde_json::json!({text})")
}

/// JSON for `serde_json::json!`, with secrets as Rust expressions in place.
fn json_with_slots(value: &Value, secrets: &mut Vec<String>) -> String {
    match value {
        Value::String(text) => {
            let template = string_template(text);
            if template.has_secret() {
                let expression = rs_template(&template);
                secrets.push(expression.clone());
                format!("({expression})")
            } else {
                serde_json::to_string(text).unwrap_or_default()
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|item| json_with_slots(item, secrets))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, item)| format!(
                    "{}: {}",
                    serde_json::to_string(key).unwrap_or_default(),
                    json_with_slots(item, secrets)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}
