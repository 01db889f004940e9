//! `recon-server admin …`: keys (create, list, revoke) and the operators' reports (versions,
//! accounts, scans) as tables, or as the JSON `/admin/api/*` answers with `--json`. Each action
//! is logged with the account and key it concerns.

use anyhow::{bail, Context};
use clap::Subcommand;
use recon_contracts::admin::{AccountsReport, ScansReport, VersionReport};
use recon_contracts::text_table::text_table;
use recon_runtime::db::keys::{self, Revoked};
use recon_runtime::{admin_reports, db, ServerConfig};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an API key (and the account if needed); prints the key alone on stdout.
    CreateKey {
        #[arg(long)]
        account: String,
        /// Make the account an admin account (it sees /admin).
        #[arg(long)]
        admin: bool,
    },
    /// API keys of every account.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// CLI versions seen in the last 7 and 30 days, those below the minimum, legacy callers.
    Versions {
        #[arg(long)]
        json: bool,
    },
    /// Every account with its keys, scans and quota usage.
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// Scans by status and day, the latest errored scans, the orphan sweeps.
    Scans {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key (and the account if needed); prints the key alone on stdout.
    Create {
        #[arg(long)]
        account: String,
        /// Make the account an admin account.
        #[arg(long)]
        admin: bool,
    },
    /// List keys (never their values): id, account, prefix, created, last used, revoked.
    List {
        /// Only this account's keys.
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id: refused at once by every api replica, open WebSockets included.
    Revoke { id: Uuid },
}

pub async fn run(command: AdminCommand, config: &ServerConfig) -> anyhow::Result<()> {
    let pool = db::connect(&config.database_url)?;
    match command {
        AdminCommand::CreateKey { account, admin }
        | AdminCommand::Keys {
            command: KeysCommand::Create { account, admin },
        } => create_key(&pool, &account, admin).await,
        AdminCommand::Keys {
            command: KeysCommand::List { account, json },
        } => list_keys(&pool, account.as_deref(), json).await,
        AdminCommand::Keys {
            command: KeysCommand::Revoke { id },
        } => revoke_key(&pool, id).await,
        AdminCommand::Versions { json } => {
            let report = admin_reports::versions(&pool, &config.versions).await?;
            print(json, &report, versions_table)
        }
        AdminCommand::Accounts { json } => {
            let report = admin_reports::accounts(&pool, &config.quotas).await?;
            print(json, &report, accounts_table)
        }
        AdminCommand::Scans { json } => {
            let report = admin_reports::scans(&pool).await?;
            print(json, &report, scans_table)
        }
    }
}

async fn create_key(pool: &PgPool, account: &str, admin: bool) -> anyhow::Result<()> {
    let account = account.trim();
    anyhow::ensure!(!account.is_empty(), "--account must not be empty");
    let created = db::accounts::create_account_key(pool, account, admin)
        .await
        .context("cannot create the key (are the migrations applied?)")?;
    tracing::info!(account, admin, key_id = %created.id, "admin action: API key created");
    println!("{}", created.key);
    Ok(())
}

async fn list_keys(pool: &PgPool, account: Option<&str>, json: bool) -> anyhow::Result<()> {
    let listed = keys::list_all(pool, account).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|row| {
            vec![
                row.key.id.to_string(),
                format!("{}{}", row.account, if row.admin { " (admin)" } else { "" }),
                format!("{}…", row.key.prefix),
                minute(Some(row.key.created_at)),
                minute(row.key.last_used_at),
                minute(row.key.revoked_at),
            ]
        })
        .collect();
    print!(
        "{}",
        text_table(
            &["id", "account", "key", "created", "last used", "revoked"],
            &rows
        )
    );
    Ok(())
}

