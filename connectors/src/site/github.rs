//! `github`: a user's public events (`GET /users/{user}/events/public`), each with a title
//! in words: "Pushed 3 commits to ana/repo", "Opened issue #12 “…” in ana/repo".
//!
//! Etiquette: the ETag is sent back (a 304 costs no quota), `X-Poll-Interval` is obeyed,
//! and when `X-RateLimit-Remaining` runs low the next poll waits for `X-RateLimit-Reset`.
//! Unauthenticated clients get 60 requests an hour per address; a token from the config
//! raises that to 5,000.

use chrono::Utc;
use serde_json::{Value, json};
use url::Url;

use super::{escape_html, n, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, RawAuthor, RawItem};
use crate::{Connector, ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState};

/// The API host. Tests reach the fixture server through a rewriting `Http`, never through
/// a parameter: a parameter could send the token elsewhere.
pub const API_BASE: &str = "https://api.github.com";
/// Events per page (the API's maximum).
pub const PER_PAGE: u32 = 100;
/// With this few requests left in the hour, the next poll waits for the reset.
pub const LOW_REMAINING: i64 = 10;
/// Commits listed in a push's body.
const MAX_COMMITS_SHOWN: usize = 20;
/// Pages walked back (the API keeps at most 300 events).
const MAX_PAGE: u64 = 3;

/// GitHub user and organization names: alphanumeric and single inner hyphens, ≤ 39.
fn is_login(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 39
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

/// First path segments of github.com that are pages, not people.
const RESERVED: &[&str] = &[
    "about",
    "account",
    "apps",
    "blog",
    "codespaces",
    "collections",
    "contact",
    "customer-stories",
    "dashboard",
    "enterprise",
    "events",
    "explore",
    "features",
    "home",
    "issues",
    "join",
    "login",
    "logout",
    "marketplace",
    "new",
    "notifications",
    "orgs",
    "organizations",
    "pricing",
    "pulls",
    "readme",
    "search",
    "security",
    "sessions",
    "settings",
    "signup",
    "site",
    "sponsors",
    "stars",
    "team",
    "topics",
    "trending",
];

#[derive(Default)]
pub struct GitHubConnector {
    token: Option<String>,
}

impl GitHubConnector {
    pub fn with_token(token: Option<String>) -> GitHubConnector {
        GitHubConnector {
            token: token.filter(|t| !t.trim().is_empty()),
        }
    }

    fn request(&self, url: Url) -> FetchRequest {
        let mut request = FetchRequest::new(url, "application/vnd.github+json")
            .with_header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.token {
            request = request.with_header("Authorization", format!("Bearer {}", token.trim()));
        }
        request
    }
}

fn user_param(params: &Value) -> Result<String, ConnectorError> {
    let user = super::str_param(params, "user", "a GitHub user name such as octocat")?;
    let user = user.trim_start_matches('@');
    if !is_login(user) {
        return Err(ConnectorError::Unsupported(format!(
            "`{user}` is not a GitHub user name"
        )));
    }
    Ok(user.to_owned())
}

fn events_url(user: &str, page: u64) -> Result<Url, ConnectorError> {
    let mut url = super::api_url(API_BASE, &format!("/users/{user}/events/public"))?;
    url.query_pairs_mut()
        .append_pair("per_page", &PER_PAGE.to_string());
    if page > 1 {
        url.query_pairs_mut().append_pair("page", &page.to_string());
    }
    Ok(url)
}

#[async_trait::async_trait]
impl Connector for GitHubConnector {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "github",
            title: "GitHub",
            description: "A GitHub user's public activity: pushes, issues, pull requests, stars, releases",
            params: vec![ParamInfo {
                name: "user",
                help: "GitHub user name",
                required: true,
            }],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://github.com/octocat",
        }
    }

    fn recognize(&self, input: &str) -> Option<Value> {
        let url = super::loose_url(input)?;
        if super::bare_host(&url) != "github.com" {
            return None;
        }
        let parts = super::segments(&url);
        match parts.as_slice() {
            [user] if is_login(user) && !RESERVED.contains(&user.to_ascii_lowercase().as_str()) => {
                Some(json!({ "user": user }))
            }
            _ => None,
        }
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
                .and_then(|user| Url::parse(&format!("https://github.com/{user}")).ok()),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let user = user_param(params)?;
        let request = self
            .request(events_url(&user, 1)?)
            .with_validators(state.validators.clone());
        let mut poll = self.fetch(http, request).await?;
        if poll.not_modified {
            let mut kept = state.clone();
            if poll.state.validators.etag.is_some() {
                kept.validators.etag = poll.state.validators.etag.clone();
            }
            poll.state = kept;
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
        let mut poll = self
            .fetch(http, self.request(events_url(&user, number)?))
            .await?;
        poll.state = PollState::default();
        Ok(poll)
    }
}

