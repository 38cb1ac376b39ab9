//! `hackernews`: a Hacker News user's stories and comments, newest first, from the Algolia
//! search API (`search_by_date?tags=author_{user}`). Stories are links (or notes for Ask
//! HN), comments are comments; points and comment counts are kept as extra facts.

use serde_json::Value;
use url::Url;

use super::{ListShape, Listed, UserParams, n, poll_list, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, RawItem};
use crate::params::required;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, TypedConnector,
};

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

const LIST: ListShape = ListShape {
    pointer: "/hits",
    element: "hit",
    missing: "has no id or date",
    no_list: "the answer has no `hits` list",
};

#[async_trait::async_trait]
impl TypedConnector for HackerNewsConnector {
    type Params = UserParams;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "hackernews",
            title: "Hacker News",
            description: "A Hacker News user's stories and comments, with points",
            params: vec![required("user", "Hacker News user name")],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://news.ycombinator.com/user?id=pg",
        }
    }

    fn recognize(&self, input: &str) -> Option<UserParams> {
        let url = super::site_url(input, "news.ycombinator.com")?;
        if !matches!(url.path(), "/user" | "/submitted" | "/threads") {
            return None;
        }
        let user = super::query_param(&url, "id").filter(|u| is_user(u))?;
        Some(UserParams::new(&user))
    }

    fn check(&self, params: UserParams) -> Result<UserParams, ConnectorError> {
        params.checked(
            &[],
            is_user,
            "Hacker News",
            "a Hacker News user name such as pg",
        )
    }

    /// The user's profile page.
    fn addresses(&self, params: &UserParams) -> SourceAddresses {
        SourceAddresses {
            feed: None,
            page: profile_url(&params.user),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &UserParams,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        fetch(http, &params.user, 0, state).await
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &UserParams,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let number = super::page_number(page, 1..=MAX_PAGE)?;
        fetch(http, &params.user, number, &PollState::default()).await
    }
}

async fn fetch(
    http: &dyn Http,
    user: &str,
    page: u64,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    let request = FetchRequest::new(search_url(user, page)?, "application/json");
    let Listed { mut poll, body, .. } = poll_list(http, request, state, &LIST, map_hit).await?;
    let n_pages = body.get("nbPages").and_then(Value::as_u64).unwrap_or(0);
    poll.next_page = super::next_page(page + 1 < n_pages, page, MAX_PAGE);
    Ok(poll)
}

fn profile_url(user: &str) -> Option<Url> {
    Url::parse(&format!("https://news.ycombinator.com/user?id={user}")).ok()
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
    item.author = s(hit, "/author").map(|author| super::author(author, profile_url(author)));
    let (points, comments) = (n(hit, "/points"), n(hit, "/num_comments"));
    let is_comment =
        tags.contains(&"comment") || hit.get("comment_text").is_some_and(|c| c.is_string());
    if is_comment {
        super::story_into(&mut item, None, discussion, points, comments);
        item.kind = ItemKind::Comment;
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
    } else {
        let link = s(hit, "/url").and_then(super::http_url);
        super::story_into(&mut item, link, discussion, points, comments);
        item.title = s(hit, "/title").map(str::to_owned);
        item.content = s(hit, "/story_text").map(|c| Content::Html(c.to_owned()));
    }
    Some(item)
}
