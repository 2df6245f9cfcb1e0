//! Builds the Rocket application from a validated configuration.

use rocket::{Build, Rocket};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("server: {0}")]
    Rocket(#[from] Box<rocket::Error>),
}

impl From<rocket::Error> for AppError {
    fn from(e: rocket::Error) -> Self {
        AppError::Rocket(Box::new(e))
    }
}

pub async fn build(_config: Config) -> Result<Rocket<Build>, AppError> {
    Ok(rocket::build())
}