impl GitHubConnector {
    async fn fetch(&self, http: &dyn Http, request: FetchRequest) -> Result<Poll, ConnectorError> {
        let page = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(1);
        let response = http.get(request).await?;
        let now = Utc::now();
        let mut hint = response.hint;
        if let Some(secs) = response
            .header("x-poll-interval")
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            hint = hint.max(super::hint_in(secs, now));
        }
        let remaining = response
            .header("x-ratelimit-remaining")
            .and_then(|v| v.trim().parse::<i64>().ok());
        let reset = response
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<i64>().ok());
        let reset_hint = reset.map(|at| super::hint_at_unix(at, now));
        if let (Some(left), Some(reset_hint)) = (remaining, reset_hint)
            && left <= LOW_REMAINING
        {
            hint = hint.max(reset_hint);
        }
        // GitHub answers an exhausted quota with 403 (or 429) and X-RateLimit-Remaining: 0.
        if matches!(response.status, 403 | 429) && (remaining == Some(0) || response.status == 429)
        {
            return Err(ConnectorError::RateLimited {
                retry_after: hint.max(reset_hint.unwrap_or_default()).not_before,
            });
        }
        if response.status == 404 {
            return Err(ConnectorError::Invalid(
                "GitHub has no such user (HTTP 404)".into(),
            ));
        }
        let (response, body) = get_json_from(response)?;
        if response.status == 304 {
            return Ok(Poll {
                not_modified: true,
                hint,
                state: PollState {
                    validators: response.validators,
                    cursor: None,
                },
                ..Poll::default()
            });
        }
        let Some(events) = body.as_array() else {
            return Err(ConnectorError::Invalid(
                "GitHub's events answer is not a list".into(),
            ));
        };
        let mut poll = Poll {
            hint,
            state: PollState {
                validators: response.validators.clone(),
                cursor: None,
            },
            ..Poll::default()
        };
        for (idx, event) in events.iter().enumerate() {
            match map_event(event) {
                Some(item) => poll.items.push(item),
                None => poll
                    .warnings
                    .push(format!("event {idx} has no id, type or date; skipped")),
            }
        }
        // `Link: <…&page=2>; rel="next"` says there is more.
        let has_next = response
            .header("link")
            .is_some_and(|link| link.contains("rel=\"next\""));
        if has_next && page < MAX_PAGE {
            poll.next_page = Some(json!({ "page": page + 1 }));
        }
        Ok(poll)
    }
}

/// [`get_json`]'s classification, for a response already in hand.
fn get_json_from(
    response: crate::FetchResponse,
) -> Result<(crate::FetchResponse, Value), ConnectorError> {
    if response.status == 304 {
        return Ok((response, Value::Null));
    }
    let response = response.check_status()?;
    let value = serde_json::from_slice(&response.body)
        .map_err(|err| ConnectorError::Invalid(format!("GitHub answered with bad JSON: {err}")))?;
    Ok((response, value))
}

fn repo_url(repo: &str) -> Option<Url> {
    Url::parse(&format!("https://github.com/{repo}")).ok()
}

fn quoted(text: &str) -> String {
    format!("“{}”", super::title_from_text(text, 80).unwrap_or_default())
}

