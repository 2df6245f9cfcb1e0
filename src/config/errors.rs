//! Configuration errors: the key and the problem, never the value (it may be key material).

use std::fmt;

/// A configuration problem: the key it is about and what is wrong, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn key(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "`{}`: {}", self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

/// All problems found in one pass, so an operator fixes them in one go.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Figment's own messages can quote the offending value (a PEM block, say); rebuild them from
/// the key path and the kind of problem only.
pub(super) fn figment_errors(err: figment::Error) -> ConfigErrors {
    use figment::error::Kind;
    let list = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let problem = match &e.kind {
                Kind::MissingField(f) => {
                    return ConfigError::key(join_key(&key, f), "is required but missing");
                }
                Kind::UnknownField(f, _) => {
                    return ConfigError::key(join_key(&key, f), "is not a known setting");
                }
                Kind::InvalidType(_, expected) => {
                    format!("has the wrong type (expected {expected})")
                }
                Kind::InvalidValue(_, expected) => {
                    format!("has an invalid value (expected {expected})")
                }
                Kind::InvalidLength(_, expected) => {
                    format!("has the wrong length (expected {expected})")
                }
                Kind::UnknownVariant(_, allowed) => {
                    format!("must be one of: {}", allowed.join(", "))
                }
                Kind::DuplicateField(f) => format!("sets `{f}` twice"),
                Kind::Message(_) => "could not be read (check its syntax)".to_string(),
                _ => "is not valid".to_string(),
            };
            ConfigError::key(key, problem)
        })
        .collect();
    ConfigErrors(list)
}

fn join_key(parent: &str, field: &str) -> String {
    // Figment puts the field at the end of the path for some sources and not for others.
    if parent.is_empty() {
        field.to_string()
    } else if parent.rsplit('.').next() == Some(field) {
        parent.to_string()
    } else {
        format!("{parent}.{field}")
    }
}
