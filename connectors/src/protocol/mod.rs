//! Protocol connectors: formats shared by many sites.

pub mod activitypub;
pub mod discover;
pub mod feed;
pub mod html;
pub mod json;
