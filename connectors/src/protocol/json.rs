//! The generic `json` connector: any JSON document with a list of items in it. The
//! parameters say where the list is (an RFC 6901 JSON pointer, `/data/items`) and where
//! each field of an item is: a pointer into the item (`/title`), or a template that mixes
//! text and pointers (`https://example.com/p/{/id}`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::ItemSpec;
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, Media, RawItem};
use crate::params::{optional, required};
use crate::{ConnectorError, ConnectorInfo, Http, Poll, PollState, TypedConnector};

/// Items kept from one document.
pub const MAX_ITEMS: usize = 500;
/// Longest pointer or template accepted.
const MAX_SPEC_CHARS: usize = 500;
/// A body larger than this is refused.
const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// Where the items and their fields are in a JSON document: pointers and templates.
pub type JsonSpec = ItemSpec;

impl ItemSpec {
    /// Reads and checks a spec from source parameters.
    pub fn from_params(params: &Value) -> Result<JsonSpec, ConnectorError> {
        crate::params::read::<JsonSpec>(params)?.checked()
    }

    /// Every pointer and template checked, `items` trimmed.
    pub fn checked(mut self) -> Result<JsonSpec, ConnectorError> {
        self.items = self.items.trim().to_owned();
        if !self.items.is_empty() && !self.items.starts_with('/') {
            return Err(ConnectorError::Unsupported(
                "`items` must be a JSON pointer such as /data/items".into(),
            ));
        }
        for (name, text) in self.fields() {
            check_template(text)
                .map_err(|why| ConnectorError::Unsupported(format!("`{name}` {why}")))?;
        }
        self.tells_items_apart()?;
        Ok(self)
    }
}

/// A field spec is a pointer (`/a/b`) or a template with `{/pointer}` parts.
fn check_template(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_SPEC_CHARS {
        return Err(format!("is longer than {MAX_SPEC_CHARS} characters"));
    }
    if text.starts_with('/') {
        return Ok(());
    }
    let mut rest = text;
    let mut n_parts = 0;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "has a `{` without its `}`".to_owned())?;
        if !after[..close].starts_with('/') {
            return Err(format!(
                "has `{{{}}}`, which must be a JSON pointer such as {{/id}}",
                &after[..close]
            ));
        }
        n_parts += 1;
        rest = &after[close + 1..];
    }
    if n_parts == 0 {
        return Err("must be a JSON pointer such as /title, or a template with {/id}".into());
    }
    Ok(())
}

/// The text a field spec gives for one item.
fn field_text(item: &Value, spec: &str) -> Option<String> {
    if spec.starts_with('/') {
        return scalar_text(item.pointer(spec)?);
    }
    let mut out = String::new();
    let mut rest = spec;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(&scalar_text(item.pointer(&after[..close])?)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// RFC 3339, RFC 2822, or unix seconds (milliseconds when it is too large for seconds).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = DateTime::parse_from_rfc2822(text) {
        return Some(time.with_timezone(&Utc));
    }
    let number = text
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)?;
    let secs = if number > 1e11 {
        number / 1000.0
    } else {
        number
    };
    DateTime::from_timestamp(secs as i64, 0)
}

