//! Local stand-ins for outside services, for tests and `auth-eid demo`.

pub mod card;
pub mod smart_id;
