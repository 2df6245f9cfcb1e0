//! `auth-eid demo`: the embedded demo configuration.

use std::path::PathBuf;

use crate::config::Config;

pub fn config(_port: u16, _state_dir: Option<PathBuf>) -> Result<Config, String> {
    Err("not yet".into())
}
