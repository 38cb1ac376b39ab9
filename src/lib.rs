//! Tributary: a self-hosted, FriendFeed-style lifestream.
//!
//! Modules in reading order: `config` and `model` (plain data), `fetch` (the only outbound
//! network), `normalize` (pure), `store` (the only SQL), `schedule` (pure timing),
//! `ingest` (poll → normalize → store), `scheduler` (the loop), the `sources`, `users` and `posts` services (the one path for every
//! change a person asks for), `events` (the live-update hub), `web` (pages), `websub` (hub pings), `app` (the composition
//! root) and `cli`.

pub mod app;
pub mod archive;
pub mod auth;
pub mod canonical;
pub mod cli;
pub mod config;
pub mod events;
pub mod export;
pub mod federation;
pub mod fetch;
pub mod ingest;
pub mod instance_key;
pub mod media;
pub mod model;
pub mod normalize;
pub mod posts;
pub mod registry;
pub mod rules;
pub mod schedule;
pub mod scheduler;
pub mod search;
pub mod site_icon;
pub mod social;
pub mod sources;
pub mod store;
pub mod users;
pub mod web;
pub mod websub;
pub mod websub_in;
