//! Python starter code: requests for plain and browser replays, curl_cffi impersonating Chrome
//! when validation needed the impersonating profile; proxies and secrets from the environment,
//! the warm-up requests, the pagination loop, and a back-off on 429. Site text goes in through
//! [`crate::escape::python`] only: string literals, the docstring's text and comments.

use std::fmt::Write;

use recon_contracts::{MintedBy, NetworkTier, PaginationStyle};
use serde_json::Value;

use crate::escape::python;
use crate::plan::{string_template, Library, Plan, PlanBody};
use crate::template::{env_hint, Piece, Template};

const HELPERS: &str = r#"
def env(name):
    return os.environ.get(name)


def join(*parts):
    """A value built from text and secrets; None (not sent) when a secret is unset."""
    return None if any(part is None for part in parts) else "".join(parts)


def clean(mapping):
    return {key: value for key, value in mapping.items() if value is not None}


def dig(data, path):
    """The value at a dotted path such as `meta.next_cursor`, or None."""
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def records(data):
    """The records of one page: the longest list in the response."""
    best, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if len(item) > len(best):
                best = item
        elif isinstance(item, dict):
            stack.extend(item.values())
    return best


def set_path(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def attribute(tag, name):
    found = re.search(r"\s" + name + r"""\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", tag, re.I)
    return next((group for group in found.groups() if group is not None), None) if found else None


def tag_value(html, tag_name, key_attribute, key, value_attribute):
    """`<input name=key value=…>` or `<meta name=key content=…>` in a page."""
    for tag in re.findall(r"<" + tag_name + r"\b[^>]*>", html, re.I):
        if attribute(tag, key_attribute) == key:
            return attribute(tag, value_attribute)
    return None


def proxies():
    if PROXY_ENV is None:
        proxy = os.environ.get("PROXY_URL")
    else:
        proxy = os.environ.get(PROXY_ENV)
        if not proxy:
            sys.exit(f"Validation needed a proxy: set {PROXY_ENV}=http://user:password@host:port")
    return {"http": proxy, "https": proxy} if proxy else None


def send(session, method, url, **kwargs):
    """One request; on 429 it waits as long as the site asks (Retry-After) and tries again."""
    for attempt in range(4):
        response = session.request(method, url, proxies=PROXIES, timeout=30, **kwargs)
        if response.status_code != 429 or attempt == 3:
            response.raise_for_status()
            return response
        delay = response.headers.get("Retry-After", "")
        time.sleep(int(delay) if delay.isdigit() else 2 ** attempt)
"#;

pub fn render(plan: &Plan, drivers: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env python3");
    let _ = writeln!(
        out,
        "\"\"\"Starter code for {} (written by browser-recon).\n",
        python::string_body(&plan.label)
    );
    for driver in drivers {
        let _ = writeln!(out, "{}", python::string_body(driver));
    }
    if !plan.required_env.is_empty() || !plan.optional_env.is_empty() {
        let _ = writeln!(
            out,
            "\nSecrets are never written into this file; they are read from the environment:"
        );
        for env in &plan.required_env {
            let _ = writeln!(
                out,
                "  {env} (required): {}",
                python::string_body(&env_hint(env))
            );
        }
        for env in &plan.optional_env {
            let _ = writeln!(
                out,
                "  {env} (sent when set): {}",
                python::string_body(&env_hint(env))
            );
        }
    }
    for cookie in &plan.js_cookies {
        let _ = writeln!(
            out,
            "\nTODO: cookie {} is written by the page's JavaScript (an anti-bot sensor); copy a fresh\nvalue from your browser when requests start failing.",
            python::string_body(cookie)
        );
    }
    let _ = writeln!(
        out,
        "\nOptional: PROXY_URL (any proxy), MAX_PAGES (default 50).\n\"\"\"\n"
    );
    out.push_str("import json\nimport os\nimport re\nimport sys\nimport time\nfrom urllib.parse import urljoin\n\n");
    match plan.library {
        Library::Requests => out.push_str("import requests\n\n"),
        Library::CurlCffi => out.push_str("from curl_cffi import requests\n\n"),
    }
    let _ = writeln!(out, "METHOD = {}", python::string(&plan.method));
    let _ = writeln!(
        out,
        "MAX_PAGES = int(os.environ.get(\"MAX_PAGES\", \"50\"))"
    );
    let proxy_env = match plan.tier {
        NetworkTier::Direct => "None".to_owned(),
        NetworkTier::Datacenter => python::string("DATACENTER_PROXY"),
        NetworkTier::Residential => python::string("RESIDENTIAL_PROXY"),
    };
    let _ = writeln!(out, "PROXY_ENV = {proxy_env}");
    let required: Vec<String> = plan
        .required_env
        .iter()
        .map(|e| python::string(e))
        .collect();
    let _ = writeln!(out, "REQUIRED = [{}]", required.join(", "));
    out.push_str("PROXIES = None\n");
    out.push_str(HELPERS);

    if !plan.warmups.is_empty() {
        out.push_str("\n\ndef warm_up(session):\n    \"\"\"Fetches the values this endpoint needs, the way the site's pages mint them.\"\"\"\n    warm = {}\n");
        for warmup in &plan.warmups {
            let _ = writeln!(out, "    # {}", python::comment(&warmup.mints.join("; ")));
            let headers = py_mapping(&warmup.headers, 8);
            let _ = writeln!(
                out,
                "    response = send(session, {}, {}, headers=clean({headers}))",
                python::string(&warmup.method),
                py_template(&warmup.url)
            );
            for extract in &warmup.extracts {
                let field = python::string(extract.field.as_deref().unwrap_or(&extract.key));
                let expression = match extract.how {
                    MintedBy::JsonField => format!("dig(response.json(), {field})"),
                    MintedBy::HtmlInput => {
                        format!("tag_value(response.text, \"input\", \"name\", {field}, \"value\")")
                    }
                    MintedBy::HtmlMeta => {
                        format!(
                            "tag_value(response.text, \"meta\", \"name\", {field}, \"content\")"
                        )
                    }
                    MintedBy::ResponseHeader => format!("response.headers.get({field})"),
                    MintedBy::SetCookie | MintedBy::Redirect | MintedBy::JsCookie => {
                        format!("session.cookies.get({field})")
                    }
                };
                let _ = writeln!(
                    out,
                    "    warm[{}] = {expression}",
                    python::string(&extract.key)
                );
            }
        }
        out.push_str("    missing = [key for key, value in warm.items() if value is None]\n    if missing:\n        sys.exit(f\"warm-up did not find {missing}: the page may have changed\")\n    return warm\n");
    }

    out.push_str("\n\ndef main():\n    global PROXIES\n    missing = [name for name in REQUIRED if not os.environ.get(name)]\n    if missing:\n        sys.exit(\"Set these environment variables first: \" + \", \".join(missing))\n    PROXIES = proxies()\n");
    match plan.library {
        Library::Requests => out.push_str("    session = requests.Session()\n"),
        Library::CurlCffi => {
            out.push_str("    # Chrome's TLS and HTTP/2 fingerprint: plain clients were blocked.\n    session = requests.Session(impersonate=\"chrome\")\n")
        }
    }
    if plan.warmups.is_empty() {
        out.push_str("    warm = {}\n");
    } else {
        out.push_str("    warm = warm_up(session)\n");
    }
    let _ = writeln!(out, "    url = {}", py_template(&plan.url));
    let _ = writeln!(out, "    params = clean({})", py_mapping(&plan.query, 4));
    let _ = writeln!(out, "    headers = clean({})", py_mapping(&plan.headers, 4));
    let _ = writeln!(out, "    cookies = clean({})", py_mapping(&plan.cookies, 4));
    let body_argument = match &plan.body {
        Some(PlanBody::Json(json)) => {
            let _ = writeln!(out, "    body = {}", py_json(json, 4));
            ", json=body"
        }
        Some(PlanBody::Form(fields)) => {
            let _ = writeln!(out, "    body = clean({})", py_mapping(fields, 4));
            ", data=body"
        }
        Some(PlanBody::Raw(text)) => {
            let _ = writeln!(out, "    body = {}", py_template(text));
            ", data=body"
        }
        None => "",
    };
    let call = format!(
        "send(session, METHOD, url, params=params, headers=headers, cookies=cookies{body_argument})"
    );
    let set_parameter = |out: &mut String, value: &str, indent: &str| {
        if let Some(page) = &plan.pagination {
            match (&page.body_path, &page.parameter) {
                (Some(path), _) => {
                    let path: Vec<String> = path.iter().map(|k| python::string(k)).collect();
                    let _ = writeln!(
                        out,
                        "{indent}set_path(body, [{}], {value})",
                        path.join(", ")
                    );
                }
                (None, Some(name)) => {
                    let _ = writeln!(
                        out,
                        "{indent}params[{}] = str({value})",
                        python::string(name)
                    );
                }
                (None, None) => {}
            }
        }
    };
    match plan.pagination.as_ref().filter(|_| plan.json_response) {
        Some(page)
            if matches!(page.style, PaginationStyle::Page | PaginationStyle::Offset)
                && (page.parameter.is_some() || page.body_path.is_some()) =>
        {
            let variable = if page.style == PaginationStyle::Page {
                "page"
            } else {
                "offset"
            };
            let _ = writeln!(out, "    results = []\n    {variable} = {}", page.start);
            out.push_str("    for _ in range(MAX_PAGES):\n");
            set_parameter(&mut out, variable, "        ");
            let _ = writeln!(out, "        data = {call}.json()");
            out.push_str("        batch = records(data)\n        results.extend(batch)\n        if not batch:\n            break\n");
            if let Some(next) = &page.next_field {
                let _ = writeln!(
                    out,
                    "        if not dig(data, {}):\n            break",
                    python::string(next)
                );
            }
            if let Some(size) = page.page_size {
                let _ = writeln!(out, "        if len(batch) < {size}:\n            break");
            }
            if page.style == PaginationStyle::Page {
                out.push_str("        page += 1\n");
            } else {
                out.push_str("        offset += len(batch)\n");
            }
            out.push_str("    json.dump(results, sys.stdout, indent=2)\n    print(f\"{len(results)} records\", file=sys.stderr)\n");
        }
        Some(page) if page.style == PaginationStyle::Cursor && page.next_field.is_some() => {
            let next = python::string(page.next_field.as_deref().unwrap_or_default());
            out.push_str("    results = []\n    cursor = None\n    for _ in range(MAX_PAGES):\n        if cursor is not None:\n");
            set_parameter(&mut out, "cursor", "            ");
            let _ = writeln!(out, "        data = {call}.json()");
            let _ = writeln!(out, "        results.extend(records(data))\n        cursor = dig(data, {next})\n        if not cursor:\n            break");
            out.push_str("    json.dump(results, sys.stdout, indent=2)\n    print(f\"{len(results)} records\", file=sys.stderr)\n");
        }
        Some(page) if page.style == PaginationStyle::NextLink && page.next_field.is_some() => {
            let next = python::string(page.next_field.as_deref().unwrap_or_default());
            out.push_str("    results = []\n    for _ in range(MAX_PAGES):\n");
            let _ = writeln!(out, "        response = {call}");
            let _ = writeln!(out, "        data = response.json()\n        results.extend(records(data))\n        link = dig(data, {next})\n        if not link:\n            break\n        url = urljoin(str(response.url), link)\n        params = {{}}");
            out.push_str("    json.dump(results, sys.stdout, indent=2)\n    print(f\"{len(results)} records\", file=sys.stderr)\n");
        }
        other => {
            if let Some(page) = other {
                let _ = writeln!(
                    out,
                    "    # TODO: analysis saw {} pagination but not where the next page comes from.",
                    python::comment(&format!("{:?}", page.style).to_lowercase())
                );
            }
            let _ = writeln!(out, "    response = {call}");
            if plan.json_response {
                out.push_str("    json.dump(response.json(), sys.stdout, indent=2)\n");
            } else {
                out.push_str("    sys.stdout.write(response.text)\n");
            }
        }
    }
    out.push_str("\n\nif __name__ == \"__main__\":\n    main()\n");
    out
}

fn py_template(template: &Template) -> String {
    let parts: Vec<String> = template
        .0
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => python::string(text),
            Piece::Env(name) => format!("env({})", python::string(name)),
            Piece::Warm(key) => format!("warm[{}]", python::string(key)),
        })
        .collect();
    match parts.len() {
        0 => "\"\"".to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("join({})", parts.join(", ")),
    }
}

fn py_mapping(items: &[(String, Template)], indent: usize) -> String {
    if items.is_empty() {
        return "{}".to_owned();
    }
    let pad = " ".repeat(indent + 4);
    let lines: Vec<String> = items
        .iter()
        .map(|(name, value)| format!("{pad}{}: {},", python::string(name), py_template(value)))
        .collect();
    format!("{{\n{}\n{}}}", lines.join("\n"), " ".repeat(indent))
}

fn py_json(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let close = " ".repeat(indent);
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => py_template(&string_template(text)),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|item| format!("{pad}{},", py_json(item, indent + 4)))
                .collect();
            format!("[\n{}\n{close}]", lines.join("\n"))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let lines: Vec<String> = map
                .iter()
                .map(|(key, item)| {
                    format!(
                        "{pad}{}: {},",
                        python::string(key),
                        py_json(item, indent + 4)
                    )
                })
                .collect();
            format!("{{\n{}\n{close}}}", lines.join("\n"))
        }
    }
}
