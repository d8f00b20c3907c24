//! `novij-telegram`: the one binary. Runs any service (`serve`), manages the
//! projections (`migrate`, `rebuild`), checks configuration, and generates the
//! schemas of the contract.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "novij-telegram", version, about = "Self-hosted Telegram delivery service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one service, or all of them in one process.
    Serve {
        #[arg(value_enum)]
        service: commands::serve::Service,
    },
    /// Apply the projection database migrations.
    Migrate {
        #[arg(long)]
        json: bool,
    },
    /// Drop every projection row and replay the event log into them.
    Rebuild {
        #[arg(long)]
        json: bool,
    },
    /// Name every missing or invalid setting.
    ConfigCheck {
        #[arg(long)]
        json: bool,
    },
    /// Write the JSON Schemas of events, subjects and the OpenAPI document.
    Schemas {
        #[arg(long, default_value = "schemas")]
        out: std::path::PathBuf,
        /// Compare with the files instead of writing; fail when they differ.
        #[arg(long)]
        check: bool,
    },
    /// Dead letters: sends that exhausted their delivery attempts.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// The keys: what a rotation of the master keys needs.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write the nats-server `authorization` block: a user per service, `all`
    /// (serve all), `admin` (this CLI), `ops` (reads the log) and one per project.
    NatsAuth {
        /// Where each user's password is kept (`<user>.password`, made if missing).
        #[arg(long)]
        secrets: std::path::PathBuf,
        /// Write here instead of to stdout (include it from the server's configuration).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// A project to add beyond those of PROJECT_API_KEYS (repeatable).
        #[arg(long = "project")]
        projects: Vec<String>,
        /// bcrypt cost of the password hashes the server checks at each connect.
        #[arg(long, default_value_t = 11, value_parser = clap::value_parser!(u32).range(4..=16))]
        cost: u32,
    },
    /// A bot's token, identity and webhook as Telegram sees them, with no message to anyone (over NATS: an ingress and a dispatcher must run).
    BotTest {
        /// The integration whose bot to test, or `common`.
        id: String,
        /// As JSON, as `GET /api/v1/integrations/{id}/webhook` answers.
        #[arg(long)]
        json: bool,
    },
    /// Point bots' webhooks at this service again (setWebhook with their secret, max_connections, allowed_updates) and show them (over NATS: an ingress and a dispatcher must run).
    WebhookSync {
        /// The integration whose bot to sync, or `common`.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// The common bot and every integration's own bot.
        #[arg(long)]
        all: bool,
        /// Drop the updates Telegram still holds for the bot.
        #[arg(long)]
        drop_pending: bool,
        #[arg(long)]
        json: bool,
    },
    /// What waits where: streams, consumers, sends by class, reminders, dead letters, projector lag (over NATS: an ingress must run).
    QueueStatus {
        /// As JSON, as `GET /api/v1/ops/queues` answers.
        #[arg(long)]
        json: bool,
    },
    /// Broadcasts: their progress.
    Broadcast {
        #[command(subcommand)]
        command: BroadcastCommand,
    },
    /// Project API keys made at run time (over NATS: an ingress must run).
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// Copy every stream the service cannot rebuild (log, data keys, uploads, pending updates, dead letters) to a directory.
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Replay a backup into an empty NATS; then `rebuild` makes the projections.
    Restore {
        dir: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A project's events for an audit, and their check against the log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Show prices per template and payment mode, limits, and templates.
    Prices {
        #[arg(long)]
        json: bool,
    },
    /// Show the service wallet id.
    Wallet {
        #[arg(long)]
        json: bool,
    },
    /// Check that the Relay API answers.
    RelayCheck {
        #[arg(long)]
        json: bool,
    },
    /// The Service Registry's state and this service's entry there.
    #[command(name = "service-registry:status")]
    ServiceRegistryStatus {
        #[arg(long)]
        json: bool,
    },
    /// Add this service to the Service Registry.
    #[command(name = "service-registry:register")]
    ServiceRegistryRegister {
        #[arg(long)]
        json: bool,
    },
    /// Bring this service's registry entry to what it is now (version, URLs, wallet).
    #[command(name = "service-registry:update")]
    ServiceRegistryUpdate {
        #[arg(long)]
        json: bool,
    },
    /// Have the registry read this service's well-known URLs and compare them with its entry.
    #[command(name = "service-registry:verify")]
    ServiceRegistryVerify {
        #[arg(long)]
        json: bool,
    },
    /// Run the maintenance jobs once (expired payloads, connect codes, audit data) and report counts.
    Cleanup {
        #[arg(long)]
        json: bool,
    },
    /// Make this machine a running install for <domain>: the Postgres role and database, /etc/novij-telegram/env with generated secrets (kept on later runs), the NATS server's configuration and users, the units, the reverse proxy, migrations, the units started, then config-check and the health check. A second run changes nothing.
    Setup(commands::setup::Options),
    /// The package site's newest release on a channel (PACKAGE_SITE_URL): check it, or download it, verify its SHA-256 and install it with dpkg.
    Update(commands::update::Options),
    /// Show the version and build metadata.
    Version {
        /// As JSON, as `GET /api/v1/version` answers.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List every waiting dead letter.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Queue dead-lettered sends again (each is delivered at most once more).
    Retry {
        /// The send to retry.
        send_id: Option<String>,
        /// Retry every dead letter.
        #[arg(long, conflicts_with = "send_id")]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the key of the keyed hashes (ids, lookups, webhook secrets) in
    /// use; set it as NOVIJ_LOOKUP_KEY before the first rotation.
    LookupKey,
    /// Once every service runs with a new first key in NOVIJ_MASTER_KEYS:
    /// re-wrap every data key with it, and keep the older keys wrapped by it.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// Check that an old master key wraps nothing any more, so it may leave
    /// NOVIJ_MASTER_KEYS (fails, naming why, otherwise).
    Retire {
        /// The key id to retire.
        kid: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ApiKeysCommand {
    /// Make a key acting for one project; it is shown once.
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every key made at run time (of one project).
    List {
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The key acts for nobody from now on, on every instance.
    Revoke {
        key_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The project's events in log order as JSON lines (sealed fields left
    /// out), each chained to the one before by SHA-256.
    Export {
        #[arg(long)]
        project: String,
        /// Events that occurred at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Events that occurred before this time (RFC 3339).
        #[arg(long)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Write here instead of to stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// The summary (on stderr) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check an exported file against the log; name the first line that
    /// differs, is missing or was added.
    Verify {
        file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BroadcastCommand {
    /// Show a broadcast's progress as a bar until it ends (over NATS: an ingress must run).
    Watch {
        /// The broadcast (`brd_…`).
        broadcast_id: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { service } => commands::serve::run(service).await,
            Command::Migrate { json } => commands::db::migrate(json).await,
            Command::Rebuild { json } => commands::db::rebuild(json).await,
            Command::ConfigCheck { json } => commands::config_check::run(json),
            Command::Schemas { out, check } => commands::schemas::run(&out, check),
            Command::Dlq { command: DlqCommand::List { json } } => commands::dlq::list(json).await,
            Command::Dlq { command: DlqCommand::Retry { send_id, all, json } } => {
                commands::dlq::retry(send_id, all, json).await
            }
            Command::Broadcast { command: BroadcastCommand::Watch { broadcast_id } } => {
                commands::broadcast::watch(broadcast_id).await
            }
            Command::Keys { command: KeysCommand::LookupKey } => commands::keys::lookup_key(),
            Command::Keys { command: KeysCommand::Rotate { json } } => commands::keys::rotate(json).await,
            Command::Keys { command: KeysCommand::Retire { kid, json } } => commands::keys::retire(&kid, json).await,
            Command::NatsAuth { secrets, out, projects, cost } => {
                commands::nats_auth::run(&secrets, out, projects, cost)
            }
            Command::QueueStatus { json } => commands::queues::status(json).await,
            Command::BotTest { id, json } => commands::bot_test::run(id, json).await,
            Command::WebhookSync { id, all, drop_pending, json } => {
                commands::webhook_sync::run(id, all, drop_pending, json).await
            }
            Command::ApiKeys { command: ApiKeysCommand::Create { project, label, json } } => {
                commands::api_keys::create(project, label, json).await
            }
            Command::ApiKeys { command: ApiKeysCommand::List { project, json } } => {
                commands::api_keys::list(project, json).await
            }
            Command::ApiKeys { command: ApiKeysCommand::Revoke { key_id, json } } => {
                commands::api_keys::revoke(key_id, json).await
            }
            Command::Backup { out, json } => commands::backup::backup(&out, json).await,
            Command::Restore { dir, json } => commands::backup::restore(&dir, json).await,
            Command::Audit { command: AuditCommand::Export { project, from, to, out, json } } => {
                commands::audit::export(project, from, to, out, json).await
            }
            Command::Audit { command: AuditCommand::Verify { file, json } } => {
                commands::audit::verify(&file, json).await
            }
            Command::Prices { json } => commands::payments::prices(json),
            Command::Wallet { json } => commands::payments::wallet(json),
            Command::RelayCheck { json } => commands::payments::relay_check(json).await,
            Command::ServiceRegistryStatus { json } => commands::registry::status(json).await,
            Command::ServiceRegistryRegister { json } => commands::registry::register(json).await,
            Command::ServiceRegistryUpdate { json } => commands::registry::update(json).await,
            Command::ServiceRegistryVerify { json } => commands::registry::verify(json).await,
            Command::Cleanup { json } => commands::cleanup::run(json).await,
            Command::Setup(options) => commands::setup::run(options).await,
            Command::Update(options) => commands::update::run(options).await,
            Command::Version { json } => commands::version::run(json),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(commands::exit_code(&e))
        }
    }
}
