//! The API-key aggregate (`nt.ev.api_key.<key_id>.*`): made once, revoked once.

use novij_events::api_key::{ApiKeyCreated, ApiKeyRevoked};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiKey {
    /// `None`: no such key.
    pub created: Option<ApiKeyCreated>,
    pub revoked: bool,
}

impl Aggregate for ApiKey {
    const TYPE: &'static str = "api_key";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::ApiKeyCreated(e) => self.created = Some(e.payload.clone()),
            AnyEvent::ApiKeyRevoked(_) => self.revoked = true,
            _ => {}
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevokeRefusal {
    #[error("no such API key")]
    Unknown,
}

/// The revocation to append; `None` when the key is revoked already (a
/// retried revocation answers the same).
pub fn revoke(key: &ApiKey) -> Result<Option<ApiKeyRevoked>, RevokeRefusal> {
    let created = key.created.as_ref().ok_or(RevokeRefusal::Unknown)?;
    Ok((!key.revoked).then(|| ApiKeyRevoked { key_id: created.key_id.clone(), project_id: created.project_id.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env;

    fn created() -> AnyEvent {
        env(ApiKeyCreated { key_id: "key_1".into(), project_id: "p1".into(), key_hash: "h".into(), label: None })
    }

    #[test]
    fn given_a_key_when_revoked_then_once_and_a_retry_is_the_same() {
        let key = ApiKey::default().evolve(&created());
        let revoked = revoke(&key).expect("revocable").expect("a revocation");
        assert_eq!((revoked.key_id.as_str(), revoked.project_id.as_str()), ("key_1", "p1"));
        let key = key.evolve(&env(revoked));
        assert!(key.revoked);
        assert_eq!(revoke(&key), Ok(None));
    }

    #[test]
    fn given_no_key_when_revoked_then_refused() {
        assert_eq!(revoke(&ApiKey::default()), Err(RevokeRefusal::Unknown));
    }
}
