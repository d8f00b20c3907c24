//! A command manifest as Telegram's command menus: one per scope and
//! language, each set with `setMyCommands` (an empty one deleted).
//!
//! Telegram shows a chat the first non-empty menu of its scope (private
//! chats, then the default; groups likewise), in the user's language if that
//! menu exists, else the one without a language. So each scope's menu lists
//! every command offered there, and a language's menu exists only when some
//! command describes itself in that language.

use novij_events::commands::CommandSpec;
use novij_telegram_client::{BotCommand, BotCommandScope, SetMyCommands};

/// The languages a manifest may describe its commands in.
const LANGUAGES: &[&str] = &["ru", "en"];

/// Whether a command is offered in a scope's chats.
type Offered = fn(&CommandSpec) -> bool;

/// Every menu the manifest makes or empties: each scope, with no language
/// and in each language.
pub fn menus(commands: &[CommandSpec]) -> Vec<SetMyCommands> {
    let scopes: [(BotCommandScope, Offered); 3] = [
        (BotCommandScope::Default, |c| c.scope.in_private() && c.scope.in_groups()),
        (BotCommandScope::AllPrivateChats, |c| c.scope.in_private()),
        (BotCommandScope::AllGroupChats, |c| c.scope.in_groups()),
    ];
    let mut menus = Vec::new();
    for (scope, offered) in scopes {
        let here: Vec<&CommandSpec> = commands.iter().filter(|c| offered(c)).collect();
        let entries = |language: &str| {
            here.iter()
                .map(|c| BotCommand { command: c.name.clone(), description: c.description_in(language).to_string() })
                .collect()
        };
        menus.push(SetMyCommands { commands: entries(""), scope, language_code: String::new() });
        for language in LANGUAGES {
            let described = here.iter().any(|c| c.descriptions.contains_key(*language));
            let commands = if described { entries(language) } else { Vec::new() };
            menus.push(SetMyCommands { commands, scope, language_code: language.to_string() });
        }
    }
    menus
}

#[cfg(test)]
mod tests {
    use super::*;
    use novij_events::commands::CommandScope;

    fn command(name: &str, scope: CommandScope, ru: Option<&str>) -> CommandSpec {
        CommandSpec {
            name: name.into(),
            description: format!("{name} (en)"),
            executor_key: "ops".into(),
            args_hint: None,
            timeout_seconds: 60,
            scope,
            descriptions: ru.map(|d| [("ru".to_string(), d.to_string())].into()).unwrap_or_default(),
            allowed_refs: Vec::new(),
        }
    }

    fn names(menu: &SetMyCommands) -> Vec<(&str, &str)> {
        menu.commands.iter().map(|c| (c.command.as_str(), c.description.as_str())).collect()
    }

    #[test]
    fn each_scope_lists_what_is_offered_there_and_a_language_menu_exists_only_when_described() {
        let menus = menus(&[
            command("deploy", CommandScope::Private, Some("выкатить")),
            command("status", CommandScope::All, None),
            command("oncall", CommandScope::Groups, None),
        ]);
        let find = |scope, language: &str| {
            menus.iter().find(|m| m.scope == scope && m.language_code == language).map(names).expect("a menu")
        };
        assert_eq!(menus.len(), 9);
        assert_eq!(find(BotCommandScope::Default, ""), vec![("status", "status (en)")]);
        assert_eq!(
            find(BotCommandScope::AllPrivateChats, ""),
            vec![("deploy", "deploy (en)"), ("status", "status (en)")]
        );
        assert_eq!(
            find(BotCommandScope::AllPrivateChats, "ru"),
            vec![("deploy", "выкатить"), ("status", "status (en)")]
        );
        assert_eq!(
            find(BotCommandScope::AllGroupChats, ""),
            vec![("status", "status (en)"), ("oncall", "oncall (en)")]
        );
        assert!(find(BotCommandScope::AllGroupChats, "ru").is_empty(), "nothing described in Russian there");
        assert!(find(BotCommandScope::AllPrivateChats, "en").is_empty());
    }

    #[test]
    fn an_empty_manifest_empties_every_menu() {
        let menus = menus(&[]);
        assert_eq!(menus.len(), 9);
        assert!(menus.iter().all(|m| m.commands.is_empty()));
    }
}
