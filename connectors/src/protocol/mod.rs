//! Protocol connectors: formats shared by many sites.

pub mod feed;
