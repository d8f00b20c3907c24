//! `nats-auth`: the nats-server `authorization` block of every NATS user,
//! with each user's password kept in a file of its own.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use novij_bus::auth::{self, User};

use super::{load_config, read_if_present};

/// Writes the users' configuration to `out` (stdout without it). Users:
/// every service, `all`, `admin`, `ops`, and every project of
/// `PROJECT_API_KEYS` and `projects`. A user's password is read from
/// `<secrets>/<user>.password`, made there (random, mode 0600) if missing.
pub fn run(secrets: &Path, out: Option<PathBuf>, projects: Vec<String>, cost: u32) -> anyhow::Result<()> {
    let config = load_config()?;
    let projects: Vec<String> = config.project_api_keys.values().cloned().chain(projects).collect();
    let existing = match &out {
        Some(path) => read_if_present(path)?,
        None => None,
    };
    let text = users_config(secrets, projects, cost, existing.as_deref())?;
    match out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// The configuration of every service's user, `all`, `admin`, `ops` and
/// each of `projects`. A hash in `existing` (the file written before) is
/// kept while its password still matches, so that a second run writes the
/// same text.
pub fn users_config(
    secrets: &Path,
    mut projects: Vec<String>,
    cost: u32,
    existing: Option<&str>,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(secrets).with_context(|| format!("creating {}", secrets.display()))?;
    let known = existing.map(auth::rendered_hashes).unwrap_or_default();
    let mut grants: Vec<(String, auth::Grant)> = auth::SERVICES
        .iter()
        .chain(&[auth::ALL, auth::ADMIN, auth::OPS])
        .filter_map(|user| auth::grant(user).map(|grant| (user.to_string(), grant)))
        .collect();
    projects.sort();
    projects.dedup();
    grants.extend(projects.iter().map(|p| (auth::project_user(p), auth::project(p))));
    let users = grants
        .into_iter()
        .map(|(name, grant)| {
            let password = password_of(secrets, &name)?;
            let password_hash = match known.get(&name) {
                Some(hash) if auth::password_matches(&password, hash) => hash.clone(),
                _ => auth::hash_password(&password, cost)?,
            };
            Ok(User { name, password_hash, grant })
        })
        .collect::<anyhow::Result<Vec<User>>>()?;
    Ok(auth::render(&users))
}

/// The user's password from its file, made if missing.
fn password_of(secrets: &Path, user: &str) -> anyhow::Result<String> {
    let path = secrets.join(format!("{user}.password"));
    match read_if_present(&path)? {
        Some(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Some(_) => anyhow::bail!("{} is empty", path.display()),
        None => {}
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