async fn revoke_key(pool: &PgPool, id: Uuid) -> anyhow::Result<()> {
    let owner = keys::account_of(pool, id).await?;
    let outcome = keys::revoke(pool, id).await?;
    let (account_id, account) = owner.unzip();
    tracing::info!(
        account_id = ?account_id,
        account = ?account,
        key_id = %id,
        outcome = ?outcome,
        "admin action: API key revocation"
    );
    match outcome {
        Revoked::Now => eprintln!("key {id} revoked"),
        Revoked::Already => eprintln!("key {id} was already revoked"),
        Revoked::NotFound => bail!("no key with id {id}"),
        Revoked::LastActiveKey => unreachable!("operators revoke without the lock-out rule"),
    }
    Ok(())
}

fn minute(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn print<T: Serialize>(json: bool, report: &T, as_table: fn(&T) -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", as_table(report));
    }
    Ok(())
}

fn versions_table(report: &VersionReport) -> String {
    let mut out = format!("latest {}, minimum {}\n", report.latest, report.minimum);
    for window in &report.windows {
        out.push_str(&format!("\nlast {} days\n", window.days));
        let rows: Vec<Vec<String>> = window
            .versions
            .iter()
            .map(|v| {
                vec![
                    v.version.clone(),
                    v.accounts.to_string(),
                    v.requests.to_string(),
                    if v.below_minimum { "below minimum" } else { "" }.to_owned(),
                ]
            })
            .collect();
        out.push_str(&text_table(&["version", "accounts", "requests", ""], &rows));
        let below = &window.below_minimum;
        out.push_str(&format!(
            "below the minimum: {} versions, {} accounts, {} requests\n",
            below.versions, below.accounts, below.requests
        ));
    }
    let legacy = &report.legacy;
    out.push_str(&format!(
        "\nlegacy 0.2.x endpoint (sunset {}): {} requests in 7 days, {} in 30 days from {} accounts; {}\n",
        legacy.sunset.format("%Y-%m-%d"),
        legacy.requests_7d,
        legacy.requests_30d,
        legacy.accounts_30d,
        if legacy.still_called {
            "still called"
        } else {
            "not called in 7 days"
        }
    ));
    out
}

fn accounts_table(report: &AccountsReport) -> String {
    let used = |quota: &recon_contracts::QuotaUse| format!("{}/{}", quota.used, quota.limit);
    let rows: Vec<Vec<String>> = report
        .accounts
        .iter()
        .map(|a| {
            vec![
                format!("{}{}", a.name, if a.admin { " (admin)" } else { "" }),
                a.active_keys.to_string(),
                a.scans.to_string(),
                used(&a.quotas.concurrent_scans),
                used(&a.quotas.scans_per_hour),
                used(&a.quotas.capture_bytes_per_day),
                used(&a.quotas.validation_requests_per_day),
                used(&a.quotas.websockets),
            ]
        })
        .collect();
    text_table(
        &[
            "account",
            "keys",
            "scans",
            "processing",
            "scans/hour",
            "capture bytes/day",
            "replays/day",
            "websockets",
        ],
        &rows,
    )
}

fn scans_table(report: &ScansReport) -> String {
    let by_status: Vec<Vec<String>> = report
        .by_status
        .iter()
        .map(|row| vec![row.status.clone(), row.count.to_string()])
        .collect();
    let mut out = text_table(&["status", "scans"], &by_status);
    let by_day: Vec<Vec<String>> = report
        .by_day
        .iter()
        .map(|row| {
            vec![
                row.day.to_string(),
                row.status.clone(),
                row.count.to_string(),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&text_table(&["day", "status", "scans"], &by_day));
    let sweeps = &report.orphan_sweeps;
    out.push_str(&format!(
        "\norphan sweeps: {} in 7 days marked {} scans errored ({} in 30 days)\n\n",
        sweeps.sweeps_7d, sweeps.scans_7d, sweeps.scans_30d
    ));
    let errored: Vec<Vec<String>> = report
        .errored
        .iter()
        .map(|scan| {
            vec![
                scan.id.to_string(),
                scan.at.format("%Y-%m-%d %H:%M").to_string(),
                scan.account.clone(),
                scan.step.clone().unwrap_or_default(),
                scan.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&text_table(
        &["errored scan", "when", "account", "step", "message"],
        &errored,
    ));
    out
}