/// One event as an item; `None` without id, type or date.
pub fn map_event(event: &Value) -> Option<RawItem> {
    let id = match event.get("id")? {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return None,
    };
    let kind_name = s(event, "/type")?;
    let published = super::parse_time(s(event, "/created_at")?)?;
    let repo = s(event, "/repo/name").unwrap_or("a repository");
    let payload = event.get("payload").cloned().unwrap_or(Value::Null);
    let mut item = RawItem::new(format!("github:{id}"));
    item.published = Some(published);
    item.kind = ItemKind::Code;
    item.url = repo_url(repo);
    item.extra.insert("repo".into(), repo.into());
    item.extra.insert("event".into(), kind_name.into());
    if let Some(login) = s(event, "/actor/display_login").or_else(|| s(event, "/actor/login")) {
        item.author = Some(RawAuthor {
            name: Some(login.to_owned()),
            url: Url::parse(&format!("https://github.com/{login}")).ok(),
            avatar: s(event, "/actor/avatar_url").and_then(super::http_url),
        });
    }
    let action = s(&payload, "/action").unwrap_or("");
    let title = match kind_name {
        "PushEvent" => {
            let commits = payload
                .get("commits")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let size = n(&payload, "/size")
                .or(n(&payload, "/distinct_size"))
                .unwrap_or(commits.len() as i64);
            let branch = s(&payload, "/ref")
                .map(|r| r.trim_start_matches("refs/heads/").to_owned())
                .unwrap_or_default();
            item.extra.insert("commits".into(), size.into());
            let mut html = String::from("<ul>");
            for commit in commits.iter().take(MAX_COMMITS_SHOWN) {
                let sha = s(commit, "/sha").unwrap_or("");
                let message = s(commit, "/message")
                    .and_then(|m| super::title_from_text(m, 200))
                    .unwrap_or_default();
                let short: String = sha.chars().take(7).collect();
                html.push_str(&format!(
                    "<li><a href=\"https://github.com/{}/commit/{}\"><code>{}</code></a> {}</li>",
                    escape_html(repo),
                    escape_html(sha),
                    escape_html(&short),
                    escape_html(&message)
                ));
            }
            html.push_str("</ul>");
            if !commits.is_empty() {
                item.content = Some(Content::Html(html));
            }
            if let (Some(before), Some(head)) = (s(&payload, "/before"), s(&payload, "/head")) {
                item.url = Url::parse(&format!(
                    "https://github.com/{repo}/compare/{}...{}",
                    before.chars().take(12).collect::<String>(),
                    head.chars().take(12).collect::<String>()
                ))
                .ok()
                .or(item.url);
            }
            let noun = if size == 1 { "commit" } else { "commits" };
            if branch.is_empty() {
                format!("Pushed {size} {noun} to {repo}")
            } else {
                format!("Pushed {size} {noun} to {repo} ({branch})")
            }
        }
        "IssuesEvent" => {
            let number = n(&payload, "/issue/number").unwrap_or(0);
            let issue_title = quoted(s(&payload, "/issue/title").unwrap_or(""));
            item.url = s(&payload, "/issue/html_url")
                .and_then(super::http_url)
                .or(item.url);
            format!(
                "{} issue #{number} {issue_title} in {repo}",
                capital(action)
            )
        }
        "PullRequestEvent" => {
            let number = n(&payload, "/number")
                .or(n(&payload, "/pull_request/number"))
                .unwrap_or(0);
            let pr_title = quoted(s(&payload, "/pull_request/title").unwrap_or(""));
            item.url = s(&payload, "/pull_request/html_url")
                .and_then(super::http_url)
                .or(item.url);
            let merged = payload
                .pointer("/pull_request/merged")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let verb = if action == "closed" && merged {
                "Merged".to_owned()
            } else {
                capital(action)
            };
            format!("{verb} pull request #{number} {pr_title} in {repo}")
        }
        "IssueCommentEvent" => {
            item.kind = ItemKind::Comment;
            let number = n(&payload, "/issue/number").unwrap_or(0);
            let issue_title = quoted(s(&payload, "/issue/title").unwrap_or(""));
            item.url = s(&payload, "/comment/html_url")
                .and_then(super::http_url)
                .or(item.url);
            item.in_reply_to = s(&payload, "/issue/html_url").and_then(super::http_url);
            item.content = s(&payload, "/comment/body").map(|b| Content::Text(b.to_owned()));
            format!("Commented on #{number} {issue_title} in {repo}")
        }
        "PullRequestReviewEvent" | "PullRequestReviewCommentEvent" => {
            item.kind = ItemKind::Comment;
            let number = n(&payload, "/pull_request/number").unwrap_or(0);
            let pr_title = quoted(s(&payload, "/pull_request/title").unwrap_or(""));
            item.url = s(&payload, "/review/html_url")
                .or(s(&payload, "/comment/html_url"))
                .and_then(super::http_url)
                .or(item.url);
            item.content = s(&payload, "/comment/body")
                .or(s(&payload, "/review/body"))
                .map(|b| Content::Text(b.to_owned()));
            format!("Reviewed pull request #{number} {pr_title} in {repo}")
        }
        "WatchEvent" => {
            item.kind = ItemKind::Like;
            format!("Starred {repo}")
        }
        "ForkEvent" => {
            item.kind = ItemKind::Share;
            let fork = s(&payload, "/forkee/full_name").unwrap_or("");
            item.url = s(&payload, "/forkee/html_url")
                .and_then(super::http_url)
                .or(item.url);
            if fork.is_empty() {
                format!("Forked {repo}")
            } else {
                format!("Forked {repo} to {fork}")
            }
        }
        "ReleaseEvent" => {
            let tag = s(&payload, "/release/tag_name").unwrap_or("");
            item.url = s(&payload, "/release/html_url")
                .and_then(super::http_url)
                .or(item.url);
            item.content = s(&payload, "/release/body").map(|b| Content::Text(b.to_owned()));
            match s(&payload, "/release/name").filter(|name| *name != tag) {
                Some(name) => format!("Released {tag} of {repo}: {name}"),
                None => format!("Released {tag} of {repo}"),
            }
        }
        "CreateEvent" => {
            let ref_type = s(&payload, "/ref_type").unwrap_or("repository");
            match (ref_type, s(&payload, "/ref")) {
                ("repository", _) | (_, None) => {
                    item.content = s(&payload, "/description").map(|d| Content::Text(d.to_owned()));
                    format!("Created repository {repo}")
                }
                (ref_type, Some(name)) => format!("Created {ref_type} {name} in {repo}"),
            }
        }
        "DeleteEvent" => {
            let ref_type = s(&payload, "/ref_type").unwrap_or("branch");
            let name = s(&payload, "/ref").unwrap_or("");
            format!("Deleted {ref_type} {name} in {repo}")
        }
        "PublicEvent" => format!("Made {repo} public"),
        "MemberEvent" => {
            let member = s(&payload, "/member/login").unwrap_or("someone");
            format!("{} {member} as a collaborator on {repo}", capital(action))
        }
        "GollumEvent" => format!("Edited the wiki of {repo}"),
        "CommitCommentEvent" => {
            item.kind = ItemKind::Comment;
            item.url = s(&payload, "/comment/html_url")
                .and_then(super::http_url)
                .or(item.url);
            item.content = s(&payload, "/comment/body").map(|b| Content::Text(b.to_owned()));
            format!("Commented on a commit in {repo}")
        }
        "SponsorshipEvent" => format!("Sponsorship {action}"),
        other => format!("{} in {repo}", other.trim_end_matches("Event")),
    };
    item.title = Some(title);
    Some(item)
}

fn capital(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Updated".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins() {
        assert!(is_login("octocat"));
        assert!(is_login("a-b"));
        assert!(!is_login("-a"));
        assert!(!is_login("a--b"));
        assert!(!is_login("a_b"));
        assert!(!is_login(&"a".repeat(40)));
    }

    #[test]
    fn hostile_events_do_not_panic() {
        for event in [
            json!(null),
            json!({}),
            json!({"id": 1, "type": "PushEvent", "created_at": "2026-01-01T00:00:00Z", "payload": {"commits": "x", "size": "y"}}),
            json!({"id": "1", "type": "IssuesEvent", "created_at": "2026-01-01T00:00:00Z", "payload": {"issue": []}, "repo": {"name": 5}}),
            json!({"id": "1", "type": "ReleaseEvent", "created_at": "nope"}),
        ] {
            let _ = map_event(&event);
        }
    }
}
