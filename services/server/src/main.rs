//! `recon-server --target all|<role>[,<role>…]`, `recon-server migrate`,
//! `recon-server admin create-key|keys|versions|accounts|scans …`.

mod admin_cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use recon_runtime::{db, telemetry, ServerConfig};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "recon-server",
    version,
    about = "The browser-recon server: every role behind --target"
)]
struct Cli {
    /// Roles to run: `all`, or a comma list of api, events, detection, analysis,
    /// intent_filter, validation, scrub, synthesis, render.
    #[arg(long, default_value = "all")]
    target: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: admin_cli::AdminCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("recon-server: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(run(cli)) {
        eprintln!("recon-server: {err:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let _telemetry = telemetry::init();
    let config = ServerConfig::from_env()?;
    match cli.command {
        Some(Command::Migrate) => {
            let pool = db::connect(&config.database_url)?;
            db::migrate(&pool).await.context("migrations failed")?;
            eprintln!("migrations applied");
            Ok(())
        }
        Some(Command::Admin { command }) => admin_cli::run(command, &config).await,
        None => serve(&cli.target, config).await,
    }
}

async fn serve(target: &str, config: ServerConfig) -> anyhow::Result<()> {
    let roles = recon_server::parse_targets(target)?;
    if target.split(',').any(|name| name.trim() == "all") {
        let pool = db::connect(&config.database_url)?;
        db::migrate(&pool)
            .await
            .context("migrations failed at start-up")?;
    }
    let shutdown = CancellationToken::new();
    let server = recon_server::start(&config, &roles, shutdown.clone()).await?;
    tracing::info!(target, "recon-server started");
    watch_signals(shutdown, server.secrets.clone())?;
    server.wait().await
}

/// SIGTERM/SIGINT start a graceful shutdown; SIGHUP flushes the secrets cache.
fn watch_signals(
    shutdown: CancellationToken,
    secrets: std::sync::Arc<dyn recon_runtime::secrets::SecretsStore>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP: flushing the secrets cache");
                    secrets.flush();
                }
            }
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}
