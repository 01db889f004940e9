//! The Rust example: reqwest (async, tokio) with a cookie store for warm-up cookies, secrets and
//! proxies from the environment, and the same pagination loop as the Python code. Site text goes
//! in through [`crate::escape::rust`] only: string literals, `format!` text and comments.

use std::fmt::Write;

use recon_contracts::{NetworkTier, PaginationStyle};
use serde_json::Value;

use crate::escape::rust::{self as literal, comment};
use crate::plan::{string_template, Library, Plan, PlanBody};
use crate::template::{Piece, Template};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! {} (browser-recon starter code).",
        comment(&plan.label)
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
        let _ = writeln!(out, "    if let Ok(proxy) = env::var({}) {{\n        builder = builder.proxy(reqwest::Proxy::all(proxy)?);\n    }}", literal::string(proxy_env));
    } else {
        let _ = writeln!(out, "    // Validation needed the {} tier.\n    builder = builder.proxy(reqwest::Proxy::all(secret({})?)?);", crate::notes::tier_words(plan.tier), literal::string(proxy_env));
    }
    out.push_str("    let client = builder.build()?;\n");
    for warmup in &plan.warmups {
        let _ = writeln!(out, "    // {}", comment(&warmup.mints.join("; ")));
        let _ = writeln!(
            out,
            "    client\n        .request(reqwest::Method::from_bytes({}.as_bytes())?, {})\n        .send()\n        .await?\n        .error_for_status()?;",
            literal::string(&warmup.method),
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
        .map(|(name, value)| {
            format!(
                "({}.to_owned(), {})",
                literal::string(name),
                rs_template(value)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "    let mut query: Vec<(String, String)> = vec![{}];",
        pairs.join(", ")
    );
    match &plan.body {
        Some(PlanBody::Json(json)) => {
            let _ = writeln!(out, "    let mut body = {};", rs_json_body(json));
        }
        Some(PlanBody::Form(fields)) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, value)| {
                    format!(
                        "({}.to_owned(), {})",
                        literal::string(name),
                        rs_template(value)
                    )
                })
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
                let pointer = literal::string(&json_pointer(path));
                let _ = writeln!(out, "        if let Some(slot) = body.pointer_mut({pointer}) {{\n            *slot = serde_json::json!(position);\n        }}");
            }
            (Some(path), _, false) => {
                let pointer = literal::string(&json_pointer(path));
                let _ = writeln!(out, "        if let (Some(slot), Some(cursor)) = (body.pointer_mut({pointer}), &cursor) {{\n            *slot = serde_json::json!(cursor);\n        }}");
            }
            (None, Some(name), true) => {
                let _ = writeln!(out, "        let mut query = query.clone();\n        query.push(({}.to_owned(), position.to_string()));", literal::string(name));
            }
            (None, Some(name), false) => {
                let _ = writeln!(out, "        let mut query = query.clone();\n        if let Some(cursor) = &cursor {{\n            query.push(({}.to_owned(), cursor.clone()));\n        }}", literal::string(name));
            }
            (None, None, _) => {}
        }
    }
    let _ = writeln!(
        out,
        "        let request = client\n            .request(reqwest::Method::from_bytes({}.as_bytes())?, url.as_str())\n            .query(&query)",
        literal::string(&plan.method)
    );
    for (name, value) in &plan.headers {
        let _ = writeln!(
            out,
            "            .header({}, {})",
            literal::string(name),
            rs_template(value)
        );
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
    let next_literal = |p: &crate::plan::PagePlan| p.next_field.as_deref().map(literal::string);
    match page.map(|p| (p.style, next_literal(p), p.page_size)) {
        Some((PaginationStyle::Page | PaginationStyle::Offset, next, size)) => {
            out.push_str("        if empty {\n            break;\n        }\n");
            if let Some(next) = next {
                let _ = writeln!(
                    out,
                    "        if dig(&data, {next}).is_none() {{\n            break;\n        }}"
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
            let _ = writeln!(out, "        let _ = empty;\n        cursor = dig(&data, {next}).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));\n        if cursor.is_none() {{\n            break;\n        }}");
        }
        Some((PaginationStyle::NextLink, Some(next), _)) => {
            let _ = writeln!(out, "        let _ = empty;\n        match dig(&data, {next}).and_then(|v| v.as_str()) {{\n            Some(link) => {{\n                url = reqwest::Url::parse(&url)?.join(link)?.to_string();\n                query.clear();\n            }}\n            None => break,\n        }}");
        }
        _ => out.push_str("        let _ = empty;\n        break;\n"),
    }
    out.push_str("    }\n    let _ = (&mut url, &mut query, &mut cursor);\n    println!(\"{}\", serde_json::to_string_pretty(&results)?);\n    Ok(())\n}\n");
    out
}

fn rs_template(template: &Template) -> String {
    let mut format = String::new();
    let mut arguments = Vec::new();
    for piece in &template.0 {
        let Some(variable) = piece.variable() else {
            if let Piece::Text(text) = piece {
                format.push_str(&literal::format_text(text));
            }
            continue;
        };
        format.push_str("{}");
        arguments.push(format!("secret({})?", literal::string(&variable)));
    }
    if arguments.is_empty() {
        return format!(
            "{}.to_owned()",
            literal::string(template.as_text().unwrap_or(""))
        );
    }
    if format == "{}" && arguments.len() == 1 {
        return arguments.remove(0);
    }
    format!(
        "format!({}, {})",
        literal::string(&format),
        arguments.join(", ")
    )
}

/// `json!` expands itself once per level of nesting and stops at the compiler's macro recursion
/// limit (a body about 22 levels deep); deeper bodies are built without the macro.
const JSON_MACRO_MAX_DEPTH: usize = 16;

/// An expression for the JSON body: `serde_json::json!({…})` when it is shallow enough.
fn rs_json_body(value: &Value) -> String {
    if json_depth(value) <= JSON_MACRO_MAX_DEPTH {
        format!("serde_json::json!({})", rs_json(value))
    } else {
        rs_value(value)
    }
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The body as `serde_json::Value` constructors, at any depth.
fn rs_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!(
            "serde_json::Value::String({})",
            rs_template(&string_template(text))
        ),
        Value::Array(items) if items.is_empty() => {
            "serde_json::Value::Array(Vec::new())".to_owned()
        }
        Value::Array(items) => format!(
            "serde_json::Value::Array(Vec::from([{}]))",
            items.iter().map(rs_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => {
            "serde_json::Value::Object(serde_json::Map::new())".to_owned()
        }
        Value::Object(map) => format!(
            "serde_json::Value::Object(serde_json::Map::from_iter([{}]))",
            map.iter()
                .map(|(key, item)| format!(
                    "({}.to_owned(), {})",
                    literal::string(key),
                    rs_value(item)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Number(number) => format!("serde_json::Value::from({})", rs_number(number)),
        Value::Bool(flag) => format!("serde_json::Value::Bool({flag})"),
        Value::Null => "serde_json::Value::Null".to_owned(),
    }
}

/// The body inside `serde_json::json!`, with secrets as Rust expressions in place.
fn rs_json(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let template = string_template(text);
            if template.has_secret() {
                format!("({})", rs_template(&template))
            } else {
                literal::string(text)
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(rs_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, item)| format!("{}: {}", literal::string(key), rs_json(item)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Number(number) => rs_number(number),
        other => other.to_string(),
    }
}

/// A JSON number as a typed Rust literal: `json!` gives an untyped integer literal the type
/// `i32`, so `5000000000` would not compile.
fn rs_number(number: &serde_json::Number) -> String {
    if let Some(integer) = number.as_i64() {
        format!("{integer}i64")
    } else if let Some(integer) = number.as_u64() {
        format!("{integer}u64")
    } else {
        format!("{:?}f64", number.as_f64().unwrap_or_default())
    }
}

/// A JSON pointer (RFC 6901) to the value at `path`.
fn json_pointer(path: &[String]) -> String {
    path.iter()
        .map(|key| format!("/{}", key.replace('~', "~0").replace('/', "~1")))
        .collect()
}
