//! Closed sets of names (statuses, reasons): one enum each, whose serde name is
//! the label stored in events, projections and API answers.

/// A label that is not one of its enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{label:?} is not a known {kind}")]
pub struct UnknownLabel {
    pub kind: &'static str,
    pub label: String,
}

/// Declares a fieldless enum with one label per variant: serde, `as_str`,
/// `Display`, `FromStr` and `ALL` all agree on it.
#[macro_export]
macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $label)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::labels::UnknownLabel;
            fn from_str(label: &str) -> Result<Self, Self::Err> {
                match label {
                    $($label => Ok($name::$variant),)+
                    _ => Err($crate::labels::UnknownLabel { kind: stringify!($name), label: label.to_string() }),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    labelled_enum! {
        enum Colour {
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn serde_as_str_and_from_str_agree() {
        for colour in Colour::ALL {
            let json = serde_json::to_value(colour).unwrap();
            assert_eq!(json, serde_json::json!(colour.as_str()));
            assert_eq!(colour.as_str().parse::<Colour>().unwrap(), *colour);
            assert_eq!(serde_json::from_value::<Colour>(json).unwrap(), *colour);
        }
        let err = "green".parse::<Colour>().unwrap_err();
        assert_eq!(err.to_string(), "\"green\" is not a known Colour");
    }
}
