//! Basic groups and supergroups: members, which bots are in them, and the
//! upgrade of a basic group to a supergroup (with a new chat id).

use std::collections::HashMap;

use serde_json::{json, Value};

/// First id of basic groups, as new Telegram groups look: -4000000001, -4000000002...
const BASIC_GROUP_BASE: i64 = 4_000_000_000;
/// First id of supergroups: `-100` followed by ten digits, e.g. -1002000000001.
const SUPERGROUP_BASE: i64 = 1_002_000_000_000;

/// The user behind messages sent "on behalf of the group", e.g. the first
/// message of a supergroup created by an upgrade.
pub const GROUP_ANONYMOUS_BOT_ID: i64 = 1_087_968_824;

/// Basic group or supergroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Group,
    Supergroup,
}

impl GroupKind {
    /// The `Chat.type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Group => "group",
            GroupKind::Supergroup => "supergroup",
        }
    }

    /// Parses "group" or "supergroup".
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "group" => Some(GroupKind::Group),
            "supergroup" => Some(GroupKind::Supergroup),
            _ => None,
        }
    }
}

/// Where a bot stands in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotMembership {
    Member,
    /// Removed by a member: sends answer "bot was kicked from the ... chat".
    Kicked,
}

/// A group chat acted out through the control API.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: i64,
    pub title: String,
    pub kind: GroupKind,
    /// Only basic groups carry it in their `Chat` object.
    pub all_members_are_administrators: bool,
    /// User ids, in the order they were added.
    pub members: Vec<i64>,
    /// Bots that are or were in the group.
    pub bots: HashMap<i64, BotMembership>,
    /// Set once a basic group was upgraded.
    pub migrated_to: Option<i64>,
    /// Message ids are shared by everybody in a group.
    pub last_message_id: i64,
}

impl Group {
    pub fn new(id: i64, title: String, kind: GroupKind, members: Vec<i64>) -> Self {
        Self {
            id,
            title,
            kind,
            all_members_are_administrators: true,
            members,
            bots: HashMap::new(),
            migrated_to: None,
            last_message_id: 0,
        }
    }

    /// The `Chat` object as Telegram sends it.
    pub fn chat_json(&self) -> Value {
        match self.kind {
            GroupKind::Group => json!({
                "id": self.id,
                "title": self.title,
                "type": "group",
                "all_members_are_administrators": self.all_members_are_administrators,
            }),
            GroupKind::Supergroup => json!({"id": self.id, "title": self.title, "type": "supergroup"}),
        }
    }

    /// Allocates the next message id of the group.
    pub fn next_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Whether the bot is currently a member.
    pub fn has_bot(&self, bot_id: i64) -> bool {
        self.bots.get(&bot_id) == Some(&BotMembership::Member)
    }

    /// Ids of the bots that are members, ascending.
    pub fn member_bots(&self) -> Vec<i64> {
        let mut ids: Vec<i64> =
            self.bots.iter().filter(|(_, m)| **m == BotMembership::Member).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }
}

/// The chat id of the `seq`-th group of a kind (seq starts at 1).
pub fn group_chat_id(kind: GroupKind, seq: i64) -> i64 {
    match kind {
        GroupKind::Group => -(BASIC_GROUP_BASE + seq),
        GroupKind::Supergroup => -(SUPERGROUP_BASE + seq),
    }
}

/// The `User` object of Telegram's GroupAnonymousBot.
pub fn group_anonymous_bot_json() -> Value {
    json!({"id": GROUP_ANONYMOUS_BOT_ID, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_telegrams_shapes() {
        assert_eq!(group_chat_id(GroupKind::Group, 1), -4_000_000_001);
        let supergroup = group_chat_id(GroupKind::Supergroup, 1);
        assert_eq!(supergroup, -1_002_000_000_001);
        assert!(supergroup.to_string().starts_with("-100"));
        assert_eq!(supergroup.to_string().len(), 14);
    }

    #[test]
    fn chat_objects_differ_by_kind() {
        let mut group = Group::new(-4_000_000_001, "Ops".into(), GroupKind::Group, vec![]);
        assert_eq!(
            group.chat_json(),
            json!({"id": -4_000_000_001_i64, "title": "Ops", "type": "group", "all_members_are_administrators": true})
        );
        group.kind = GroupKind::Supergroup;
        assert_eq!(group.chat_json(), json!({"id": -4_000_000_001_i64, "title": "Ops", "type": "supergroup"}));
    }
}
