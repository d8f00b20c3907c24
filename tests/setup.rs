//! `setup <domain> --root DIR`: a whole installation written under DIR (the
//! env file with generated secrets, NATS's configuration and users, the
//! units, the reverse proxy), consistent with itself, and a second run that
//! changes nothing.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_novij-telegram");

/// `setup … --root root --json`: the steps it reports.
fn setup(root: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .arg("setup")
        .args(args)
        .arg("--root")
        .arg(root)
        .args(["--bin", BIN, "--json"])
        .env_clear()
        .output()
        .expect("run setup");
    assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("setup --json");
    report["steps"].as_array().cloned().expect("steps")
}

/// Every file under `root`: its text and mode.
fn snapshot(root: &Path) -> BTreeMap<String, (String, u32)> {
    fn walk(dir: &Path, root: &Path, into: &mut BTreeMap<String, (String, u32)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            if meta.is_dir() {
                walk(&path, root, into);
            } else {
                let name = path.strip_prefix(root).expect("under root").display().to_string();
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                into.insert(name, (text, meta.permissions().mode() & 0o7777));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

fn env_of(root: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join("etc/novij-telegram/env")).expect("env file");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of `key=` lines in a unit.
fn directives<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines().filter_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('='))).collect()
}

#[test]
fn setup_writes_a_complete_consistent_installation_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let first = setup(root, &["example.org", "--enable-tls", "--wallet-id", "wallet_service"]);

    // The env file: private, complete, secrets generated.
    let env_path = root.join("etc/novij-telegram/env");
    assert_eq!(std::fs::metadata(&env_path).expect("env").permissions().mode() & 0o777, 0o600);
    let env = env_of(root);
    assert_eq!(env["PUBLIC_BASE_URL"], "https://example.org");
    assert_eq!(env["SERVICE_WALLET_ID"], "wallet_service");
    let hex64 = |v: &str| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit());
    assert!(hex64(&env["ADMIN_API_KEY"]), "{}", env["ADMIN_API_KEY"].len());
    let master = env["NOVIJ_MASTER_KEYS"].strip_prefix("k1:").expect("k1:");
    assert_eq!(master.len(), 44, "base64 of 32 bytes");
    assert_eq!(env["NOVIJ_LOOKUP_KEY"].len(), 44);
    assert_ne!(master, env["NOVIJ_LOOKUP_KEY"]);
    let db_password = env["DATABASE_URL"]
        .strip_prefix("postgres://novij:")
        .and_then(|rest| rest.split_once('@'))
        .map(|(password, _)| password)
        .expect("DATABASE_URL with the role's password");
    assert!(hex64(db_password));
    assert!(!std::fs::read_to_string(&env_path).expect("env").contains("CHANGE_ME"));

    // The env passes config-check as the CLI runs it.
    let check =
        Command::new(BIN).args(["config-check", "--json"]).env_clear().envs(&env).output().expect("config-check");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    // Every unit runs this binary with the env file, and each credential it
    // loads was written.
    let unit_dir = root.join("etc/systemd/system");
    let units: Vec<String> = std::fs::read_dir(&unit_dir)
        .expect("units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for service in ["ingress", "dispatcher", "connect", "payment-verifier", "scheduler", "migrate", "nats"] {
        assert!(units.contains(&format!("novij-telegram-{service}.service")), "{service}: {units:?}");
    }
    assert!(units.contains(&"novij-telegram.target".to_string()));
    for name in units.iter().filter(|u| u.ends_with(".service")) {
        let unit = std::fs::read_to_string(unit_dir.join(name)).expect("unit");
        let exec = directives(&unit, "ExecStart");
        assert_eq!(exec.len(), 1, "{name}");
        let program = exec[0].split_whitespace().next().expect("a program");
        if name == "novij-telegram-nats.service" {
            assert_eq!(program, "/usr/local/bin/nats-server", "{name}");
        } else {
            assert_eq!(program, BIN, "{name} runs another binary");
            assert_eq!(directives(&unit, "EnvironmentFile"), ["/etc/novij-telegram/env"], "{name}");
        }
        for credential in directives(&unit, "LoadCredential") {
            let (_, source) = credential.split_once(':').expect("name:path");
            let at = root.join(source.trim_start_matches('/'));
            assert!(at.is_file(), "{name} loads {source}, which setup did not write");
            assert_eq!(
                std::fs::metadata(&at).expect("meta").permissions().mode() & 0o077,
                0,
                "{source} is not private"
            );
        }
        assert!(directives(&unit, "User") == ["novij-telegram"], "{name}");
    }
    let target = std::fs::read_to_string(unit_dir.join("novij-telegram.target")).expect("target");
    for service in ["ingress", "dispatcher", "connect", "payment-verifier", "scheduler", "nats"] {
        assert!(target.contains(&format!("novij-telegram-{service}.service")), "the target does not start {service}");
    }

    // NATS: its users include every service's, whose passwords the units load.
    let nats = std::fs::read_to_string(root.join("etc/novij-telegram/nats/nats-server.conf")).expect("nats conf");
    assert!(nats.contains("include ./novij-users.conf") && nats.contains("listen: 127.0.0.1:4222"), "{nats}");
    assert!(env["NATS_URL"].ends_with("127.0.0.1:4222"));
    let users = std::fs::read_to_string(root.join("etc/novij-telegram/nats/novij-users.conf")).expect("users");
    for user in ["ingress", "dispatcher", "connect", "payment-verifier", "scheduler", "admin"] {
        assert!(users.contains(&format!("\"user\": \"{user}\"")), "{user} missing from the NATS users");
    }

    // The proxy: Caddy, TLS for the domain, forwarding to HTTP_LISTEN.
    let caddy = std::fs::read_to_string(root.join("etc/caddy/novij-telegram.caddy")).expect("caddy site");
    assert!(caddy.contains("example.org {"), "{caddy}");
    assert!(caddy.contains(&format!("reverse_proxy {}", env["HTTP_LISTEN"])), "{caddy}");
    let main = std::fs::read_to_string(root.join("etc/caddy/Caddyfile")).expect("Caddyfile");
    assert!(main.lines().any(|l| l == "import /etc/caddy/novij-telegram.caddy"), "{main}");

    // What would change the system is printed, not run.
    let commands: Vec<&str> = first.iter().filter_map(|s| s["command"].as_str()).collect();
    assert!(first.iter().filter(|s| s.get("command").is_some()).all(|s| s["ran"] == false));
    assert!(commands.iter().any(|c| c.starts_with("runuser -u postgres -- psql")), "{commands:?}");
    assert!(commands.iter().any(|c| c.contains(" migrate")), "{commands:?}");
    assert!(commands.contains(&"systemctl enable --now novij-telegram.target"), "{commands:?}");
    let printed = serde_json::to_string(&first).expect("json");
    assert!(!printed.contains(db_password) && !printed.contains(&env["ADMIN_API_KEY"]), "a secret was printed");

    // A second run changes nothing.
    let before = snapshot(root);
    let second = setup(root, &["example.org", "--enable-tls", "--wallet-id", "wallet_service"]);
    assert_eq!(snapshot(root), before, "the second run changed files");
    let outcomes: Vec<&str> = second.iter().filter_map(|s| s["outcome"].as_str()).collect();
    assert!(!outcomes.is_empty() && outcomes.iter().all(|o| *o == "unchanged"), "{second:?}");
}

