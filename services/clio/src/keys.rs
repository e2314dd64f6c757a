//! `clio keys create|list|revoke`, and the keyring a gateway or registry serves with.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clio_keys::{Keyring, config, scope, secret, store};
use sqlx::PgPool;

use crate::cli::{KeySettings, KeysAction};

/// Runs one `clio keys` command.
pub async fn run(action: KeysAction) -> anyhow::Result<()> {
    match action {
        KeysAction::Create { name, scopes, config_line, database } => {
            clio_keys::check_name(&name)?;
            let scopes = scope::parse_list(&scopes.join(","))?;
            let key = secret::generate();
            let fingerprint = secret::fingerprint(&key);
            if config_line {
                println!("key:         {key}");
                println!("config line: {}", config::line(&name, &scopes, &fingerprint));
                println!(
                    "Add the line to CLIO_API_KEYS_FILE (or CLIO_API_KEYS); give the key to its user. It is shown only now."
                );
                return Ok(());
            }
            let pool = store_pool(&database.database_url).await?;
            store::create(&pool, &name, &scopes, &fingerprint, &clio_plug::cli_operator("keys")).await?;
            println!("{key}");
            let scopes: Vec<String> = scopes.iter().map(ToString::to_string).collect();
            eprintln!(
                "Created key {name:?} ({}). It is shown only now; send it as `Authorization: Bearer <key>` (or as the password of HTTP basic auth).",
                scopes.join(", ")
            );
            Ok(())
        }
        KeysAction::List { database, keys } => {
            let pool = store_pool(&database.database_url).await?;
            println!("{:<24} {:<10} {:<34} {:<26} scopes", "name", "source", "created", "revoked");
            for key in store::list(&pool).await? {
                let revoked = key
                    .revoked_at
                    .map(|at| format!("{} by {}", at.format("%F %T"), key.revoked_by.unwrap_or_default()))
                    .unwrap_or_else(|| "-".into());
                let created = format!("{} by {}", key.created_at.format("%F %T"), key.created_by);
                println!("{:<24} {:<10} {created:<34} {revoked:<26} {}", key.name, "stored", key.scopes.join(","));
            }
            for entry in configured(&keys)? {
                let scopes: Vec<String> = entry.scopes.iter().map(ToString::to_string).collect();
                println!("{:<24} {:<10} {:<34} {:<26} {}", entry.name, "configured", "-", "-", scopes.join(","));
            }
            Ok(())
        }
        KeysAction::Revoke { name, database } => {
            let pool = store_pool(&database.database_url).await?;
            let at = store::revoke(&pool, &name, &clio_plug::cli_operator("keys")).await?;
            println!("revoked {name} at {}", at.format("%F %T %Z"));
            Ok(())
        }
    }
}

async fn store_pool(database_url: &str) -> anyhow::Result<PgPool> {
    let pool = crate::setup::connect_creating(database_url).await?;
    store::migrate(&pool).await.context("preparing the key store")?;
    Ok(pool)
}

fn configured(settings: &KeySettings) -> anyhow::Result<Vec<config::Entry>> {
    Ok(config::load(settings.api_keys.as_deref(), settings.api_keys_file.as_deref())?)
}

/// The keys a server listening on `addresses` checks: those configured and those stored.
/// With none, it runs open only if every address is loopback; otherwise it refuses to start.
pub async fn keyring(settings: &KeySettings, pool: &PgPool, addresses: &[SocketAddr]) -> anyhow::Result<Keyring> {
    let configured = configured(settings)?;
    store::migrate(pool).await.context("preparing the key store")?;
    let loopback = addresses.iter().all(|address| address.ip().is_loopback());
    let keyring = Keyring::new(Some(pool.clone()), configured, loopback);
    let enforced = keyring.enforced().await.map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
    if !enforced && !loopback {
        let exposed: Vec<String> =
            addresses.iter().filter(|address| !address.ip().is_loopback()).map(ToString::to_string).collect();
        anyhow::bail!(
            "refusing to listen on {} without API keys: anyone who reaches it could write. Create one (clio keys create NAME --scope '*'), configure CLIO_API_KEYS or CLIO_API_KEYS_FILE, or listen on a loopback address",
            exposed.join(", ")
        );
    }
    Ok(keyring)
}

/// What `clio up` says of its keys.
pub async fn summary(keyring: &Arc<Keyring>) -> String {
    match keyring.enforced().await {
        Ok(true) => "required: every write, read and admin action needs a key (clio keys list)".to_string(),
        Ok(false) => {
            "none: open to anyone on this machine (loopback only; clio keys create NAME --scope '*' closes it)"
                .to_string()
        }
        Err(refusal) => format!("unknown: {refusal}"),
    }
}
