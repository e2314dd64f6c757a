//! `clio retry ...` for operators, and what the retry domain adds to `clio up`.

use clap::{Args, Subcommand};
use clio_runtime::settings::{DatabaseSettings, KafkaSettings, RegistrySettings};

// `clio retry ...` (a doc comment here would become the subcommand's about).
#[derive(Subcommand, Debug)]
pub enum RetryAction {
    /// List tasks, by id: status, attempts, next attempt, last error.
    List {
        /// Only tasks in this status (PENDING, RETRYING, WAITING, FAILED, ...).
        #[arg(long)]
        status: Option<String>,
        /// Only tasks of this type.
        #[arg(long = "type")]
        task_type: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        access: RetryAccess,
    },
    /// One task with its audit (every failed run) and its callbacks, as JSON.
    Show {
        task_id: String,
        #[command(flatten)]
        access: RetryAccess,
    },
    /// Cancel a task (its type's cleanup runs first).
    Cancel {
        task_id: String,
        #[command(flatten)]
        access: RetryAccess,
    },
    /// Run a FAILED or CANCELLED task again, as a new task.
    Requeue {
        task_id: String,
        /// The new task's id (default: `<task_id>-requeued-<now>`).
        #[arg(long)]
        new_task_id: Option<String>,
        #[command(flatten)]
        access: RetryAccess,
    },
    /// Forget the finished tasks (SUCCESS, CANCELLED, REQUEUED) created before a time.
    Purge {
        /// RFC 3339.
        #[arg(long)]
        before: chrono::DateTime<chrono::Utc>,
        #[command(flatten)]
        access: RetryAccess,
    },
}

/// Where the retry domain's commands read (its read models) and write (its commands topic).
#[derive(Args, Debug, Clone)]
pub struct RetryAccess {
    /// The Postgres schema of the retry read models.
    #[arg(long, default_value = "retry")]
    pub schema: String,
    /// The retry commands topic.
    #[arg(long, default_value = "retry.commands")]
    pub topic: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub registry: RegistrySettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
}

// What the retry domain adds to `clio up` (a doc comment would replace up's own about).
#[derive(Args, Debug, Clone)]
pub struct RetryUpSettings {
    /// Runs the retry worker performs at once.
    #[arg(long, env = "CLIO_RETRY_CONCURRENCY", default_value_t = 32)]
    pub retry_concurrency: usize,
    /// Where each loyalty scheme's API is (`{scheme}` is replaced by its name); the default is
    /// the sandbox's.
    #[arg(long, env = "CLIO_RETRY_SCHEME_URL", default_value = "http://127.0.0.1:8090/schemes/{scheme}")]
    pub retry_scheme_url: String,
    /// Where the sandbox is, for the demo's HTTP task.
    #[arg(long, env = "CLIO_RETRY_SANDBOX_URL", default_value = "http://127.0.0.1:8090")]
    pub retry_sandbox_url: String,
    /// Where the identity service is (Hermes' API: who a payment card's holder is); the default
    /// is the sandbox's.
    #[arg(long, env = "CLIO_RETRY_IDENTITY_URL", default_value = "http://127.0.0.1:8090")]
    pub retry_identity_url: String,
    /// Where each loyalty merchant takes matching's exports (`{merchant}` is replaced by its
    /// slug); the default is the sandbox's.
    #[arg(
        long,
        env = "CLIO_RETRY_MERCHANT_URL",
        default_value = "http://127.0.0.1:8090/merchants/{merchant}/transactions"
    )]
    pub retry_merchant_url: String,
    /// The marketplace the orders domain reads and updates (its OMS API under
    /// `{url}/api/v1/oms/{oms id}`); the default is the sandbox's.
    #[arg(long, env = "CLIO_RETRY_MARKETPLACE_URL", default_value = "http://127.0.0.1:8090/marketplace")]
    pub retry_marketplace_url: String,
    /// The OMS's id in the marketplace.
    #[arg(long, env = "CLIO_RETRY_OMS_ID", default_value = "1")]
    pub retry_oms_id: String,
    /// The OMS's marketplace token (sent as X-User-Token).
    #[arg(long, env = "CLIO_RETRY_MARKETPLACE_TOKEN", default_value = "sandbox-token", hide_default_value = true)]
    pub retry_marketplace_token: String,
    /// The issue tracker the orders domain mirrors orders in (its REST API under
    /// `{url}/rest/api/2`); the default is the sandbox's.
    #[arg(long, env = "CLIO_RETRY_TRACKER_URL", default_value = "http://127.0.0.1:8090/tracker")]
    pub retry_tracker_url: String,
    /// The adapter's tracker user (services/orders/orders.toml names the same, so its own
    /// comments are never sent back).
    #[arg(long, env = "CLIO_RETRY_TRACKER_USER", default_value = "clio")]
    pub retry_tracker_user: String,
    /// The adapter's tracker API token.
    #[arg(long, env = "CLIO_RETRY_TRACKER_TOKEN", default_value = "sandbox-token", hide_default_value = true)]
    pub retry_tracker_token: String,
    /// The gateway's address as the outside world reaches it, for callback URLs.
    #[arg(long, env = "CLIO_RETRY_CALLBACK_BASE", default_value = "http://127.0.0.1:8080")]
    pub retry_callback_base: String,
}

// What the retry domain adds to `clio seed` (a doc comment would replace seed's own about).
#[derive(Args, Debug, Clone)]
pub struct RetrySeedSettings {
    /// Where the sandbox is, for the demo's HTTP task.
    #[arg(long, env = "CLIO_RETRY_SANDBOX_URL", default_value = "http://127.0.0.1:8090")]
    pub retry_sandbox_url: String,
}

impl RetryUpSettings {
    /// The marketplace and the tracker the orders handlers call.
    pub fn orders_peers(&self) -> crate::orders_handlers::OrdersPeers {
        crate::orders_handlers::OrdersPeers {
            marketplace_url: self.retry_marketplace_url.clone(),
            oms_id: self.retry_oms_id.clone(),
            marketplace_token: self.retry_marketplace_token.clone(),
            tracker_url: self.retry_tracker_url.clone(),
            tracker_user: self.retry_tracker_user.clone(),
            tracker_token: self.retry_tracker_token.clone(),
        }
    }
}
