//! `setup <domain>`: turns a machine with the binary (or the package) into a
//! running install: the Postgres role and database, `/etc/novij-telegram/env`
//! with generated secrets, the NATS server's configuration and users, the
//! systemd units, the reverse proxy, migrations, the units started, then
//! `config-check` and the health check. Every step is idempotent, so a second
//! run changes nothing. See deploy/README.md.

mod env_file;
mod plan;
mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};

pub use render::Proxy;

use plan::{Mode, Step};

const ENV_FILE: &str = "/etc/novij-telegram/env";
const NATS_DIR: &str = "/etc/novij-telegram/nats";
const UNIT_DIR: &str = "/etc/systemd/system";
/// Where the package puts the units; when they are there, setup leaves them to it.
const PACKAGED_UNIT_DIRS: [&str; 2] = ["/lib/systemd/system", "/usr/lib/systemd/system"];
const SYSTEM_USER: &str = "novij-telegram";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(90);

/// What the command line asked for.
#[derive(clap::Args)]
pub struct Options {
    /// The public host name (PUBLIC_BASE_URL becomes https://<domain>).
    pub domain: String,
    /// HTTPS: Caddy obtains the certificate itself; with nginx, certbot does.
    #[arg(long)]
    pub enable_tls: bool,
    /// The service's wallet on the Relay ledger (SERVICE_WALLET_ID).
    #[arg(long)]
    pub wallet_id: Option<String>,
    /// Leave the reverse proxy, TLS and the domain's web server alone (managed elsewhere).
    #[arg(long)]
    pub package_only: bool,
    #[arg(long, value_enum, default_value = "caddy")]
    pub proxy: Proxy,
    /// Write every file under this directory and print, instead of running, what would change the system.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Print what would be written and run; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the units find this program.
    #[arg(long, default_value = "/usr/bin/novij-telegram")]
    pub bin: String,
    /// Where the NATS unit finds nats-server (2.11 or newer).
    #[arg(long, default_value = "/usr/local/bin/nats-server")]
    pub nats_server: String,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    check_domain(&options.domain)?;
    let mode = match (&options.root, options.dry_run) {
        (_, true) => Mode::DryRun,
        (Some(_), false) => Mode::Root,
        (None, false) => Mode::System,
    };
    let root = options.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let env_path = plan::under(&root, ENV_FILE);
    let existing = super::read_if_present(&env_path)?;
    let env_text = env_file::merge(existing.as_deref(), &wanted(&options, existing.as_deref())?);
    let env = env_file::parse(&env_text);

    // The env must pass config-check before anything depends on it.
    let problems = config_problems(&env);
    anyhow::ensure!(problems.is_empty(), "the env file would not pass config-check:\n{}", problems.join("\n"));

    let mut report = Vec::new();
    let mut steps = vec![Step::File { path: ENV_FILE.into(), text: env_text, mode: 0o600 }];
    steps.extend(nats_files(&root, mode, &env)?);
    steps.extend(unit_files(&root, &options));
    if !options.package_only {
        steps.extend(proxy_steps(&root, &options, &env)?);
    }
    plan::apply(&steps, &root, mode, &mut report)?;
    plan::apply(&system_steps(&options, &env), &root, mode, &mut report)?;
    report.push(json!({ "check": "config-check", "ok": true }));

    if mode == Mode::System {
        let listen = env.get("HTTP_LISTEN").map(String::as_str).unwrap_or("127.0.0.1:8080");
        wait_healthy(listen).await?;
        report.push(json!({ "check": "health", "ok": true }));
    } else {
        report.push(json!({ "check": "health", "ran": false }));
    }
    print_report(&report, mode, options.json);
    Ok(())
}

/// A DNS name, as the proxy, the certificate and PUBLIC_BASE_URL need it.
fn check_domain(domain: &str) -> anyhow::Result<()> {
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    anyhow::ensure!(valid, "`{domain}` is not a domain name (like tg.example.org)");
    Ok(())
}

