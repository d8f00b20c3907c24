//! Refusals of the registry, each with the HTTP status and error code it is answered with.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// An entry field is missing, unknown or out of its rules.
    #[error("{message}")]
    InvalidEntry { field: String, message: String },
    #[error("service {0:?} is already registered")]
    ServiceExists(String),
    #[error("service {0:?} is not registered")]
    ServiceNotFound(String),
}

impl RegistryError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidEntry { field: field.to_string(), message: message.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidEntry { .. } => 400,
            Self::ServiceNotFound(_) => 404,
            Self::ServiceExists(_) => 409,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEntry { .. } => "invalid_entry",
            Self::ServiceExists(_) => "service_exists",
            Self::ServiceNotFound(_) => "service_not_found",
        }
    }

    /// The entry field at fault, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidEntry { field, .. } => Some(field),
            _ => None,
        }
    }
}
