//! The Bot API surface: `{base}/bot<token>/<method>`.

pub mod entities;
pub mod errors;
pub mod html;
pub mod markdown;
pub mod methods;
pub mod params;
pub mod reply_markup;
pub mod router;
