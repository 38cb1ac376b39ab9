//! Shared view pieces: the page layout, navigation, form fields, times, avatars. Pure
//! functions of view data to markup; no store, no state.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::{CSRF_FIELD, PageCtx};
use crate::config::Signup;

/// A string from outside (a title, a name, a source's label) shown inline, isolated from
/// the text around it: its direction is its own, and a bidi control inside it (U+202E, say)
/// cannot reorder the page's words after it.
pub fn bdi(text: &str) -> Markup {
    html! { bdi { (text) } }
}

/// The same for places that hold text, not markup (the page `<title>`): the string between
/// U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE.
pub fn isolated(text: &str) -> String {
    format!("\u{2068}{text}\u{2069}")
}

/// The name a person is shown by: their display name, or their user name when they set none.
pub fn shown_name<'a>(display_name: &'a str, user_name: &'a str) -> &'a str {
    if display_name.trim().is_empty() {
        user_name
    } else {
        display_name
    }
}

/// A whole page for a viewer: header with navigation, main content, footer.
pub fn layout(ctx: &PageCtx, title: &str, body: Markup) -> Markup {
    page(
        title,
        nav(ctx),
        html! { (body) (action_form(ctx)) },
        live_head(ctx),
        events_scope(ctx),
    )
}

/// The same layout with extra `<head>` content (feed autodiscovery links).
pub fn layout_with_head(ctx: &PageCtx, title: &str, head: Markup, body: Markup) -> Markup {
    page(
        title,
        nav(ctx),
        html! { (body) (action_form(ctx)) },
        html! { (head) (live_head(ctx)) },
        events_scope(ctx),
    )
}

/// The `id` of the page's one action form ([`action_form`]).
pub const ACTION_FORM: &str = "act";

/// One hidden form per page for the cards' buttons (Like, Hide, a comment's Delete): each
/// button names it (`form="act"`) and its own `formaction`, so a page of 30 cards carries
/// one CSRF token and one `next` instead of one per button. The handlers send the browser
/// back to `next` at the card (`#item-{id}`). Logged-in viewers only.
fn action_form(ctx: &PageCtx) -> Markup {
    html! {
        @if ctx.user.is_some() {
            form id=(ACTION_FORM) method="post" action="/" hidden {
                (csrf_field(ctx))
                input type="hidden" name="next" value=(ctx.path);
            }
        }
    }
}

/// Nothing yet: the page script takes the CSRF token its forms send from the page's
/// action form ([`action_form`], logged-in viewers only; shared cached pages carry none).
fn live_head(_ctx: &PageCtx) -> Markup {
    html! {}
}

/// The `/events` scope of the page at `ctx.path`: `user:NAME` for `/{user}`,
/// `friends:NAME` for `/{user}/friends`, `item:ID` for `/e/{id}`, `source:ID` for a
/// source's settings page (logged in); other pages have none.
pub fn events_scope(ctx: &PageCtx) -> Option<String> {
    let path = ctx.path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is_id = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let is_user = |text: &str| !text.is_empty() && !crate::auth::RESERVED_NAMES.contains(&text);
    match segments.as_slice() {
        ["e", id] if is_id(id) => Some(format!("item:{id}")),
        ["settings", "sources", id] if is_id(id) && ctx.user.is_some() => {
            Some(format!("source:{id}"))
        }
        [name] if is_user(name) => Some(format!("user:{name}")),
        [name, "friends"] if is_user(name) => Some(format!("friends:{name}")),
        _ => None,
    }
}

/// A page without a viewer (error pages rendered where no context is at hand).
pub fn bare_layout(title: &str, body: Markup) -> Markup {
    page(
        title,
        html! { a.brand href="/" { "Tributary" } },
        body,
        html! {},
        None,
    )
}

/// `scope` is the page's `/events` scope, read by the page script from `main[data-events]`.
fn page(title: &str, nav: Markup, body: Markup, head: Markup, scope: Option<String>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (isolated(title)) " · Tributary" }
                link rel="stylesheet" href=(assets::url("style.css"));
                link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
                script defer src=(assets::url("app.js")) {}
                (head)
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site { nav aria-label="Main" { (nav) } }
                main id="main" data-events=[scope] { (body) }
                footer.site { p { "Tributary — your lifestream, on your server." } }
            }
        }
    }
}

fn nav(ctx: &PageCtx) -> Markup {
    html! {
        a.brand href="/" { "Tributary" }
        form.nav-search role="search" method="get" action="/search" {
            input type="search" name="q" aria-label="Search" placeholder="Search";
        }
        ul {
            li { a href="/" { "Everyone" } }
            @if let Some(user) = &ctx.user {
                li { a href={ "/" (user.name) } { "Me" } }
                li { a href={ "/" (user.name) "/friends" } { "Friends" } }
                li { (notifications_link(ctx.unread)) }
                @if !ctx.saved_searches.is_empty() {
                    li { (crate::web::pages::search::nav_links(&ctx.saved_searches)) }
                }
                li { a href="/settings/sources" { "Sources" } }
                li { a href="/settings" { "Settings" } }
                li {
                    form.inline method="post" action="/logout" {
                        (csrf_field(ctx))
                        button.link type="submit" { "Log out" }
                    }
                }
            } @else {
                li { a href="/login" { "Log in" } }
                @if ctx.signup == Signup::Open {
                    li { a href="/signup" { "Sign up" } }
                }
            }
        }
    }
}

