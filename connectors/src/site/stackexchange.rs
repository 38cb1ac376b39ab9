//! `stackexchange`: a Stack Exchange user's questions and answers (API 2.3,
//! `/users/{id}/timeline`). Honours the API's `backoff` field (seconds to wait before the
//! next request) and the daily quota: with `quota_remaining` at 0 the next poll waits for
//! the next UTC midnight, when the quota resets. Answers come gzip-compressed; the app's
//! client decodes them.

use chrono::{DateTime, Days, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{n, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, RawItem};
use crate::params::{lenient, required};
use crate::{ConnectorError, ConnectorInfo, Http, Poll, PollState, TypedConnector};

pub const API_BASE: &str = "https://api.stackexchange.com/2.3";
/// Items per page.
pub const PAGE_SIZE: u32 = 50;
const MAX_PAGE: u64 = 20;

/// Hosts whose site parameter is not `{first label}`.
fn site_of_host(host: &str) -> Option<String> {
    let fixed = [
        ("stackoverflow.com", "stackoverflow"),
        ("superuser.com", "superuser"),
        ("serverfault.com", "serverfault"),
        ("askubuntu.com", "askubuntu"),
        ("mathoverflow.net", "mathoverflow.net"),
        ("stackapps.com", "stackapps"),
    ];
    if let Some((_, site)) = fixed.iter().find(|(h, _)| *h == host) {
        return Some((*site).to_owned());
    }
    let name = host.strip_suffix(".stackexchange.com")?;
    is_site(name).then(|| name.to_owned())
}

fn is_site(text: &str) -> bool {
    (1..=60).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// A Stack Exchange user: the number in the profile URL and the site's API name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserOnSite {
    #[serde(deserialize_with = "lenient::positive")]
    pub user_id: u64,
    #[serde(default)]
    pub site: String,
}

pub struct StackExchangeConnector;

#[async_trait::async_trait]
impl TypedConnector for StackExchangeConnector {
    type Params = UserOnSite;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "stackexchange",
            title: "Stack Exchange",
            description: "A Stack Overflow (or other Stack Exchange site) user's questions and answers",
            params: vec![
                required("user_id", "The number in the profile URL"),
                required("site", "The site: stackoverflow, superuser, math…"),
            ],
            default_schedule: Some("0 */2 * * *"),
            can_backfill: true,
            example_input: "https://stackoverflow.com/users/22656/jon-skeet",
        }
    }

    fn recognize(&self, input: &str) -> Option<UserOnSite> {
        let url = super::loose_url(input)?;
        let site = site_of_host(&super::bare_host(&url))?;
        match super::segments(&url).as_slice() {
            [users, id, ..] if users == "users" => {
                let user_id = id.parse::<u64>().ok().filter(|id| *id > 0)?;
                Some(UserOnSite { user_id, site })
            }
            _ => None,
        }
    }

    fn check(&self, params: UserOnSite) -> Result<UserOnSite, ConnectorError> {
        let site = params.site.trim();
        if site.is_empty() {
            return Err(ConnectorError::Unsupported(
                "needs a `site` parameter: a site such as stackoverflow".into(),
            ));
        }
        if !is_site(site) {
            return Err(ConnectorError::Unsupported(format!(
                "`{site}` is not a Stack Exchange site name"
            )));
        }
        Ok(UserOnSite {
            user_id: params.user_id,
            site: site.to_owned(),
        })
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &UserOnSite,
        _state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        fetch(http, params, 1).await
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &UserOnSite,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        fetch(http, params, super::page_number(page, 2..=MAX_PAGE)?).await
    }
}

/// The next UTC midnight after `now`: when the daily quota resets.
pub fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .checked_add_days(Days::new(1))
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .unwrap_or(now)
}

async fn fetch(http: &dyn Http, user: &UserOnSite, page: u64) -> Result<Poll, ConnectorError> {
    let site = user.site.as_str();
    let mut url = super::api_url(API_BASE, &format!("/users/{}/timeline", user.user_id))?;
    url.query_pairs_mut()
        .append_pair("site", site)
        .append_pair("pagesize", &PAGE_SIZE.to_string())
        .append_pair("page", &page.to_string());
    let request = FetchRequest {
        max_bytes: Some(super::MAX_API_BYTES),
        ..FetchRequest::new(url, "application/json")
    };
    let response = http.get(request).await?;
    let now = Utc::now();
    // Errors come as JSON too: `{"error_id": 502, "error_name": "throttle_violation", …}`.
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let mut hint = response.hint;
    if let Some(body) = &body {
        if let Some(backoff) = n(body, "/backoff") {
            hint = hint.max(super::hint_in(backoff, now));
        }
        if n(body, "/quota_remaining") == Some(0) {
            hint = hint.max(crate::PollHint {
                not_before: Some(next_utc_midnight(now)),
            });
        }
        if let Some(name) = s(body, "/error_name") {
            let message = s(body, "/error_message").unwrap_or("");
            if name == "throttle_violation" || response.status == 429 {
                let wait = message
                    .split_whitespace()
                    .filter_map(|w| w.parse::<i64>().ok())
                    .next_back();
                if let Some(secs) = wait {
                    hint = hint.max(super::hint_in(secs, now));
                }
                return Err(ConnectorError::RateLimited {
                    retry_after: hint.not_before,
                });
            }
            return Err(ConnectorError::Invalid(format!(
                "Stack Exchange says {name}: {message}"
            )));
        }
    }
    if matches!(response.status, 429 | 503) {
        return Err(ConnectorError::RateLimited {
            retry_after: hint.not_before,
        });
    }
    let response = response.check_status()?;
    let body = body.ok_or_else(|| {
        ConnectorError::Invalid(format!(
            "Stack Exchange answered with bad JSON ({} bytes)",
            response.body.len()
        ))
    })?;
    let entries = body
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ConnectorError::Invalid("the answer has no `items` list".into()))?;
    let mut poll = Poll {
        hint,
        ..Poll::default()
    };
    for entry in entries {
        if let Some(item) = map_timeline(entry, site) {
            poll.items.push(item);
        }
    }
    let has_more = body
        .get("has_more")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    poll.next_page = super::next_page(has_more, page, MAX_PAGE);
    if let Some(remaining) = n(&body, "/quota_remaining") {
        poll.state.cursor = Some(json!({ "quota_remaining": remaining }));
    }
    Ok(poll)
}

/// One timeline entry as an item: only questions asked and answers given are kept.
pub fn map_timeline(entry: &Value, site: &str) -> Option<RawItem> {
    let kind = s(entry, "/timeline_type")?;
    let (item_kind, verb) = match kind {
        "asked" => (ItemKind::Article, "Asked"),
        "answered" => (ItemKind::Comment, "Answered"),
        _ => return None,
    };
    let post_id = n(entry, "/post_id")?;
    let published = n(entry, "/creation_date").and_then(super::unix_time)?;
    // Titles arrive HTML-escaped (`&#39;`).
    let title = s(entry, "/title")
        .map(crate::protocol::discover::decode_entities)
        .unwrap_or_default();
    let mut item = RawItem::new(format!("{site}:{kind}:{post_id}"));
    item.kind = item_kind;
    item.published = Some(published);
    item.title = Some(format!("{verb}: {title}"));
    item.url = s(entry, "/link")
        .and_then(super::http_url)
        .or_else(|| Url::parse(&format!("https://{site}.com/q/{post_id}")).ok());
    item.content = s(entry, "/detail").map(|d| Content::Html(d.to_owned()));
    item.extra.insert("site".into(), site.into());
    Some(item)
}
