//! Tributary's one integration-test binary: real SQLite files in temp dirs, a real fixture
//! HTTP server on 127.0.0.1, the real binary where a test needs a process.

mod archives;
mod browser;
mod conformance;
mod deletions;
mod export;
mod export_opml;
mod export_valid;
mod federation_inbox;
mod federation_peer;
mod fediverse;
mod fetch;
mod history;
mod ingest;
mod normalize;
mod one_path;
mod process;
mod recipes;
mod schema;
mod sites;
mod stored;
mod support;
mod tidy;
mod web_also_on;
mod web_auth;
mod web_cache;
mod web_federation;
mod web_fediverse_settings;
mod web_media;
mod web_pages;
mod web_settings;
mod web_sites;
mod web_social;
mod web_sources;
mod web_stream;
mod websub;
