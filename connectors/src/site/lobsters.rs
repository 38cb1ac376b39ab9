//! `lobsters`: the stories a Lobsters user submitted, from the site's JSON pages
//! (`/newest/{user}.json`, older ones at `/newest/{user}/page/{n}.json`).

use serde_json::Value;
use url::Url;

use super::{ListShape, Listed, UserParams, n, poll_list, s};
use crate::http::FetchRequest;
use crate::item::{Content, RawItem};
use crate::params::required;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, TypedConnector,
};

pub const SITE_BASE: &str = "https://lobste.rs";
const MAX_PAGE: u64 = 20;

fn is_user(text: &str) -> bool {
    (1..=50).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub struct LobstersConnector;

const LIST: ListShape = ListShape {
    pointer: "",
    element: "story",
    missing: "has no id or date",
    no_list: "the answer is not a list of stories",
};

#[async_trait::async_trait]
impl TypedConnector for LobstersConnector {
    type Params = UserParams;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "lobsters",
            title: "Lobsters",
            description: "The stories a Lobsters user submitted, with score and comments",
            params: vec![required("user", "Lobsters user name")],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://lobste.rs/~ana",
        }
    }

    fn recognize(&self, input: &str) -> Option<UserParams> {
        let url = super::site_url(input, "lobste.rs")?;
        let parts = super::segments(&url);
        let user = match parts.as_slice() {
            [tilde] | [tilde, _] if tilde.starts_with('~') => tilde.trim_start_matches('~'),
            [users, user] if users == "u" || users == "users" => user.as_str(),
            [newest, user] if newest == "newest" => user.trim_end_matches(".json"),
            _ => return None,
        };
        is_user(user).then(|| UserParams::new(user))
    }

    fn check(&self, params: UserParams) -> Result<UserParams, ConnectorError> {
        params.checked(&['~'], is_user, "Lobsters", "a Lobsters user name")
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
        let url = super::api_url(SITE_BASE, &format!("/newest/{}.json", params.user))?;
        fetch(http, url, 1, state).await
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &UserParams,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let number = super::page_number(page, 2..=MAX_PAGE)?;
        let path = format!("/newest/{}/page/{number}.json", params.user);
        fetch(
            http,
            super::api_url(SITE_BASE, &path)?,
            number,
            &PollState::default(),
        )
        .await
    }
}

async fn fetch(
    http: &dyn Http,
    url: Url,
    page: u64,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    let request = FetchRequest::new(url, "application/json");
    let Listed {
        mut poll, n_listed, ..
    } = poll_list(http, request, state, &LIST, map_story).await?;
    poll.next_page = super::next_page(n_listed > 0, page, MAX_PAGE);
    Ok(poll)
}

fn profile_url(user: &str) -> Option<Url> {
    Url::parse(&format!("{SITE_BASE}/~{user}")).ok()
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
    let link = s(story, "/url").and_then(super::http_url);
    let (points, comments) = (n(story, "/score"), n(story, "/comment_count"));
    super::story_into(&mut item, link, discussion, points, comments);
    item.content = s(story, "/description").map(|d| Content::Html(d.to_owned()));
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
    item.author = submitter.map(|name| super::author(name, profile_url(name)));
    Some(item)
}
