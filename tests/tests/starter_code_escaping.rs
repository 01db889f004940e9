//! Starter code for captures full of hostile site text (`recon_tests::hostile`), run through the
//! real analysis → synthesis chain and checked by what reads the code: Python's own tokenizer
//! and compiler, bash (parsed, then run with a recording `curl` first on PATH), `cargo check`,
//! and in-process lexers over every hostile string in every slot and over generated strings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use recon_contracts::{Snippet, Synthesis};
use recon_synthesis::escape::{python, rust, shell};
use recon_tests::hostile::{
    self, with_markers, HostileCapture, Placed, HOSTILE, MARKER, SLOTS, SPECIAL_CHARS,
};
use recon_tests::snippet_syntax::{literal_values, marker_stays_quoted, Language};
use recon_tests::{harness_env, run_ok};
use serde_json::Value;

/// One hostile capture and the starter code the chain wrote for it.
struct Generated {
    rotation: usize,
    hostile: HostileCapture,
    synthesis: Synthesis,
}

/// Every hostile string in every slot: one capture per rotation of the list.
fn generated() -> Vec<Generated> {
    (0..HOSTILE.len())
        .map(|rotation| {
            let hostile = hostile::capture(rotation);
            let synthesis = hostile::starter_code(&hostile.capture);
            Generated {
                rotation,
                hostile,
                synthesis,
            }
        })
        .collect()
}

fn snippets<'a>(generated: &'a Generated, language: &str) -> Vec<&'a Snippet> {
    let found: Vec<&Snippet> = generated
        .synthesis
        .snippets
        .iter()
        .filter(|s| s.language == language)
        .collect();
    assert_eq!(
        found.len(),
        5,
        "rotation {}: code for each of the five endpoints in {language}",
        generated.rotation
    );
    found
}

/// What an argument or literal holds for `text`: a NUL cannot be in an argument, so the shell
/// word carries U+FFFD instead.
fn in_argument(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

/// The literal-slot strings of a capture that its code must hold verbatim, in words.
fn verbatim(placed: &Placed) -> Vec<(&'static str, String)> {
    vec![
        ("header value", placed.header_value.clone()),
        ("query name", placed.query.0.clone()),
        ("query value", placed.query.1.clone()),
        ("JSON key", placed.json_field.0.clone()),
        ("JSON value", placed.json_field.1.clone()),
        ("nested JSON key", placed.nested_json.0.clone()),
        ("nested JSON value", placed.nested_json.1.clone()),
        ("form name", placed.form_field.0.clone()),
        ("form value", placed.form_field.1.clone()),
        ("raw body", placed.raw_body.clone()),
        ("warm-up method", placed.warm_up_method.clone()),
        (
            "URL",
            format!("https://api.shop.example/api/{}/items", placed.path_segment),
        ),
    ]
}

#[test]
fn python_code_keeps_hostile_text_in_strings_and_comments_and_compiles() {
    let dir = tempfile::TempDir::new().unwrap();
    let generated = generated();
    let mut files = Vec::new();
    for generated in &generated {
        for (index, snippet) in snippets(generated, "python").into_iter().enumerate() {
            let file = dir
                .path()
                .join(format!("rotation_{}_{index}.py", generated.rotation));
            std::fs::write(&file, &snippet.code).unwrap();
            files.push(file);
        }
    }
    let checker = recon_tests::crate_dir().join("tools/python_token_check.py");
    let output = run_ok(
        Command::new(harness_env("RECON_TEST_PYTHON"))
            .arg(checker)
            .arg(MARKER)
            .args(&files),
    );
    let reports: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(reports.len(), files.len());
    for report in &reports {
        let file = report["file"].as_str().unwrap_or_default();
        let code = std::fs::read_to_string(file).unwrap();
        assert_eq!(report["error"], Value::Null, "{file}:\n{code}");
        assert_eq!(
            report["exposed"],
            serde_json::json!([]),
            "{file}: site text outside strings and comments:\n{code}"
        );
    }
    // The strings are the site's, verbatim: the code still sends the captured request.
    for generated in &generated {
        let prefix = format!("rotation_{}_", generated.rotation);
        let strings: Vec<&str> = reports
            .iter()
            .filter(|r| {
                Path::new(r["file"].as_str().unwrap_or_default())
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
            })
            .flat_map(|r| r["strings"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        assert!(strings.iter().any(|s| s.contains(MARKER)));
        for (slot, text) in verbatim(&generated.hostile.placed) {
            assert!(
                strings.contains(&text.as_str()),
                "rotation {}: the {slot} {text:?} is not a string of the Python code",
                generated.rotation
            );
        }
    }
}

/// A `curl` that records its arguments (NUL-terminated, one file per run) and prints `{}`.
const RECORDING_CURL: &str = "#!/bin/sh\n\
    log=\"$RECON_CURL_LOG/$(date +%s%N)-$$\"\n\
    for argument in \"$@\"; do printf '%s\\0' \"$argument\"; done > \"$log\"\n\
    printf '{}'\n";

/// The arguments of each curl run, in order.
fn curl_runs(log_dir: &Path) -> Vec<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(log_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let bytes = std::fs::read(file).unwrap();
            let mut arguments: Vec<String> = bytes
                .split(|b| *b == 0)
                .map(|argument| String::from_utf8(argument.to_vec()).unwrap())
                .collect();
            arguments.pop(); // the empty piece after the last NUL
            arguments
        })
        .collect()
}

/// The value after each `option` in `arguments`.
fn option_values<'a>(arguments: &'a [String], option: &str) -> Vec<&'a str> {
    arguments
        .windows(2)
        .filter(|pair| pair[0] == option)
        .map(|pair| pair[1].as_str())
        .collect()
}