/// The navigation's link to the notifications, with the unread count when there are any.
pub fn notifications_link(unread: u64) -> Markup {
    html! {
        @if unread > 0 {
            a.nav-notifications href="/notifications"
                // The name starts with the visible text (WCAG 2.5.3, "label in name").
                aria-label={ "Notifications " (unread) " unread" } {
                "Notifications " span.count { (unread) }
            }
        } @else {
            a.nav-notifications href="/notifications" { "Notifications" }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(ctx: &PageCtx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf); }
}

/// A labelled text input that keeps what the user typed and shows its error beside it.
pub fn field(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
    help: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    // `new-password` is a password field where one is chosen, so password managers offer
    // to make one up rather than fill in the saved one.
    let (kind, autocomplete) = match kind {
        "password" => ("password", Some("current-password")),
        "new-password" => ("password", Some("new-password")),
        other => (other, None),
    };
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(value)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())]
                autocomplete=[autocomplete];
            @if let Some(help) = help { small.help { (help) } }
            @if let Some(error) = error { p.error id=(error_id) role="alert" { (error) } }
        }
    }
}

/// A form-level message (flash) shown above a form.
pub fn notice(message: Option<&str>, is_error: bool) -> Markup {
    html! {
        @if let Some(message) = message {
            p.notice.error[is_error] role=(if is_error { "alert" } else { "status" }) { (message) }
        }
    }
}

thread_local! {
    /// The soonest moment (seconds after its `now`) a relative label rendered on this
    /// thread changes; taken by the page cache to bound how long a page stays right.
    static NEXT_LABEL_CHANGE: Cell<Option<i64>> = const { Cell::new(None) };
}

/// `<time>` with a relative label; the page script shows the exact time (the viewer's
/// local time) on hover from `datetime`.
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    if let Some(secs) = label_changes_in(at, now) {
        NEXT_LABEL_CHANGE.with(|next| next.set(Some(next.get().map_or(secs, |n| n.min(secs)))));
    }
    html! {
        time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (relative_time(at, now))
        }
    }
}

/// "5 minutes ago", "3 days ago", or the date for older items.
pub fn relative_time(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => plural(secs / 60, "minute"),
        3600..86_400 => plural(secs / 3600, "hour"),
        86_400..2_592_000 => plural(secs / 86_400, "day"),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

/// Seconds until [`relative_time`] gives another label; `None` once it shows a date.
pub fn label_changes_in(then: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
    let secs = (now - then).num_seconds().max(0);
    let step = match secs {
        0..3600 => 60,
        3600..86_400 => 3600,
        86_400..2_592_000 => 86_400,
        _ => return None,
    };
    Some(step - secs % step)
}

/// The soonest label change among the `<time>`s rendered on this thread since the last
/// call, and forgets them. A render is synchronous, so a caller that takes before and
/// after awaiting one sees at least that render's labels (and at most a few of another
/// render's, which only makes the answer sooner).
pub fn take_label_change() -> Option<std::time::Duration> {
    NEXT_LABEL_CHANGE
        .with(Cell::take)
        .map(|secs| std::time::Duration::from_secs(secs.max(1) as u64))
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The one check for every redirect to a target the visitor supplied (`next` after login,
/// "back" after a form): a local path, never another site, else `/`.
///
/// Accepted: exactly `/`, or `/` followed by a character that is not `/`, `\` or a control
/// character, with no `\` and no control character anywhere. Browsers drop TAB, CR and LF
/// from URLs (WHATWG URL, "basic URL parser": "remove all ASCII tab or newline") and treat
/// `\` as `/` in http(s) URLs, so `/\t/evil`, `/\evil` and `//evil` all lead to the host
/// `evil`; a CR or LF would also not fit in a `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    !rest.starts_with('/') && !path.chars().any(|c| c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(
            relative_time(now - Duration::minutes(1), now),
            "1 minute ago"
        );
        assert_eq!(relative_time(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(relative_time(now + Duration::hours(5), now), "just now");
    }

    #[test]
    fn label_change_is_when_the_relative_label_first_reads_differently() {
        let now = Utc::now();
        for age in [
            0, 1, 59, 60, 61, 3599, 3600, 7199, 86_399, 86_400, 2_591_999,
        ] {
            let then = now - Duration::seconds(age);
            let label = relative_time(then, now);
            let secs = label_changes_in(then, now).expect("still relative");
            for before in [0, secs - 1] {
                let at = now + Duration::seconds(before);
                assert_eq!(relative_time(then, at), label, "age {age}, +{before} s");
            }
            let at = now + Duration::seconds(secs);
            assert_ne!(relative_time(then, at), label, "age {age}, +{secs} s");
        }
        assert_eq!(label_changes_in(now - Duration::days(40), now), None);
        // Rendering a time records it for the page cache, once.
        let _ = take_label_change();
        let _ = time(now - Duration::seconds(3590), now);
        let _ = time(now - Duration::hours(3), now);
        assert_eq!(
            take_label_change(),
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(take_label_change(), None);
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/ana?x=1")), "/ana?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[track_caller]
    fn check_next(next: &str, expected: &str) {
        assert_eq!(safe_next(Some(next)), expected, "next = {next:?}");
    }

    // See: #16
    #[test]
    fn issue16_1_next_with_tab_cr_lf_or_backslash_falls_back() {
        check_next("/\t/attacker.invalid/x", "/");
        check_next("/\n/attacker.invalid", "/");
        check_next("/\r/attacker.invalid", "/");
        check_next("/x\n/y", "/");
        check_next("/x\u{7f}", "/");
        check_next("/\u{85}/evil", "/");
        check_next("/\\evil.invalid", "/");
        check_next("/a\\b", "/");
        check_next("//evil.invalid", "/");
        check_next("///evil.invalid", "/");
        check_next("https://evil.invalid", "/");
        check_next("", "/");
        check_next(" /ana", "/");
        check_next("/", "/");
        check_next("/ana/friends?page=2#item-3", "/ana/friends?page=2#item-3");
        check_next("/%09/evil", "/%09/evil");
    }
}
