//! Amounts of the Relay ledger's asset, exact to six decimal places.
//!
//! Amounts travel as decimal strings (`"12.5"`) so no JSON reader rounds them
//! through a float; inside, they are whole micro-units.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fraction digits an amount may carry.
pub const SCALE: u32 = 6;
const UNIT: u64 = 10u64.pow(SCALE);

/// A non-negative amount in micro-units of the asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a non-negative decimal string such as \"12.5\"")]
    Malformed,
    #[error("must have at most {SCALE} digits after the point")]
    TooPrecise,
    #[error("is too large")]
    Overflow,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_micros(micros: u64) -> Self {
        Amount(micros)
    }

    pub const fn micros(self) -> u64 {
        self.0
    }

    pub fn checked_mul(self, n: u64) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
            return Err(AmountError::Malformed);
        }
        if frac.len() > SCALE as usize {
            return Err(AmountError::TooPrecise);
        }
        let whole: u64 = whole.parse().map_err(|_| AmountError::Overflow)?;
        let frac_micros: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<u64>().map_err(|_| AmountError::Malformed)? * 10u64.pow(SCALE - frac.len() as u32)
        };
        whole.checked_mul(UNIT).and_then(|w| w.checked_add(frac_micros)).map(Amount).ok_or(AmountError::Overflow)
    }
}

impl fmt::Display for Amount {
    /// The shortest exact decimal: `12.5`, `3`, `0.000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / UNIT, self.0 % UNIT);
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let frac = format!("{frac:06}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: AmountError| serde::de::Error::custom(format!("amount {e}")))
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]{1,6})?$",
            "description": "Non-negative decimal amount of the ledger's asset, at most 6 fraction digits."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        for (text, micros, shown) in [
            ("12.5", 12_500_000, "12.5"),
            ("3", 3_000_000, "3"),
            ("0.000001", 1, "0.000001"),
            ("007.10", 7_100_000, "7.1"),
        ] {
            let a: Amount = text.parse().unwrap();
            assert_eq!(a.micros(), micros, "{text}");
            assert_eq!(a.to_string(), shown);
        }
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        for bad in ["", ".5", "5.", "-1", "1e3", "1,5", " 1", "0.0000001", "99999999999999999999"] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?} parsed");
        }
        assert_eq!("0.1234567".parse::<Amount>(), Err(AmountError::TooPrecise));
    }

    #[test]
    fn travels_as_a_string() {
        let a: Amount = serde_json::from_str("\"1.25\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"1.25\"");
        assert!(serde_json::from_str::<Amount>("1.25").is_err());
    }
}
