//! Figment's errors in our shape: the key and the problem, never the value.

pub use crate::setting_error::{ConfigError, ConfigErrors};

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
