//! `recon`, the thin client of browser-recon: it records a site's network traffic in Chrome (or
//! imports a HAR file), uploads it to the server, shows the pipeline's progress live and ends
//! with the report URL. Everything else happens on the server.
//!
//! Output contract: results on stdout, everything else on stderr; every failure is one line
//! `recon: error: …`; exit codes are in [`exit::Exit`].

mod capture_file;
mod display;
mod keys;
mod login;
mod open;
mod outcome;
mod progress;
mod record;
mod scan;
mod scan_ref;
mod scans;
mod status;
mod update;
mod upload;
mod watch;

// The modules that read untrusted input live in the library, which the fuzz targets share.
use browser_recon::{capture, client, config, exit, har};

use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::client::ApiClient;
use crate::config::Config;
use crate::exit::{one_line, Exit, Failure};
use crate::scan::ScanArgs;
use crate::scan_ref::ScanRef;
use crate::update::UpdateCheck;

#[derive(Debug, Parser)]
#[command(
    name = "recon",
    version,
    about = "Record a site's network traffic and learn how to scrape it.",
    long_about = "Record a site's network traffic and learn how to scrape it: which anti-bot \
                  vendors guard it, which endpoints carry the data, how to replay them, and \
                  starter code.\n\nThe server and key come from RECON_SERVER and RECON_API_KEY \
                  (or ~/.recon/config.toml)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Allow a plain http:// server that is not this machine: the API key and your captures
    /// then cross the network unencrypted. Without it such a server is refused.
    #[arg(
        long,
        global = true,
        env = config::ALLOW_HTTP_ENV,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    allow_http: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture a site's traffic, upload it and follow the analysis to its report.
    Scan(ScanCommand),
    /// Show a scan's status.
    Status {
        /// The scan id (a UUID) or its report URL.
        #[arg(value_name = "ID|URL", value_parser = ScanRef::parse)]
        scan: ScanRef,
        /// Print one JSON object {scan_id, status, report_url} on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Save an API key for this machine (checked against the server first).
    Login {
        /// The server to log in to, e.g. https://recon.example (default: RECON_SERVER, the
        /// saved server, or http://127.0.0.1:8080).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
    },
    /// Remove the saved API key.
    Logout,
    /// Record a site in Chrome into a capture file, without uploading it (for debugging).
    #[command(hide = true)]
    Capture {
        url: String,
        /// Where to write the capture (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        headless: bool,
        #[arg(long, value_name = "D", value_parser = parse_duration)]
        duration: Option<Duration>,
        #[arg(long, value_name = "DIR")]
        profile: Option<PathBuf>,
    },
    /// Follow a scan's progress until it ends.
    Watch {
        /// The scan id (a UUID) or its report URL.
        #[arg(value_name = "ID|URL", value_parser = ScanRef::parse)]
        scan: ScanRef,
        /// Plain progress lines instead of the live display (for CI and logs).
        #[arg(long)]
        no_progress: bool,
        /// Print one JSON object {scan_id, status, report_url} on stdout at the end.
        #[arg(long)]
        json: bool,
    },
    /// List your scans, newest first.
    Scans {
        /// Only scans of this host, e.g. shop.example.
        #[arg(long, value_name = "HOST")]
        site: Option<String>,
        /// Only scans in this status: created, processing, complete or errored.
        #[arg(long)]
        status: Option<String>,
        /// How many scans to show (1 to 100; default 20).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Continue after a previous page (the cursor `recon scans` printed).
        #[arg(long)]
        cursor: Option<String>,
        /// Print the page as JSON {scans, next_cursor} on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Delete a scan and everything made from it: report, results, events, capture.
    Delete {
        /// The scan id (a UUID) or its report URL.
        #[arg(value_name = "ID|URL", value_parser = ScanRef::parse)]
        scan: ScanRef,
    },
    /// Open a scan's report in the browser (and print its URL).
    Open {
        /// The scan id (a UUID) or its report URL.
        #[arg(value_name = "ID|URL", value_parser = ScanRef::parse)]
        scan: ScanRef,
        /// Print one JSON object {scan_id, status, report_url} on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Your API keys: list, create, revoke.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print a shell completion script, e.g. `recon completions bash > ~/.local/share/bash-completion/completions/recon`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the account's keys (never their values) with their last use.
    List {
        /// Print {keys: [...]} as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Create a key; it is printed this once, alone on stdout.
    Create {
        /// Print {id, key} as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id: the server refuses it at once.
    Revoke {
        #[arg(value_parser = parse_key_id)]
        id: Uuid,
    },
}

#[derive(Debug, Args)]
struct ScanCommand {
    /// The site to scan, e.g. https://shop.example (https:// is assumed when left out); with
    /// --from-har it defaults to the HAR's first page.
    #[arg(required_unless_present = "from_har")]
    url: Option<String>,
    /// What data you are after, in your words, e.g. "product prices".
    #[arg(long, value_name = "TEXT")]
    intent: Option<String>,
    /// The starter-code template the report should use, e.g. python.
    #[arg(long, value_name = "NAME")]
    template: Option<String>,
    /// Import this HAR 1.2 file (Chrome or Firefox DevTools export) instead of recording.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["headless", "duration", "profile"])]
    from_har: Option<PathBuf>,
    /// Record in headless Chrome (no window; stops after --duration, 30s by default).
    #[arg(long)]
    headless: bool,
    /// How long to record, e.g. 30s or 2m (with a window: at most this long).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Use (and keep) this Chrome profile directory instead of a fresh temporary one, e.g. to
    /// stay logged in to the site between scans.
    #[arg(long, value_name = "DIR")]
    profile: Option<PathBuf>,
    /// Plain progress lines instead of the live display (for CI and logs).
    #[arg(long)]
    no_progress: bool,
    /// Print the scan id and exit once the capture is uploaded.
    #[arg(long)]
    no_wait: bool,
    /// Print one JSON object {scan_id, status, report_url} on stdout at the end.
    #[arg(long)]
    json: bool,
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            _ => {
                eprintln!("recon: error: {}", usage_error_line(&error.to_string()));
                std::process::exit(Exit::Usage.code());
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("recon: error: cannot start the async runtime: {error}");
            std::process::exit(Exit::Server.code());
        }
    };
    let exit = match runtime.block_on(run(cli.command, cli.allow_http)) {
        Ok(exit) => exit,
        Err(failure) => {
            eprintln!("recon: error: {}", failure.message());
            failure.exit
        }
    };
    drop(runtime);
    std::process::exit(exit.code());
}

async fn run(command: Command, allow_http: bool) -> Result<Exit, Failure> {
    match command {
        Command::Scan(scan) => {
            scan::run(ScanArgs {
                allow_http,
                url: scan.url,
                intent: scan.intent,
                template: scan.template,
                from_har: scan.from_har,
                headless: scan.headless,
                duration: scan.duration,
                profile: scan.profile,
                no_progress: scan.no_progress,
                no_wait: scan.no_wait,
                json: scan.json,
            })
            .await
        }
        Command::Status { scan, json } => status::run(scan, json, allow_http).await,
        Command::Login { server } => login::login(server, allow_http).await,
        Command::Logout => login::logout(),
        Command::Capture {
            url,
            out,
            headless,
            duration,
            profile,
        } => {
            capture_file::run(
                &url,
                &out,
                record::RecordArgs {
                    headless,
                    duration,
                    profile,
                },
            )
            .await
        }
        Command::Watch {
            scan,
            no_progress,
            json,
        } => watch::run(scan, no_progress, json, allow_http).await,
        Command::Scans {
            site,
            status,
            limit,
            cursor,
            json,
        } => {
            let args = scans::ListArgs {
                site,
                status,
                limit,
                cursor,
                json,
            };
            scans::list(args, allow_http).await
        }
        Command::Delete { scan } => scans::delete(scan, allow_http).await,
        Command::Open { scan, json } => open::run(scan, json, allow_http).await,
        Command::Keys { command } => match command {
            KeysCommand::List { json } => keys::list(json, allow_http).await,
            KeysCommand::Create { json } => keys::create(json, allow_http).await,
            KeysCommand::Revoke { id } => keys::revoke(id, allow_http).await,
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "recon", &mut std::io::stdout());
            Ok(Exit::Complete)
        }
    }
}

/// The API client from the configuration, with the version check started beside it.
pub(crate) fn connect(allow_http: bool) -> Result<(ApiClient, UpdateCheck), Failure> {
    let config = Config::load(allow_http)?;
    let client = ApiClient::new(&config)?;
    let update = UpdateCheck::start(&client);
    Ok((client, update))
}

/// clap's message without its usage block and tips, on one line.
fn usage_error_line(rendered: &str) -> String {
    let message = rendered.split("\n\n").next().unwrap_or(rendered);
    let message = message.trim().strip_prefix("error:").unwrap_or(message);
    format!("{} (see `recon --help`)", one_line(message))
}

fn parse_key_id(text: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text.trim())
        .map_err(|_| "not a key id; `recon keys list` shows them (UUIDs)".to_owned())
}

/// `90`, `90s`, `2m`, `1h`: a whole number with an optional unit (seconds by default).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s, 2m or 1h"))?;
    let seconds = match unit.trim() {
        "" | "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3600),
        _ => None,
    }
    .filter(|seconds| *seconds > 0)
    .ok_or_else(|| format!("{text:?} is not a duration such as 30s, 2m or 1h"))?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_version_is_the_package_version() {
        let rendered = Cli::command().render_version();
        assert_eq!(
            rendered.trim(),
            format!("recon {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn usage_errors_are_one_line() {
        let error = Cli::try_parse_from(["recon", "scan"]).unwrap_err();
        let line = usage_error_line(&error.to_string());
        assert_eq!(
            line,
            "the following required arguments were not provided: <URL> (see `recon --help`)"
        );
        let error = Cli::try_parse_from(["recon", "status", "not-a-uuid"]).unwrap_err();
        let line = usage_error_line(&error.to_string());
        assert!(line.contains("not a scan id or report URL"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn allow_http_is_a_global_flag() {
        let cli =
            Cli::try_parse_from(["recon", "status", "--allow-http", &Uuid::nil().to_string()])
                .unwrap();
        assert!(cli.allow_http);
        let cli = Cli::try_parse_from(["recon", "--allow-http", "logout"]).unwrap();
        assert!(cli.allow_http);
    }

    #[test]
    fn a_har_import_cannot_be_headless() {
        let error = Cli::try_parse_from([
            "recon",
            "scan",
            "https://a.test",
            "--from-har",
            "x.har",
            "--headless",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
