//! `github`: a user's public events (`GET /users/{user}/events/public`), each with a title
//! in words: "Pushed 3 commits to ana/repo", "Opened issue #12 “…” in ana/repo".
//!
//! Etiquette: the ETag is sent back (a 304 costs no quota), `X-Poll-Interval` is obeyed,
//! and when `X-RateLimit-Remaining` runs low the next poll waits for `X-RateLimit-Reset`.
//! Unauthenticated clients get 60 requests an hour per address; a token from the config
//! raises that to 5,000.

use chrono::Utc;
use serde_json::Value;
use url::Url;

use super::{ListShape, Listed, UserParams, escape_html, n, s};
use crate::http::{FetchRequest, FetchResponse, PollHint};
use crate::item::{Content, ItemKind, RawAuthor, RawItem};
use crate::params::required;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, TypedConnector,
};

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

fn events_url(user: &str, page: u64) -> Result<Url, ConnectorError> {
    let mut url = super::api_url(API_BASE, &format!("/users/{user}/events/public"))?;
    url.query_pairs_mut()
        .append_pair("per_page", &PER_PAGE.to_string());
    if page > 1 {
        url.query_pairs_mut().append_pair("page", &page.to_string());
    }
    Ok(url)
}

const LIST: ListShape = ListShape {
    pointer: "",
    element: "event",
    missing: "has no id, type or date",
    no_list: "GitHub's events answer is not a list",
};

#[async_trait::async_trait]
impl TypedConnector for GitHubConnector {
    type Params = UserParams;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "github",
            title: "GitHub",
            description: "A GitHub user's public activity: pushes, issues, pull requests, stars, releases",
            params: vec![required("user", "GitHub user name")],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://github.com/octocat",
        }
    }

    fn recognize(&self, input: &str) -> Option<UserParams> {
        let url = super::site_url(input, "github.com")?;
        let parts = super::segments(&url);
        match parts.as_slice() {
            [user] if is_login(user) && !RESERVED.contains(&user.to_ascii_lowercase().as_str()) => {
                Some(UserParams::new(user))
            }
            _ => None,
        }
    }

    fn check(&self, params: UserParams) -> Result<UserParams, ConnectorError> {
        params.checked(
            &['@'],
            is_login,
            "GitHub",
            "a GitHub user name such as octocat",
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
        self.fetch(http, &params.user, 1, state).await
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &UserParams,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let number = super::page_number(page, 2..=MAX_PAGE)?;
        let mut poll = self
            .fetch(http, &params.user, number, &PollState::default())
            .await?;
        poll.state = PollState::default();
        Ok(poll)
    }
}

impl GitHubConnector {
    async fn fetch(
        &self,
        http: &dyn Http,
        user: &str,
        page: u64,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let request = self
            .request(events_url(user, page)?)
            .with_validators(state.validators.clone());
        let response = http.get(request).await?;
        let hint = etiquette(&response)?;
        let Listed {
            mut poll, response, ..
        } = super::read_list(response, hint, state, &LIST, map_event)?;
        // `Link: <…&page=2>; rel="next"` says there is more.
        let has_next = response
            .header("link")
            .is_some_and(|link| link.contains("rel=\"next\""));
        poll.next_page = super::next_page(has_next && !poll.not_modified, page, MAX_PAGE);
        Ok(poll)
    }
}

/// The earliest next poll GitHub asks for (`X-Poll-Interval`, and `X-RateLimit-Reset`
/// when few requests are left), or the refusals GitHub answers with: an exhausted quota
/// (403 or 429 with `X-RateLimit-Remaining: 0`) and a user that does not exist.
fn etiquette(response: &FetchResponse) -> Result<PollHint, ConnectorError> {
    let now = Utc::now();
    let number = |name: &str| {
        response
            .header(name)
            .and_then(|value| value.trim().parse::<i64>().ok())
    };
    let mut hint = response.hint;
    if let Some(secs) = number("x-poll-interval") {
        hint = hint.max(super::hint_in(secs, now));
    }
    let remaining = number("x-ratelimit-remaining");
    let reset_hint = number("x-ratelimit-reset").map(|at| super::hint_at_unix(at, now));
    if let (Some(left), Some(reset_hint)) = (remaining, reset_hint)
        && left <= LOW_REMAINING
    {
        hint = hint.max(reset_hint);
    }
    if matches!(response.status, 403 | 429) && (remaining == Some(0) || response.status == 429) {
        return Err(ConnectorError::RateLimited {
            retry_after: hint.max(reset_hint.unwrap_or_default()).not_before,
        });
    }
    if response.status == 404 {
        return Err(ConnectorError::Invalid(
            "GitHub has no such user (HTTP 404)".into(),
        ));
    }
    Ok(hint)
}

fn profile_url(login: &str) -> Option<Url> {
    Url::parse(&format!("https://github.com/{login}")).ok()
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
            avatar: s(event, "/actor/avatar_url").and_then(super::http_url),
            ..super::author(login, profile_url(login))
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
    use serde_json::json;

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
