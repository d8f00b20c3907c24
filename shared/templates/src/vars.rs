//! Checking a request's `template_vars` against a template's declarations.
//!
//! Checks run in a fixed order (unknown variables first, then each declared
//! variable in declaration order) so the same bad request always names the
//! same field.

use serde_json::{Map, Value};

use crate::catalogue::{TemplateSpec, VarKind, VarSpec};
use crate::TemplateError;

/// A variable's value after checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked<'a> {
    Str(&'a str),
    Int(i64),
    /// The matching entry of the declared values.
    Enum(&'static str),
}

/// The variables a request gave, checked, in declaration order.
#[derive(Debug)]
pub(crate) struct Vars<'a> {
    template: &'static str,
    values: Vec<(&'static str, Checked<'a>)>,
}

impl<'a> Vars<'a> {
    fn get(&self, name: &str) -> Option<Checked<'a>> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// An optional string variable.
    pub(crate) fn str(&self, name: &str) -> Option<&'a str> {
        match self.get(name) {
            Some(Checked::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// An optional integer variable.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Checked::Int(i)) => Some(i),
            _ => None,
        }
    }

    /// A required string variable. Checking already guarantees it is there;
    /// the error keeps a catalogue/renderer mismatch from panicking.
    pub(crate) fn required_str(&self, name: &str) -> Result<&'a str, TemplateError> {
        self.str(name).ok_or_else(|| self.missing(name))
    }

    /// A required enum variable; see [`Vars::required_str`].
    pub(crate) fn required_enum(&self, name: &str) -> Result<&'static str, TemplateError> {
        match self.get(name) {
            Some(Checked::Enum(s)) => Ok(s),
            _ => Err(self.missing(name)),
        }
    }

    /// The error for a required variable that is absent.
    pub(crate) fn missing(&self, name: &str) -> TemplateError {
        TemplateError::var(name, format!("is required by {}", self.template))
    }

    /// The string variable that contributes most to the message's length,
    /// i.e. the one to shorten when the rendering is too long. Ties go to
    /// the first declared.
    pub(crate) fn longest_string(&self) -> Option<&'static str> {
        let mut best: Option<(&'static str, usize)> = None;
        for (name, v) in &self.values {
            if let Checked::Str(s) = v {
                let len = crate::html::utf16_len(s);
                if best.is_none_or(|(_, l)| len > l) {
                    best = Some((name, len));
                }
            }
        }
        best.map(|(n, _)| n)
    }
}

/// Checks `vars` against `spec`. A JSON `null` counts as not given, so
/// clients may send optional variables as null.
pub(crate) fn check<'a>(spec: &'static TemplateSpec, vars: &'a Map<String, Value>) -> Result<Vars<'a>, TemplateError> {
    // Sorted explicitly: serde_json's map order depends on a feature flag.
    if let Some(unknown) = vars.keys().filter(|k| spec.variable(k).is_none()).min() {
        return Err(TemplateError::var(unknown, "is not a variable of this template"));
    }
    let mut values = Vec::with_capacity(spec.variables.len());
    for var in spec.variables {
        match vars.get(var.name) {
            None | Some(Value::Null) if var.required => {
                return Err(TemplateError::var(var.name, format!("is required by {}", spec.name)));
            }
            None | Some(Value::Null) => {}
            Some(value) => values.push((var.name, check_one(var, value)?)),
        }
    }
    Ok(Vars { template: spec.name, values })
}

fn check_one<'a>(var: &VarSpec, value: &'a Value) -> Result<Checked<'a>, TemplateError> {
    let err = |message: String| TemplateError::var(var.name, message);
    match var.kind {
        VarKind::String { max_chars } => {
            let Value::String(s) = value else {
                return Err(err("must be a string".into()));
            };
            if s.trim().is_empty() {
                return Err(err("must not be empty".into()));
            }
            let chars = s.chars().count();
            if chars > max_chars {
                return Err(err(format!("must be at most {max_chars} characters (got {chars})")));
            }
            // Control characters are invisible or garble the chat; newlines and
            // tabs are ordinary formatting.
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(err("must not contain control characters other than newline and tab".into()));
            }
            Ok(Checked::Str(s))
        }
        VarKind::Integer { min, max } => {
            let out_of_range = || err(format!("must be between {min} and {max}"));
            let Value::Number(n) = value else {
                return Err(err("must be an integer".into()));
            };
            match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => Ok(Checked::Int(i)),
                Some(_) => Err(out_of_range()),
                // An integer beyond i64 is still an integer, just far out of range.
                None if n.is_u64() => Err(out_of_range()),
                None => Err(err("must be an integer".into())),
            }
        }
        VarKind::Enum { values } => value
            .as_str()
            .and_then(|s| values.iter().copied().find(|v| *v == s))
            .map(Checked::Enum)
            .ok_or_else(|| err(format!("must be one of: {}", values.join(", ")))),
    }
}
