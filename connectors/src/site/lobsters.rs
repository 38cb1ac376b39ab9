//! `lobsters`: the stories a Lobsters user submitted, from the site's JSON pages
//! (`/newest/{user}.json`, older ones at `/newest/{user}/page/{n}.json`).

use serde_json::{Value, json};
use url::Url;

use super::{get_json, n, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, RawAuthor, RawItem};
use crate::{Connector, ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState};

pub const SITE_BASE: &str = "https://lobste.rs";
const MAX_PAGE: u64 = 20;

fn is_user(text: &str) -> bool {
    (1..=50).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn user_param(params: &Value) -> Result<String, ConnectorError> {
    let user = super::str_param(params, "user", "a Lobsters user name")?.trim_start_matches('~');
    if !is_user(user) {
        return Err(ConnectorError::Unsupported(format!(
            "`{user}` is not a Lobsters user name"
        )));
    }
    Ok(user.to_owned())
}

pub struct LobstersConnector;

#[async_trait::async_trait]
impl Connector for LobstersConnector {
    fn kind(&self) -> &'static str {
        "lobsters"
    }

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "lobsters",
            title: "Lobsters",
            description: "The stories a Lobsters user submitted, with score and comments",
            params: vec![ParamInfo {
                name: "user",
                help: "Lobsters user name",
                required: true,
            }],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://lobste.rs/~ana",
        }
    }

    fn recognize(&self, input: &str) -> Option<Value> {
        let url = super::loose_url(input)?;
        if super::bare_host(&url) != "lobste.rs" {
            return None;
        }
        let parts = super::segments(&url);
        let user = match parts.as_slice() {
            [tilde] | [tilde, _] if tilde.starts_with('~') => tilde.trim_start_matches('~'),
            [users, user] if users == "u" || users == "users" => user.as_str(),
            [newest, user] if newest == "newest" => user.trim_end_matches(".json"),
            _ => return None,
        };
        is_user(user).then(|| json!({ "user": user }))
    }

    fn validate(&self, params: &Value) -> Result<Value, ConnectorError> {
        Ok(json!({ "user": user_param(params)? }))
    }

    /// The user's profile page.
    fn addresses(&self, params: &Value) -> crate::SourceAddresses {
        crate::SourceAddresses {
            feed: None,
            page: user_param(params)
                .ok()
                .and_then(|user| Url::parse(&format!("{SITE_BASE}/~{user}")).ok()),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let user = user_param(params)?;
        let url = super::api_url(SITE_BASE, &format!("/newest/{user}.json"))?;
        let mut poll = fetch(http, url, 1, state).await?;
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
        let number = super::page_number(page, 2..=MAX_PAGE)?;
        let url = super::api_url(SITE_BASE, &format!("/newest/{user}/page/{number}.json"))?;
        fetch(http, url, number, &PollState::default()).await
    }
}

async fn fetch(
    http: &dyn Http,
    url: Url,
    page: u64,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    let request =
        FetchRequest::new(url, "application/json").with_validators(state.validators.clone());
    let (response, body) = get_json(http, request).await?;
    let mut poll = Poll {
        hint: response.hint,
        state: PollState {
            validators: response.validators.clone(),
            cursor: None,
        },
        ..Poll::default()
    };
    if response.status == 304 {
        poll.not_modified = true;
        return Ok(poll);
    }
    let stories = body
        .as_array()
        .ok_or_else(|| ConnectorError::Invalid("the answer is not a list of stories".into()))?;
    super::push_mapped(&mut poll, stories, "story", "has no id or date", map_story);
    if !stories.is_empty() && page < MAX_PAGE {
        poll.next_page = Some(json!({ "page": page + 1 }));
    }
    Ok(poll)
}

/// One story of a Lobsters JSON page as an item.
pub fn map_story(story: &Value) -> Option<RawItem> {
    let id = s(story, "/short_id").filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))?;
    let published = s(story, "/created_at").and_then(super::parse_time)?;
    let mut item = RawItem::new(format!("lobsters:{id}"));
    item.published = Some(published);
    item.title = s(story, "/title").map(str::to_owned);
    let discussion = s(story, "/comments_url")
        .or(s(story, "/short_id_url"))
        .and_then(super::http_url);
    match s(story, "/url").and_then(super::http_url) {
        Some(link) => {
            item.kind = ItemKind::Link;
            item.url = Some(link);
        }
        None => {
            item.kind = ItemKind::Note;
            item.url = discussion.clone();
        }
    }
    if let Some(discussion) = discussion {
        item.extra
            .insert("discussion_url".into(), discussion.as_str().into());
    }
    item.content = s(story, "/description").map(|d| Content::Html(d.to_owned()));
    if let Some(score) = n(story, "/score") {
        item.extra.insert("points".into(), score.into());
    }
    if let Some(comments) = n(story, "/comment_count") {
        item.extra.insert("comments".into(), comments.into());
    }
    item.tags = story
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // `submitter_user` is a name today and was an object with `username` before.
    let submitter = s(story, "/submitter_user").or(s(story, "/submitter_user/username"));
    if let Some(name) = submitter {
        item.author = Some(RawAuthor {
            name: Some(name.to_owned()),
            url: Url::parse(&format!("{SITE_BASE}/~{name}")).ok(),
            avatar: None,
        });
    }
    Some(item)
}
