//! The Bot API surface: `{base}/bot<token>/<method>`, and file downloads at
//! `{base}/file/bot<token>/<file_path>`.

pub mod bot_commands;
pub mod command_scope;
pub mod download;
pub mod entities;
pub mod errors;
pub mod html;
pub mod input_file;
pub mod json_fields;
pub mod markdown;
pub mod methods;
pub mod multipart;
pub mod params;
pub mod reply_markup;
pub mod router;
