//! `nats-auth`: the nats-server `authorization` block of every NATS user,
//! with each user's password kept in a file of its own.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use novij_bus::auth::{self, User};

use super::load_config;

/// Writes the users' configuration to `out` (stdout without it). Users:
/// every service, `all`, `admin`, `ops`, and every project of
/// `PROJECT_API_KEYS` and `projects`. A user's password is read from
/// `<secrets>/<user>.password`, made there (random, mode 0600) if missing.
pub fn run(secrets: &Path, out: Option<PathBuf>, projects: Vec<String>, cost: u32) -> anyhow::Result<()> {
    let config = load_config()?;
    std::fs::create_dir_all(secrets).with_context(|| format!("creating {}", secrets.display()))?;
    let mut grants: Vec<(String, auth::Grant)> = auth::SERVICES
        .iter()
        .chain(&[auth::ALL, auth::ADMIN, auth::OPS])
        .filter_map(|user| auth::grant(user).map(|grant| (user.to_string(), grant)))
        .collect();
    let mut projects: Vec<String> = config.project_api_keys.values().cloned().chain(projects).collect();
    projects.sort();
    projects.dedup();
    grants.extend(projects.iter().map(|p| (auth::project_user(p), auth::project(p))));
    let users = grants
        .into_iter()
        .map(|(name, grant)| {
            let password = password_of(secrets, &name)?;
            let password_hash = auth::hash_password(&password, cost)?;
            Ok(User { name, password_hash, grant })
        })
        .collect::<anyhow::Result<Vec<User>>>()?;
    let text = auth::render(&users);
    match out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// The user's password from its file, made if missing.
fn password_of(secrets: &Path, user: &str) -> anyhow::Result<String> {
    let path = secrets.join(format!("{user}.password"));
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => anyhow::bail!("{} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let password = auth::generate_password();
    write_private(&path, &password).with_context(|| format!("writing {}", path.display()))?;
    Ok(password)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(format!("{text}\n").as_bytes())
}