fn wanted(options: &Options, existing: Option<&str>) -> anyhow::Result<env_file::Wanted> {
    let scheme = if options.enable_tls { "https" } else { "http" };
    let mut forced = vec![("PUBLIC_BASE_URL", format!("{scheme}://{}", options.domain))];
    if let Some(wallet) = &options.wallet_id {
        forced.push(("SERVICE_WALLET_ID", wallet.clone()));
    }
    // The database password is generated once: a kept DATABASE_URL keeps its own.
    let kept = existing.map(env_file::parse).unwrap_or_default();
    let database_url = match kept.get("DATABASE_URL") {
        Some(url) if !url.contains("CHANGE_ME") && !url.is_empty() => url.clone(),
        _ => format!("postgres://novij:{}@127.0.0.1:5432/novij", env_file::random_hex()?),
    };
    let generated = vec![
        ("DATABASE_URL", database_url),
        ("NOVIJ_MASTER_KEYS", format!("k1:{}", env_file::random_key()?)),
        ("NOVIJ_LOOKUP_KEY", env_file::random_key()?),
        ("ADMIN_API_KEY", env_file::random_hex()?),
        ("NATS_URL", "nats://127.0.0.1:4222".into()),
    ];
    Ok(env_file::Wanted { forced, generated })
}

fn config_problems(env: &BTreeMap<String, String>) -> Vec<String> {
    // The units give each service its NATS user; config-check sees the CLI's.
    let with_user = |key: &str| match key {
        "NATS_USER" => Some("admin".to_string()),
        "NATS_PASSWORD" => Some("set-by-the-unit".to_string()),
        _ => env.get(key).cloned(),
    };
    match novij_config::Config::load(None, with_user) {
        Ok(_) => vec![],
        Err(errors) => errors.problems.iter().map(|p| format!("  {}: {}", p.setting, p.problem)).collect(),
    }
}

/// The NATS server's configuration, and its users with a password file each.
fn nats_files(root: &Path, mode: Mode, env: &BTreeMap<String, String>) -> anyhow::Result<Vec<Step>> {
    let users_path = format!("{NATS_DIR}/novij-users.conf");
    let mut steps = vec![Step::File {
        path: format!("{NATS_DIR}/nats-server.conf"),
        text: render::NATS_CONFIG.to_string(),
        mode: 0o600,
    }];
    // Password files are made as the users are written; a dry run makes none.
    if mode != Mode::DryRun {
        let existing = super::read_if_present(&plan::under(root, &users_path))?;
        let projects: Vec<String> = env
            .get("PROJECT_API_KEYS")
            .map(|keys| keys.split(',').filter_map(|pair| pair.split_once(':')).map(|(p, _)| p.to_string()).collect())
            .unwrap_or_default();
        let text = super::nats_auth::users_config(&plan::under(root, NATS_DIR), projects, 11, existing.as_deref())?;
        steps.push(Step::File { path: users_path, text, mode: 0o600 });
    }
    Ok(steps)
}

/// The units, unless the package installed them.
fn unit_files(root: &Path, options: &Options) -> Vec<Step> {
    let packaged = PACKAGED_UNIT_DIRS.iter().any(|dir| plan::under(root, dir).join("novij-telegram.target").exists());
    if packaged {
        return vec![];
    }
    render::UNITS
        .iter()
        .map(|(name, text)| Step::File {
            path: format!("{UNIT_DIR}/{name}"),
            text: render::unit(text, &options.bin, &options.nats_server),
            mode: 0o644,
        })
        .collect()
}

fn proxy_steps(root: &Path, options: &Options, env: &BTreeMap<String, String>) -> anyhow::Result<Vec<Step>> {
    let upstream = env.get("HTTP_LISTEN").cloned().unwrap_or_else(|| "127.0.0.1:8080".into());
    let (domain, tls) = (options.domain.as_str(), options.enable_tls);
    Ok(match options.proxy {
        Proxy::Caddy => {
            // Debian's Caddyfile imports nothing; one line makes it read ours.
            let main = "/etc/caddy/Caddyfile";
            let import = "import /etc/caddy/novij-telegram.caddy";
            let current = super::read_if_present(&plan::under(root, main))?.unwrap_or_default();
            let mut steps = vec![Step::File {
                path: "/etc/caddy/novij-telegram.caddy".into(),
                text: render::caddy_site(domain, tls, &upstream),
                mode: 0o644,
            }];
            let text = if current.lines().any(|l| l.trim() == import) {
                current
            } else {
                format!("{current}{}{import}\n", if current.is_empty() || current.ends_with('\n') { "" } else { "\n" })
            };
            steps.push(Step::File { path: main.into(), text, mode: 0o644 });
            steps
        }
        Proxy::Nginx => vec![Step::File {
            path: "/etc/nginx/sites-available/novij-telegram".into(),
            text: render::nginx_site(domain, tls, &upstream),
            mode: 0o644,
        }],
    })
}

