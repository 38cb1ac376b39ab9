//! Page handlers, one file per area, functions named `<page>_<method>`.

pub mod actor;
pub mod auth;
pub mod events;
pub mod federation;
pub mod fediverse;
pub mod feeds;
pub mod import;
pub mod inbox;
pub mod item;
pub mod media;
pub mod notifications;
pub mod posts;
pub mod profile;
pub mod rules;
pub mod search;
pub mod settings;
pub mod sources;
pub mod stream;
pub mod websub;
