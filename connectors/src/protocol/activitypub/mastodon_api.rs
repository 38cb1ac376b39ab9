//! The Mastodon REST API as a fallback route: `/api/v1/accounts/lookup` and
//! `/api/v1/accounts/{id}/statuses`, for servers whose outbox refuses us even signed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use super::json::{http_url, plain_text, same_origin, small_number, string};
use super::object::{
    EXTRA_CONTENT_WARNING, EXTRA_SHARED_FROM, MAX_CONTENT_WARNING_CHARS, MAX_MEDIA_PER_ITEM,
    MAX_TAGS_PER_ITEM, with_poll_options,
};
use crate::item::{Content, ItemKind, Media, RawAuthor, RawItem};

/// `Accept` for the REST API.
pub const ACCEPT_JSON: &str = "application/json";
/// Statuses asked for per request (Mastodon's maximum).
pub const STATUSES_PER_PAGE: usize = 40;

pub fn lookup_url(origin: &Url, user: &str) -> Option<Url> {
    let mut url = origin.join("/api/v1/accounts/lookup").ok()?;
    url.query_pairs_mut().append_pair("acct", user);
    Some(url)
}

pub fn statuses_url(origin: &Url, account_id: &str, max_id: Option<&str>) -> Option<Url> {
    if account_id.is_empty() || !account_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut url = origin
        .join(&format!("/api/v1/accounts/{account_id}/statuses"))
        .ok()?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("exclude_replies", "true")
            .append_pair("limit", &STATUSES_PER_PAGE.to_string());
        if let Some(max_id) = max_id {
            query.append_pair("max_id", max_id);
        }
    }
    Some(url)
}

/// The account of a lookup answer: its id, and the author it makes.
pub fn parse_account(bytes: &[u8]) -> Result<(String, RawAuthor, Option<String>), String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
    let id = string(&doc, "id")
        .filter(|id| !id.is_empty())
        .ok_or("the account lookup has no id")?;
    let display = string(&doc, "display_name")
        .map(|n| plain_text(n, 200))
        .filter(|n| !n.is_empty());
    Ok((id.to_owned(), author(&doc), display))
}

fn author(account: &Value) -> RawAuthor {
    RawAuthor {
        name: string(account, "display_name")
            .map(|n| plain_text(n, 200))
            .filter(|n| !n.is_empty())
            .or_else(|| string(account, "acct").map(str::to_owned)),
        url: string(account, "url").and_then(http_url),
        avatar: string(account, "avatar").and_then(http_url),
    }
}

/// The statuses of one page, mapped; the ids of refused ones go to `warnings`. Also the
/// smallest status id, the `max_id` of the next older page.
pub fn parse_statuses(
    bytes: &[u8],
    origin: &Url,
    include_replies: bool,
    warnings: &mut Vec<String>,
) -> Result<(Vec<RawItem>, Option<String>), String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
    let statuses = doc.as_array().ok_or("the statuses answer is not a list")?;
    let mut items = Vec::new();
    let mut oldest: Option<String> = None;
    for status in statuses {
        if let Some(id) = string(status, "id") {
            oldest = Some(id.to_owned());
        }
        let visibility = string(status, "visibility").unwrap_or("");
        if !matches!(visibility, "public" | "unlisted") {
            continue;
        }
        if !include_replies && status.get("in_reply_to_id").is_some_and(|v| !v.is_null()) {
            continue;
        }
        match map_status(status, origin) {
            Some(item) => items.push(item),
            None => warnings.push(format!(
                "status {} has no usable uri on {origin}; dropped",
                string(status, "id").unwrap_or("?")
            )),
        }
    }
    Ok((items, oldest))
}

