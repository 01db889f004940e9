//! `recon keys list|create|revoke`: the account's API keys. A new key is printed once, alone on
//! stdout; afterwards only its prefix and last use are shown.

use recon_contracts::text_table::text_table;
use recon_contracts::KeyList;
use uuid::Uuid;

use crate::exit::{Exit, Failure};

pub async fn list(json: bool, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let keys = client.keys().await?;
    if json {
        crate::outcome::print_value(&keys);
    } else {
        print!("{}", describe(&keys));
    }
    update.print_if_ready();
    Ok(Exit::Complete)
}

fn minute(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn describe(list: &KeyList) -> String {
    let rows: Vec<Vec<String>> = list
        .keys
        .iter()
        .map(|key| {
            vec![
                key.id.to_string(),
                format!(
                    "{}…{}",
                    key.prefix,
                    if key.current { " (this one)" } else { "" }
                ),
                minute(Some(key.created_at)),
                minute(key.last_used_at),
                minute(key.revoked_at),
            ]
        })
        .collect();
    text_table(&["id", "key", "created", "last used", "revoked"], &rows)
}

pub async fn create(json: bool, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    let created = client.create_key().await?;
    if json {
        crate::outcome::print_value(&created);
    } else {
        println!("{}", created.key);
    }
    eprintln!(
        "key {} created; it is shown this once: store it now (recon login saves one)",
        created.id
    );
    update.print_if_ready();
    Ok(Exit::Complete)
}

pub async fn revoke(key_id: Uuid, allow_http: bool) -> Result<Exit, Failure> {
    let (client, update) = crate::connect(allow_http)?;
    client.revoke_key(key_id).await?;
    eprintln!("key {key_id} revoked: the server refuses it from now on");
    update.print_if_ready();
    Ok(Exit::Complete)
}