fn every_file(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            every_file(&path, out);
        }
        out.push(path);
    }
}

#[test]
fn curl_commands_run_no_command_of_the_site_and_send_its_text_verbatim() {
    let root = tempfile::TempDir::new().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stub = bin.join("curl");
    std::fs::write(&stub, RECORDING_CURL).unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(&stub));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for generated in generated() {
        let mut checked = BTreeSet::new();
        for (index, snippet) in snippets(&generated, "curl").into_iter().enumerate() {
            let case = root
                .path()
                .join(format!("rotation-{}-{index}", generated.rotation));
            let (script, work, temp, log) = (
                case.join("snippet.sh"),
                case.join("work"),
                case.join("tmp"),
                case.join("curl-log"),
            );
            for dir in [&work, &temp, &log] {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(&script, &snippet.code).unwrap();
            run_ok(Command::new("bash").arg("-n").arg(&script));
            let variables: BTreeSet<String> = snippet
                .code
                .split("${")
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            let mut command = Command::new("bash");
            command
                .arg(&script)
                .current_dir(&work)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", &work)
                .env("TMPDIR", &temp)
                .env("RECON_CURL_LOG", &log);
            for variable in &variables {
                command.env(variable, format!("value-of-{variable}"));
            }
            let output = command.output().unwrap();
            assert!(
                output.status.success(),
                "rotation {}: the command failed: {}\n{}",
                generated.rotation,
                String::from_utf8_lossy(&output.stderr),
                snippet.code
            );
            let mut files = Vec::new();
            every_file(&work, &mut files);
            every_file(&temp, &mut files);
            every_file(&bin, &mut files);
            // The only file the command may leave is the cookie jar mktemp made in TMPDIR.
            let left: Vec<&PathBuf> = files
                .iter()
                .filter(|file| {
                    let named_by_site = file.to_string_lossy().contains(MARKER);
                    named_by_site || (*file != &stub && !file.starts_with(&temp))
                })
                .collect();
            assert_eq!(
                left,
                Vec::<&PathBuf>::new(),
                "rotation {}: the command left files behind:\n{}",
                generated.rotation,
                snippet.code
            );
            let runs = curl_runs(&log);
            assert!(!runs.is_empty(), "curl ran");
            checked.extend(check_request(
                &generated.hostile.placed,
                &runs,
                &snippet.code,
            ));
        }
        assert_eq!(
            checked,
            BTreeSet::from(["form", "listing", "raw", "search"]),
            "rotation {}: every request with placed text was checked",
            generated.rotation
        );
    }
}

