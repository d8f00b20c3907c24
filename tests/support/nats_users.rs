//! The NATS users of a test stack: every user `novij-telegram nats-auth`
//! makes, each with a fresh password, rendered as the server's configuration.

use std::collections::BTreeMap;

use novij_bus::auth::{self, User};

/// The lowest bcrypt cost nats-server takes: hashing stays fast in tests.
const COST: u32 = 4;

pub struct NatsUsers {
    passwords: BTreeMap<String, String>,
    /// The `authorization` block the stack's nats-server runs with.
    pub config: String,
}

impl NatsUsers {
    /// Users for every service, `all`, `admin`, `ops`, and the projects of
    /// `PROJECT_API_KEYS` in `settings`.
    pub fn new(settings: &[(&str, &str)]) -> NatsUsers {
        let keys = settings.iter().find(|(k, _)| *k == "PROJECT_API_KEYS").map(|(_, v)| *v).unwrap_or_default();
        let mut projects: Vec<String> =
            keys.split(',').filter_map(|entry| entry.split_once(':')).map(|(p, _)| p.trim().to_string()).collect();
        projects.sort();
        projects.dedup();
        let grants = auth::SERVICES
            .iter()
            .chain(&[auth::ALL, auth::ADMIN, auth::OPS])
            .map(|user| (user.to_string(), auth::grant(user).expect("a known user")))
            .chain(projects.iter().map(|p| (auth::project_user(p), auth::project(p))));
        let mut passwords = BTreeMap::new();
        let users: Vec<User> = grants
            .map(|(name, grant)| {
                let password = auth::generate_password();
                let password_hash = auth::hash_password(&password, COST).expect("bcrypt");
                passwords.insert(name.clone(), password);
                User { name, password_hash, grant }
            })
            .collect();
        NatsUsers { passwords, config: auth::render(&users) }
    }

    pub fn password(&self, user: &str) -> &str {
        self.passwords.get(user).unwrap_or_else(|| panic!("no NATS user {user}"))
    }

    /// `NATS_USER` and `NATS_PASSWORD` of `user`.
    pub fn settings(&self, user: &str) -> [(String, String); 2] {
        [("NATS_USER".into(), user.into()), ("NATS_PASSWORD".into(), self.password(user).into())]
    }
}
