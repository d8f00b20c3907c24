//! The languages templates render in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language a template can render in. Russian is the default because most
/// recipients of the product's messages read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ru,
    En,
}

/// Every supported locale, so callers and tests can iterate them.
pub const LOCALES: &[Locale] = &[Locale::Ru, Locale::En];

impl Locale {
    /// The code used on the wire and in configuration (`"ru"`, `"en"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A locale code that is not one of [`LOCALES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown locale `{0}`; expected one of: ru, en")]
pub struct UnknownLocale(pub String);

impl FromStr for Locale {
    type Err = UnknownLocale;

    /// Exact, lower-case codes only, matching what serde accepts.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LOCALES.iter().copied().find(|l| l.as_str() == s).ok_or_else(|| UnknownLocale(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_codes() {
        for &l in LOCALES {
            assert_eq!(l.as_str().parse::<Locale>(), Ok(l));
            assert_eq!(serde_json::to_value(l).unwrap(), serde_json::json!(l.as_str()));
        }
        assert_eq!("ru".parse::<Locale>(), Ok(Locale::Ru));
        assert_eq!("en".parse::<Locale>(), Ok(Locale::En));
        assert_eq!("EN".parse::<Locale>(), Err(UnknownLocale("EN".into())));
        assert_eq!("de".parse::<Locale>().unwrap_err().to_string(), "unknown locale `de`; expected one of: ru, en");
        assert_eq!(Locale::default(), Locale::Ru);
    }
}