/// Maps a parsed document to items; pure.
pub fn map_document(
    document: &Value,
    spec: &JsonSpec,
    base: &Url,
) -> Result<(Vec<RawItem>, Vec<String>), ConnectorError> {
    let list = if spec.items.is_empty() {
        Some(document)
    } else {
        document.pointer(&spec.items)
    };
    let list = list.and_then(Value::as_array).ok_or_else(|| {
        ConnectorError::Invalid(format!(
            "there is no list of items at `{}`",
            if spec.items.is_empty() {
                "/"
            } else {
                &spec.items
            }
        ))
    })?;
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    if list.len() > MAX_ITEMS {
        warnings.push(format!(
            "{} items in the document; only the first {MAX_ITEMS} are read",
            list.len()
        ));
    }
    for (idx, entry) in list.iter().take(MAX_ITEMS).enumerate() {
        let get = |spec: &Option<String>| spec.as_deref().and_then(|s| field_text(entry, s));
        let link = get(&spec.link)
            .and_then(|l| base.join(&l).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        let title = get(&spec.title);
        let id = get(&spec.id)
            .or_else(|| link.as_ref().map(|l| l.to_string()))
            .or_else(|| {
                title
                    .as_ref()
                    .map(|t| format!("{:x}", Sha256::digest(t.as_bytes())))
            });
        let Some(id) = id else {
            warnings.push(format!("item {idx} has no id, link or title; skipped"));
            continue;
        };
        let mut item = RawItem::new(id);
        item.url = link;
        item.title = title;
        item.published = get(&spec.date).and_then(|d| parse_date(&d));
        item.content = get(&spec.content).map(Content::Html);
        if let Some(image) = get(&spec.image)
            .and_then(|i| base.join(&i).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        {
            item.media.push(Media::at(image));
        }
        item.kind = spec.kind.unwrap_or(if item.media.is_empty() {
            if item.url.is_some() && item.content.is_none() {
                ItemKind::Link
            } else {
                ItemKind::Note
            }
        } else {
            ItemKind::Photo
        });
        items.push(item);
    }
    Ok((items, warnings))
}

/// Fetches and maps one JSON document.
pub async fn poll_request(
    http: &dyn Http,
    request: FetchRequest,
    spec: &JsonSpec,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    super::poll_document(http, request, MAX_JSON_BYTES, state, |response| {
        let document: Value = serde_json::from_slice(&response.body)
            .map_err(|err| ConnectorError::Invalid(format!("not JSON: {err}")))?;
        map_document(&document, spec, &response.final_url)
    })
    .await
}

pub struct JsonConnector;

#[async_trait::async_trait]
impl TypedConnector for JsonConnector {
    type Params = JsonSpec;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "json",
            title: "JSON",
            description: "Any JSON document with a list of items, mapped with JSON pointers",
            params: vec![
                required("url", "Address of the JSON document"),
                optional(
                    "items",
                    "JSON pointer to the list of items, e.g. /data/items (empty: the document is the list)",
                ),
                optional(
                    "id",
                    "Pointer (/id) or template ({/id}) of an item's stable id",
                ),
                optional("title", "Pointer or template of the title"),
                optional(
                    "link",
                    "Pointer or template of the permalink, e.g. https://example.com/p/{/slug}",
                ),
                optional(
                    "date",
                    "Pointer to the date (RFC 3339, RFC 2822 or unix seconds)",
                ),
                optional("content", "Pointer to the body (HTML; sanitized)"),
                optional("image", "Pointer to an image URL"),
                optional("kind", "Kind of every item: note, article, photo, link…"),
            ],
            default_schedule: None,
            can_backfill: false,
            example_input: "--kind json https://api.example/posts.json (with items=/posts title=/title link=/url)",
        }
    }

    /// Never recognizes pasted text: a JSON URL says nothing about where its items are.
    fn recognize(&self, _input: &str) -> Option<JsonSpec> {
        None
    }

    fn check(&self, params: JsonSpec) -> Result<JsonSpec, ConnectorError> {
        params.url("the JSON document")?;
        params.checked()
    }

    async fn poll(
        &self,
        http: &dyn Http,
        spec: &JsonSpec,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let url = spec.url("the JSON document")?;
        poll_request(
            http,
            FetchRequest::new(url, "application/json"),
            spec,
            state,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://api.example/v1/posts.json").unwrap()
    }

    #[test]
    fn maps_items_with_pointers_and_templates() {
        let doc = json!({"data": {"posts": [
            {"id": 7, "t": "Hello", "slug": "hello", "at": "2026-03-01T10:00:00Z", "body": "<p>x</p>", "img": "/i/7.png"},
            {"id": 8, "t": "No date", "slug": "nd", "at": 1767225600},
            {"junk": true}
        ]}});
        let spec = JsonSpec::from_params(&json!({
            "items": "/data/posts", "id": "/id", "title": "/t",
            "link": "https://example.com/p/{/slug}", "date": "/at",
            "content": "/body", "image": "/img"
        }))
        .unwrap();
        let (items, warnings) = map_document(&doc, &spec, &base()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(warnings.len(), 1);
        assert_eq!(items[0].external_id, "7");
        assert_eq!(
            items[0].url.as_ref().unwrap().as_str(),
            "https://example.com/p/hello"
        );
        assert_eq!(
            items[0].media[0].url.as_str(),
            "https://api.example/i/7.png"
        );
        assert_eq!(items[0].kind, ItemKind::Photo);
        assert_eq!(items[1].published.unwrap().timestamp(), 1767225600);
    }

    #[test]
    fn bad_specs_are_named() {
        let err = JsonSpec::from_params(&json!({"items": "data", "id": "/id"})).unwrap_err();
        assert!(err.to_string().contains("items"), "{err}");
        let err = JsonSpec::from_params(&json!({"title": "{title}"})).unwrap_err();
        assert!(err.to_string().contains("title"), "{err}");
        let err = JsonSpec::from_params(&json!({"date": "/d"})).unwrap_err();
        assert!(err.to_string().contains("tell items apart"), "{err}");
        let err = JsonSpec::from_params(&json!({"id": "/id", "kind": "poem"})).unwrap_err();
        assert!(err.to_string().contains("kind"), "{err}");
    }

    #[test]
    fn missing_list_is_invalid() {
        let spec = JsonSpec::from_params(&json!({"items": "/nope", "id": "/id"})).unwrap();
        assert!(map_document(&json!({}), &spec, &base()).is_err());
        assert!(map_document(&json!({"nope": 3}), &spec, &base()).is_err());
    }
}