fn map_status(status: &Value, origin: &Url) -> Option<RawItem> {
    let uri = string(status, "uri").and_then(http_url)?;
    if !same_origin(&uri, origin) {
        return None;
    }
    let shared = status.get("reblog").filter(|r| r.is_object());
    let body = shared.unwrap_or(status);
    let mut item = RawItem::new(uri.as_str());
    item.url = string(body, "url")
        .and_then(http_url)
        .or_else(|| string(body, "uri").and_then(http_url));
    item.published = date(status, "created_at");
    item.updated = if shared.is_none() {
        date(status, "edited_at")
    } else {
        None
    };
    item.author = status.get("account").map(author);
    item.content = string(body, "content")
        .filter(|c| !c.trim().is_empty())
        .map(|c| Content::Html(poll_html(body, c)));
    if let Some(cw) = string(body, "spoiler_text")
        .map(|s| plain_text(s, MAX_CONTENT_WARNING_CHARS))
        .filter(|s| !s.is_empty())
        .or_else(|| {
            (body.get("sensitive").and_then(Value::as_bool) == Some(true))
                .then(|| "Sensitive content".to_owned())
        })
    {
        item.extra
            .insert(EXTRA_CONTENT_WARNING.to_owned(), Value::String(cw));
    }
    for attachment in body
        .get("media_attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_MEDIA_PER_ITEM)
    {
        let Some(url) = string(attachment, "url").and_then(http_url) else {
            continue;
        };
        let kind = string(attachment, "type").unwrap_or("");
        let original = attachment.get("meta").and_then(|m| m.get("original"));
        item.media.push(Media {
            url,
            media_type: match kind {
                "image" => Some("image/*".to_owned()),
                "video" | "gifv" => Some("video/*".to_owned()),
                "audio" => Some("audio/*".to_owned()),
                _ => None,
            },
            width: original.and_then(|o| small_number(o, "width")),
            height: original.and_then(|o| small_number(o, "height")),
            length: None,
            thumbnail: string(attachment, "preview_url").and_then(http_url),
            alt: string(attachment, "description")
                .map(|d| plain_text(d, 1500))
                .filter(|d| !d.is_empty()),
        });
    }
    for tag in body
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_TAGS_PER_ITEM)
    {
        if let Some(name) = string(tag, "name").map(|n| plain_text(n, 100)) {
            item.tags.push(name);
        }
    }
    item.kind = match item.media.first().and_then(|m| m.media_type.as_deref()) {
        Some(t) if t.starts_with("image") => ItemKind::Photo,
        Some(t) if t.starts_with("video") => ItemKind::Video,
        Some(t) if t.starts_with("audio") => ItemKind::Audio,
        _ => ItemKind::Note,
    };
    if let Some(shared) = shared {
        item.kind = ItemKind::Share;
        let mut from = serde_json::Map::new();
        if let Some(account) = shared.get("account") {
            let original = author(account);
            if let Some(name) = original.name {
                from.insert("name".to_owned(), Value::String(name));
            }
            if let Some(url) = original.url {
                from.insert("url".to_owned(), Value::String(url.to_string()));
            }
        }
        item.extra
            .insert(EXTRA_SHARED_FROM.to_owned(), Value::Object(from));
    }
    Some(item)
}

fn poll_html(body: &Value, content: &str) -> String {
    let options = body
        .get("poll")
        .and_then(|p| p.get("options"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| string(o, "title"));
    with_poll_options(content.to_owned(), options)
}

fn date(doc: &Value, key: &str) -> Option<DateTime<Utc>> {
    string(doc, key)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_public_posts_and_shares_only() {
        let origin = Url::parse("https://social.example").unwrap();
        let body = br#"[
          {"id":"3","uri":"https://social.example/users/ana/statuses/3","url":"https://social.example/@ana/3",
           "created_at":"2026-11-01T10:00:00.000Z","visibility":"public","content":"<p>hi #x</p>",
           "spoiler_text":"food","sensitive":true,"in_reply_to_id":null,
           "media_attachments":[{"type":"image","url":"https://files.example/a.png","description":"a cat","meta":{"original":{"width":640,"height":480}}}],
           "tags":[{"name":"x"}],"account":{"display_name":"Ana","url":"https://social.example/@ana"}},
          {"id":"2","uri":"https://social.example/users/ana/statuses/2","visibility":"private","content":"secret"},
          {"id":"1","uri":"https://social.example/users/ana/statuses/1/activity","visibility":"public","content":"",
           "reblog":{"uri":"https://other.example/notes/9","url":"https://other.example/@bo/9","content":"<p>bo said</p>",
             "account":{"display_name":"Bo","url":"https://other.example/@bo"}}},
          {"id":"0","uri":"https://evil.example/x","visibility":"public","content":"spoof"}
        ]"#;
        let mut warnings = Vec::new();
        let (items, oldest) = parse_statuses(body, &origin, false, &mut warnings).unwrap();
        assert_eq!(oldest.as_deref(), Some("0"));
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, ItemKind::Photo);
        assert_eq!(items[0].media[0].alt.as_deref(), Some("a cat"));
        assert_eq!(items[0].extra[EXTRA_CONTENT_WARNING], "food");
        assert_eq!(items[1].kind, ItemKind::Share);
        assert_eq!(items[1].extra[EXTRA_SHARED_FROM]["name"], "Bo");
        assert_eq!(warnings.len(), 1);
        assert!(parse_statuses(b"{}", &origin, false, &mut warnings).is_err());
    }
}