#[test]
fn an_operators_values_are_kept_and_the_proxy_follows_http_listen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let env_path = root.join("etc/novij-telegram/env");
    std::fs::create_dir_all(env_path.parent().expect("dir")).expect("mkdir");
    // An env copied from the example and partly filled in by hand.
    std::fs::write(
        &env_path,
        "ADMIN_API_KEY=operators-own-admin-key\nNOVIJ_LOOKUP_KEY=CHANGE_ME\nHTTP_LISTEN=127.0.0.1:9180\nRUST_LOG=debug\n",
    )
    .expect("write");
    setup(root, &["tg.example.org", "--enable-tls", "--proxy", "nginx"]);
    let env = env_of(root);
    assert_eq!(env["ADMIN_API_KEY"], "operators-own-admin-key");
    assert_eq!(env["RUST_LOG"], "debug");
    assert_eq!(env["NOVIJ_LOOKUP_KEY"].len(), 44, "the placeholder was not replaced");
    assert!(env.contains_key("NOVIJ_MASTER_KEYS") && env.contains_key("DATABASE_URL"));
    assert_eq!(std::fs::metadata(&env_path).expect("env").permissions().mode() & 0o777, 0o600);

    let nginx = std::fs::read_to_string(root.join("etc/nginx/sites-available/novij-telegram")).expect("nginx site");
    assert!(nginx.contains("proxy_pass http://127.0.0.1:9180;"), "{nginx}");
    assert!(nginx.contains("ssl_certificate     /etc/letsencrypt/live/tg.example.org/fullchain.pem;"), "{nginx}");
    let link = std::fs::read_link(root.join("etc/nginx/sites-enabled/novij-telegram")).expect("enabled");
    assert_eq!(link, Path::new("/etc/nginx/sites-available/novij-telegram"));
    assert!(!root.join("etc/caddy").exists());
}

#[test]
fn package_only_leaves_the_proxy_alone_and_a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let steps = setup(dir.path(), &["example.org", "--enable-tls", "--package-only"]);
    assert!(dir.path().join("etc/novij-telegram/env").is_file());
    assert!(!dir.path().join("etc/caddy").exists() && !dir.path().join("etc/nginx").exists());
    assert!(!steps.iter().any(|s| s["command"].as_str().is_some_and(|c| c.contains("caddy") || c.contains("nginx"))));

    let empty = tempfile::tempdir().expect("tempdir");
    let steps = setup(empty.path(), &["example.org", "--enable-tls", "--dry-run"]);
    assert!(steps.iter().any(|s| s["file"] == "/etc/novij-telegram/env" && s["outcome"] == "created"), "{steps:?}");
    assert_eq!(std::fs::read_dir(empty.path()).expect("read_dir").count(), 0, "--dry-run wrote files");

    let bad = Command::new(BIN).args(["setup", "not a domain", "--root"]).arg(empty.path()).output().expect("setup");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a domain name"));
}