/// What changes the system beyond files, in order.
fn system_steps(options: &Options, env: &BTreeMap<String, String>) -> Vec<Step> {
    let add_user = format!(
        "getent passwd {SYSTEM_USER} >/dev/null || adduser --system --group --no-create-home --home /nonexistent {SYSTEM_USER}"
    );
    let mut steps = vec![Step::Run {
        shown: add_user.clone(),
        argv: vec!["sh".into(), "-c".into(), add_user],
        stdin: None,
        env: vec![],
    }];
    steps.extend(postgres_step(env));
    steps.push(Step::run(&["systemctl", "daemon-reload"]));
    steps.push(Step::run(&["systemctl", "enable", "--now", "novij-telegram-nats.service"]));
    steps.push(Step::Run {
        shown: format!("{} migrate (with {ENV_FILE})", options.bin),
        argv: vec![options.bin.clone(), "migrate".into()],
        stdin: None,
        env: env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    });
    steps.push(Step::run(&["systemctl", "enable", "--now", "novij-telegram.target"]));
    if !options.package_only {
        match options.proxy {
            Proxy::Caddy => steps.push(Step::run(&["systemctl", "reload-or-restart", "caddy"])),
            Proxy::Nginx => {
                if options.enable_tls {
                    steps.push(Step::run(&[
                        "certbot",
                        "certonly",
                        "--webroot",
                        "-w",
                        "/var/www/html",
                        "--non-interactive",
                        "--agree-tos",
                        "--register-unsafely-without-email",
                        "-d",
                        &options.domain,
                    ]));
                }
                steps.push(Step::Link {
                    path: "/etc/nginx/sites-enabled/novij-telegram".into(),
                    target: "/etc/nginx/sites-available/novij-telegram".into(),
                });
                steps.push(Step::run(&["nginx", "-t"]));
                steps.push(Step::run(&["systemctl", "reload", "nginx"]));
            }
        }
    }
    steps
}

/// The role and database of DATABASE_URL, when it names this machine's Postgres.
fn postgres_step(env: &BTreeMap<String, String>) -> Option<Step> {
    let url = env.get("DATABASE_URL")?;
    let (credentials, rest) = url.strip_prefix("postgres://")?.split_once('@')?;
    let (role, password) = credentials.split_once(':')?;
    let (host, database) = rest.split_once('/')?;
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let simple = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") || !simple(role) || !simple(database) {
        return None;
    }
    let password = password.replace('\'', "''");
    let sql = format!(
        "SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n\
         ALTER ROLE {role} LOGIN PASSWORD '{password}';\n\
         SELECT 'CREATE DATABASE {database} OWNER {role}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
    );
    Some(Step::Run {
        // The password goes in on stdin, never on a command line or in the output.
        shown: format!(
            "runuser -u postgres -- psql (role {role} with the password of DATABASE_URL, database {database})"
        ),
        argv: ["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
            .map(String::from)
            .to_vec(),
        stdin: Some(sql),
        env: vec![],
    })
}

async fn wait_healthy(listen: &str) -> anyhow::Result<()> {
    let url = format!("http://{listen}/api/v1/health");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
    loop {
        let answer = client.get(&url).send().await;
        match answer {
            Ok(response) if response.status().is_success() => return Ok(()),
            _ if tokio::time::Instant::now() >= deadline => {
                let detail = match answer {
                    Ok(response) => format!("it answers {}", response.status()),
                    Err(e) => e.to_string(),
                };
                anyhow::bail!(
                    "{url} is not healthy after {}s ({detail}); see journalctl -u 'novij-telegram-*'",
                    HEALTH_TIMEOUT.as_secs()
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

fn print_report(report: &[Value], mode: Mode, json: bool) {
    if json {
        println!("{}", json!({ "steps": report }));
        return;
    }
    let would = if mode == Mode::System { "" } else { "would " };
    for line in report {
        if let Some(file) = line["file"].as_str().or(line["link"].as_str()) {
            println!("{:<10} {file}", line["outcome"].as_str().unwrap_or_default());
        } else if let Some(command) = line["command"].as_str() {
            println!("{:<10} {command}", if line["ran"] == true { "ran" } else { "would run" });
        } else if let Some(check) = line["check"].as_str() {
            let state = if line["ok"] == true { "ok" } else { "not run" };
            println!(
                "{:<10} {check}: {state}",
                if line["ran"] == false { format!("{would}check") } else { "check".into() }
            );
        }
    }
}

/// Reads what the env file holds, for commands run outside the units (`update`).
pub fn installed_env() -> anyhow::Result<BTreeMap<String, String>> {
    let text = super::read_if_present(Path::new(ENV_FILE)).context("reading the env file")?;
    Ok(text.map(|t| env_file::parse(&t)).unwrap_or_default())
}