/// The main request (the last run) is the captured one, with the site's text where it was;
/// returns which endpoint it was (`None` for the GraphQL one, which holds no placed text).
fn check_request(placed: &Placed, runs: &[Vec<String>], code: &str) -> Option<&'static str> {
    let request = runs.last()?;
    let context = || format!("arguments {request:?} of:\n{code}");
    let url = option_values(request, "--url")
        .first()
        .map(|url| url.to_string())
        .unwrap_or_default();
    let query: Vec<(String, String)> = url
        .split_once('?')
        .map(|(_, query)| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let path = url.split('?').next().unwrap_or_default();
    if path.ends_with("/items") {
        assert!(
            url.starts_with(&in_argument(&format!(
                "https://api.shop.example/api/{}/items?",
                placed.path_segment
            ))),
            "the URL as captured: {}",
            context()
        );
        // Percent-encoded in the URL, so even a NUL arrives.
        let pair = placed.query.clone();
        assert!(
            query.contains(&pair),
            "the query pair {pair:?}: {}",
            context()
        );
        let header = format!("X-Note: {}", in_argument(&placed.header_value));
        assert!(
            option_values(request, "--header").contains(&header.as_str()),
            "{header:?}: {}",
            context()
        );
        let warm_up = runs
            .iter()
            .find(|run| run.iter().any(|a| a == "--cookie-jar"))
            .unwrap_or_else(|| panic!("a warm-up run: {}", context()));
        assert_eq!(
            option_values(warm_up, "--request"),
            vec![in_argument(&placed.warm_up_method)],
            "{}",
            context()
        );
        Some("listing")
    } else if path.ends_with("/search") {
        let body: Value = option_values(request, "--data-raw")
            .first()
            .and_then(|body| serde_json::from_str(body).ok())
            .unwrap_or_else(|| panic!("a JSON body: {}", context()));
        assert_eq!(
            body[&placed.json_field.0],
            Value::String(placed.json_field.1.clone()),
            "{}",
            context()
        );
        assert_eq!(
            body["filters"][&placed.nested_json.0][0],
            Value::String(placed.nested_json.1.clone()),
            "{}",
            context()
        );
        Some("search")
    } else if path.ends_with("/form") {
        let fields: Vec<(String, String)> = option_values(request, "--data-urlencode")
            .iter()
            .filter_map(|field| {
                let (name, content) = field.split_once('=')?;
                let (name, _) = url::form_urlencoded::parse(format!("{name}=").as_bytes())
                    .into_owned()
                    .next()?;
                Some((name, content.to_owned()))
            })
            .collect();
        // The name is percent-encoded (curl reads `name@file` as a file), the content is not.
        let pair = (
            placed.form_field.0.clone(),
            in_argument(&placed.form_field.1),
        );
        assert!(
            fields.contains(&pair),
            "the form field {pair:?}: {}",
            context()
        );
        Some("form")
    } else if path.ends_with("/raw") {
        assert_eq!(
            option_values(request, "--data-raw"),
            vec![in_argument(&placed.raw_body)],
            "{}",
            context()
        );
        Some("raw")
    } else {
        None
    }
}

