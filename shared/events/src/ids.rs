//! Identifier formats. Ids are subject tokens, so they are `[a-z0-9_]` only.

use uuid::Uuid;

/// A new random id with a type prefix, e.g. `int_3f2a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// An id derived from a keyed hash (hex), e.g. a send id from its idempotency key.
pub fn derived_id(prefix: &str, keyed_hash_hex: &str) -> String {
    let len = keyed_hash_hex.len().min(32);
    format!("{prefix}_{}", &keyed_hash_hex[..len])
}

/// A deterministic event id for an event caused by `cause` (an event id, an
/// update key): the same cause and purpose always give the same id.
pub fn caused_event_id(cause: &str, purpose: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("novij-telegram/{cause}/{purpose}").as_bytes())
}

/// True when `id` has the prefix and only subject-safe characters.
pub fn is_valid(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('_')).is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub const INTEGRATION: &str = "int";
pub const SEND: &str = "snd";
pub const RECIPIENT: &str = "rcp";
pub const CONNECT_CODE: &str = "cc";
pub const INCIDENT: &str = "inc";
pub const ALERT: &str = "alr";
pub const COMMAND: &str = "cmd";
pub const INBOUND: &str = "inb";
pub const BROADCAST: &str = "brd";
pub const UPLOAD: &str = "upl";
pub const API_KEY: &str = "key";

/// A card's id: its incident's hash followed by the card's generation, so a
/// card names its aggregate (`inc_3f2a…` → `alr_3f2a…1`, `alr_3f2a…2`, …).
pub fn alert_id(incident_id: &str, generation: u32) -> Option<String> {
    let hash = incident_id.strip_prefix(INCIDENT)?.strip_prefix('_')?;
    (hash.len() == INCIDENT_HASH_LEN).then(|| format!("{ALERT}_{hash}{generation}"))
}

/// The incident and generation an [`alert_id`] names.
pub fn parse_alert_id(alert_id: &str) -> Option<(String, u32)> {
    if !is_valid(ALERT, alert_id) {
        return None;
    }
    let rest = &alert_id[ALERT.len() + 1..];
    let (hash, generation) = rest.split_at_checked(INCIDENT_HASH_LEN)?;
    let generation: u32 = generation.parse().ok().filter(|g| *g > 0)?;
    // One spelling per card: no leading zeros.
    (generation.to_string().len() == rest.len() - INCIDENT_HASH_LEN).then(|| (format!("{INCIDENT}_{hash}"), generation))
}

pub const ACTION: &str = "act";

/// A press's id: its incident's hash followed by the press's own, so an ack
/// names its aggregate (`act_<incident hash><press hash>`).
pub fn action_id(incident_id: &str, press_hash_hex: &str) -> Option<String> {
    let hash = incident_id.strip_prefix(INCIDENT)?.strip_prefix('_')?;
    let press = press_hash_hex.get(..16)?;
    (hash.len() == INCIDENT_HASH_LEN).then(|| format!("{ACTION}_{hash}{press}"))
}

/// The incident an [`action_id`] belongs to.
pub fn incident_of_action(action_id: &str) -> Option<String> {
    if !is_valid(ACTION, action_id) || action_id.len() != ACTION.len() + 1 + INCIDENT_HASH_LEN + 16 {
        return None;
    }
    Some(format!("{INCIDENT}_{}", &action_id[ACTION.len() + 1..ACTION.len() + 1 + INCIDENT_HASH_LEN]))
}

/// Hex digits of an incident id's hash (a [`derived_id`]).
const INCIDENT_HASH_LEN: usize = 32;

pub const COMMAND_PRESS: &str = "cpr";

/// A press of a button under a command's reply: the command's hash followed
/// by the press's own (`cpr_<command hash><press hash>`), so an ack names
/// its aggregate.
pub fn command_press_id(command_id: &str, press_hash_hex: &str) -> Option<String> {
    let hash = command_id.strip_prefix(COMMAND)?.strip_prefix('_')?;
    let press = press_hash_hex.get(..16)?;
    (hash.len() == INCIDENT_HASH_LEN).then(|| format!("{COMMAND_PRESS}_{hash}{press}"))
}

/// The command a [`command_press_id`] belongs to.
pub fn command_of_press(press_id: &str) -> Option<String> {
    if !is_valid(COMMAND_PRESS, press_id) || press_id.len() != COMMAND_PRESS.len() + 1 + INCIDENT_HASH_LEN + 16 {
        return None;
    }
    let start = COMMAND_PRESS.len() + 1;
    Some(format!("{COMMAND}_{}", &press_id[start..start + INCIDENT_HASH_LEN]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let a = new_id(INTEGRATION);
        assert!(is_valid(INTEGRATION, &a), "{a}");
        assert_ne!(a, new_id(INTEGRATION));
    }

    #[test]
    fn an_alert_id_names_its_incident_and_generation_once() {
        let incident = derived_id(INCIDENT, &"ab12".repeat(8));
        let alert = alert_id(&incident, 12).expect("an alert id");
        assert_eq!(alert, format!("alr_{}12", "ab12".repeat(8)));
        assert_eq!(parse_alert_id(&alert), Some((incident.clone(), 12)));
        for bad in [format!("alr_{}012", "ab12".repeat(8)), format!("alr_{}0", "ab12".repeat(8)), "alr_ab1".into()] {
            assert_eq!(parse_alert_id(&bad), None, "{bad}");
        }
        assert_eq!(alert_id("inc_short", 1), None);
        let action = action_id(&incident, &"cd".repeat(16)).expect("an action id");
        assert_eq!(incident_of_action(&action), Some(incident.clone()));
        assert_eq!(incident_of_action(&alert), None);
    }

    #[test]
    fn invalid_ids_are_rejected() {
        for bad in ["int_", "snd_abc", "int_ABC", "int_a.b", "int_a b", "int_>", "intabc"] {
            assert!(!is_valid(INTEGRATION, bad), "{bad}");
        }
    }
}
