//! `hackernews`: a Hacker News user's stories and comments, newest first, from the Algolia
//! search API (`search_by_date?tags=author_{user}`). Stories are links (or notes for Ask
//! HN), comments are comments; points and comment counts are kept as extra facts.

use serde_json::{Value, json};
use url::Url;

use super::{get_json, n, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, RawAuthor, RawItem};
use crate::{Connector, ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState};

pub const API_BASE: &str = "https://hn.algolia.com/api/v1";
/// Hits per page.
pub const HITS_PER_PAGE: u32 = 50;
/// Pages walked back at most.
const MAX_PAGE: u64 = 20;

fn is_user(text: &str) -> bool {
    (2..=15).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn user_param(params: &Value) -> Result<String, ConnectorError> {
    let user = super::str_param(params, "user", "a Hacker News user name such as pg")?;
    if !is_user(user) {
        return Err(ConnectorError::Unsupported(format!(
            "`{user}` is not a Hacker News user name"
        )));
    }
    Ok(user.to_owned())
}

fn search_url(user: &str, page: u64) -> Result<Url, ConnectorError> {
    let mut url = super::api_url(API_BASE, "/search_by_date")?;
    url.query_pairs_mut()
        .append_pair("tags", &format!("author_{user}"))
        .append_pair("hitsPerPage", &HITS_PER_PAGE.to_string());
    if page > 0 {
        url.query_pairs_mut().append_pair("page", &page.to_string());
    }
    Ok(url)
}

pub struct HackerNewsConnector;

#[async_trait::async_trait]
impl Connector for HackerNewsConnector {
    fn kind(&self) -> &'static str {
        "hackernews"
    }

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "hackernews",
            title: "Hacker News",
            description: "A Hacker News user's stories and comments, with points",
            params: vec![ParamInfo {
                name: "user",
                help: "Hacker News user name",
                required: true,
            }],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://news.ycombinator.com/user?id=pg",
        }
    }

    fn recognize(&self, input: &str) -> Option<Value> {
        let url = super::loose_url(input)?;
        if super::bare_host(&url) != "news.ycombinator.com" {
            return None;
        }
        if !matches!(url.path(), "/user" | "/submitted" | "/threads") {
            return None;
        }
        let user = super::query_param(&url, "id").filter(|u| is_user(u))?;
        Some(json!({ "user": user }))
    }

    fn validate(&self, params: &Value) -> Result<Value, ConnectorError> {
        Ok(json!({ "user": user_param(params)? }))
    }

    /// The user's profile page.
    fn addresses(&self, params: &Value) -> crate::SourceAddresses {
        crate::SourceAddresses {
            feed: None,
            page: user_param(params).ok().and_then(|user| {
                Url::parse(&format!("https://news.ycombinator.com/user?id={user}")).ok()
            }),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let user = user_param(params)?;
        let mut poll = fetch(http, &user, 0).await?;
        if poll.not_modified {
            poll.state = state.clone();
        }
        Ok(poll)
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &Value,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let user = user_param(params)?;
        let number = super::page_number(page, 1..=MAX_PAGE)?;
        fetch(http, &user, number).await
    }
}

async fn fetch(http: &dyn Http, user: &str, page: u64) -> Result<Poll, ConnectorError> {
    let request = FetchRequest::new(search_url(user, page)?, "application/json");
    let (response, body) = get_json(http, request).await?;
    let mut poll = Poll {
        hint: response.hint,
        ..Poll::default()
    };
    if response.status == 304 {
        poll.not_modified = true;
        return Ok(poll);
    }
    let hits = body
        .get("hits")
        .and_then(Value::as_array)
        .ok_or_else(|| ConnectorError::Invalid("the answer has no `hits` list".into()))?;
    super::push_mapped(&mut poll, hits, "hit", "has no id or date", map_hit);
    let n_pages = body.get("nbPages").and_then(Value::as_u64).unwrap_or(0);
    if page + 1 < n_pages && page < MAX_PAGE {
        poll.next_page = Some(json!({ "page": page + 1 }));
    }
    Ok(poll)
}

fn item_url(id: &str) -> Option<Url> {
    let mut url = Url::parse("https://news.ycombinator.com/item").ok()?;
    url.query_pairs_mut().append_pair("id", id);
    Some(url)
}

/// One search hit (a story or a comment) as an item.
pub fn map_hit(hit: &Value) -> Option<RawItem> {
    let id = match hit.get("objectID")? {
        Value::String(id) if id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return None,
    };
    let published = s(hit, "/created_at")
        .and_then(super::parse_time)
        .or_else(|| n(hit, "/created_at_i").and_then(super::unix_time))?;
    let tags: Vec<&str> = hit
        .get("_tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let discussion = item_url(&id);
    let mut item = RawItem::new(format!("hn:{id}"));
    item.published = Some(published);
    if let Some(author) = s(hit, "/author") {
        item.author = Some(RawAuthor {
            name: Some(author.to_owned()),
            url: Url::parse(&format!("https://news.ycombinator.com/user?id={author}")).ok(),
            avatar: None,
        });
    }
    if let Some(points) = n(hit, "/points") {
        item.extra.insert("points".into(), points.into());
    }
    if let Some(comments) = n(hit, "/num_comments") {
        item.extra.insert("comments".into(), comments.into());
    }
    if let Some(url) = &discussion {
        item.extra
            .insert("discussion_url".into(), url.as_str().into());
    }
    let is_comment =
        tags.contains(&"comment") || hit.get("comment_text").is_some_and(|c| c.is_string());
    if is_comment {
        item.kind = ItemKind::Comment;
        item.url = discussion;
        let story = s(hit, "/story_title").unwrap_or("a story");
        item.title = Some(format!("Comment on “{story}”"));
        item.content = s(hit, "/comment_text").map(|c| Content::Html(c.to_owned()));
        item.in_reply_to = hit
            .get("parent_id")
            .and_then(|p| {
                p.as_i64()
                    .map(|p| p.to_string())
                    .or(p.as_str().map(str::to_owned))
            })
            .and_then(|p| item_url(&p));
        return Some(item);
    }
    item.title = s(hit, "/title").map(str::to_owned);
    let link = s(hit, "/url").and_then(super::http_url);
    item.content = s(hit, "/story_text").map(|c| Content::Html(c.to_owned()));
    match link {
        Some(link) => {
            item.kind = ItemKind::Link;
            item.url = Some(link);
        }
        None => {
            item.kind = ItemKind::Note;
            item.url = discussion;
        }
    }
    Some(item)
}