/// `cargo check` of one crate holding every Rust snippet as a module, in a directory under the
/// target dir that stays between runs, so only the first run compiles reqwest and tokio.
#[test]
fn rust_code_for_hostile_captures_compiles() {
    let crate_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-snippet-crate");
    let source = crate_dir.join("src");
    if source.exists() {
        std::fs::remove_dir_all(&source).unwrap();
    }
    std::fs::create_dir_all(&source).unwrap();
    let fixture = recon_tests::crate_dir().join("fixtures/snippet-crate");
    for file in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(fixture.join(file), crate_dir.join(file)).unwrap();
    }
    let mut main = String::from("//! Every generated Rust snippet, one module each.\n\n");
    for generated in generated() {
        for (index, snippet) in snippets(&generated, "rust").into_iter().enumerate() {
            let module = format!("rotation_{}_{index}", generated.rotation);
            std::fs::write(source.join(format!("{module}.rs")), &snippet.code).unwrap();
            main.push_str(&format!("mod {module};\n"));
        }
    }
    main.push_str("\nfn main() {}\n");
    std::fs::write(source.join("main.rs"), main).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run_ok(
        Command::new(cargo)
            .args(["check", "--locked", "--quiet", "--manifest-path"])
            .arg(crate_dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", crate_dir.join("target"))
            .env_remove("RUSTFLAGS"),
    );
}

#[test]
fn every_hostile_string_in_every_slot_stays_in_literals_and_comments() {
    for generated in generated() {
        for snippet in &generated.synthesis.snippets {
            let language = Language::of(&snippet.language).unwrap();
            if let Err(err) = marker_stays_quoted(language, &snippet.code, MARKER) {
                panic!(
                    "rotation {}, {}: {err}\n{}",
                    generated.rotation, snippet.language, snippet.code
                );
            }
        }
    }
}

/// Hostile fragments, single characters the escaping must know, and any characters, with the
/// marker between and around them.
fn hostile_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(HOSTILE).prop_map(str::to_owned),
        prop::collection::vec(prop::sample::select(SPECIAL_CHARS), 1..6)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        prop::collection::vec(any::<char>(), 1..6)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
    ];
    prop::collection::vec(fragment, 1..4).prop_map(|pieces| with_markers(&pieces))
}

proptest! {
    #[test]
    fn escaped_text_is_exactly_one_literal_or_a_comment(text in hostile_text()) {
        let code = format!(
            "# {}\ncurl --header {} \"${{{}}}\"\n",
            shell::comment(&text),
            shell::quote(&text),
            shell::variable_name(&text)
        );
        marker_stays_quoted(Language::Shell, &code, MARKER).map_err(TestCaseError::fail)?;
        // One word, maybe of several quoted parts (`'it'\''s'`).
        prop_assert_eq!(literal_values(Language::Shell, &code).map_err(TestCaseError::fail)?.concat(), in_argument(&text));

        let code = format!(
            "\"\"\"{}\"\"\"\nx = {}  # {}\n",
            python::string_body(&text),
            python::string(&text),
            python::comment(&text)
        );
        marker_stays_quoted(Language::Python, &code, MARKER).map_err(TestCaseError::fail)?;
        prop_assert_eq!(literal_values(Language::Python, &code).map_err(TestCaseError::fail)?, vec![text.clone(), text.clone()]);

        let code = format!(
            "//! {}\nconst X: &str = {}; /* {} */\n",
            rust::comment(&text),
            rust::string(&text),
            rust::comment(&text)
        );
        marker_stays_quoted(Language::Rust, &code, MARKER).map_err(TestCaseError::fail)?;
        prop_assert_eq!(literal_values(Language::Rust, &code).map_err(TestCaseError::fail)?, vec![text.clone()]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn hostile_captures_give_code_with_site_text_only_in_literals_and_comments(
        strings in prop::collection::vec(hostile_text(), 1..=SLOTS),
        seed in 0usize..1000,
    ) {
        let hostile = hostile::capture_with(&strings, seed);
        let synthesis = hostile::starter_code(&hostile.capture);
        prop_assert!(!synthesis.snippets.is_empty());
        for snippet in &synthesis.snippets {
            let language = Language::of(&snippet.language).unwrap();
            marker_stays_quoted(language, &snippet.code, MARKER)
                .map_err(|err| TestCaseError::fail(format!("{}: {err}\n{}", snippet.language, snippet.code)))?;
        }
    }
}
