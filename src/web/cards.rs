//! The item card and the comment views shared by streams and the item page. Pure functions
//! of view data to markup; no store, no state. Only `SafeHtml` is emitted unescaped.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::session::PageCtx;
use super::views::{bdi, csrf_field, shown_name, time, urlencode};
use crate::model::{Item, ItemKind, Media};
use crate::social::{MAX_COMMENT_CHARS, may_delete_comment, may_edit_comment, may_hide_item};
use crate::store::also_on::AlsoOn;
use crate::store::social::{Comment, ItemSocial, Liker};

/// Plain text longer than this is shown in a stream as an excerpt with a "more" link.
pub const EXCERPT_CHARS: usize = 500;
/// Newest comments shown under an item in a stream.
pub const INLINE_COMMENTS: usize = 3;
/// Likers named in a stream's likes line; more become "and N others".
pub const NAMED_LIKERS: usize = 3;
/// Pictures shown under an item.
const MAX_THUMBNAILS: usize = 4;
/// What links inside comments carry: they are user content, not endorsements.
const COMMENT_LINK_REL: &str = "nofollow ugc noopener noreferrer";

/// How much of an item a card shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardMode {
    /// In a stream: an excerpt of long content, the newest comments, a few likers.
    Stream,
    /// On the item page: everything.
    Full,
}

/// What the comment form shows when it is re-rendered after a refused comment.
#[derive(Clone, Debug, Default)]
pub struct CommentDraft<'a> {
    pub body: &'a str,
    pub error: Option<&'a str>,
}

/// One item as an `article.item`: where it came from, its title and content, pictures,
/// likes, comments, and the viewer's buttons.
pub fn item_card(
    ctx: &PageCtx,
    item: &Item,
    social: &ItemSocial,
    mode: CardMode,
    draft: &CommentDraft<'_>,
    now: DateTime<Utc>,
) -> Markup {
    let next = format!("{}#item-{}", ctx.path, item.id);
    let item_path = format!("/e/{}", item.id);
    let is_owner = ctx
        .user
        .as_ref()
        .is_some_and(|me| may_hide_item(me, item.user_id));
    let n_more_comments = social.n_comments.saturating_sub(social.comments.len());
    html! {
        article.item.is-hidden[social.hidden] id={ "item-" (item.id) } data-item=(item.id) {
            header.item-meta {
                a.item-user href={ "/" (item.user_name) } { (bdi(&item.user_name)) }
                " · "
                a.item-service
                    href={ "/" (item.user_name) "?service=" (urlencode(&item.source_kind)) }
                    title={ "Only " (item.source_kind) " items" } { (bdi(item.source_label())) }
                " · "
                a.item-permalink href=(item_path) { (time(item.published_at, now)) }
                @if social.hidden && is_owner {
                    " " span.badge.hidden-badge { "hidden" }
                }
                @if item.extra.contains_key(crate::store::items::DELETED_UPSTREAM) {
                    " " span.badge.deleted-badge title="Deleted where it was posted; kept here because its source keeps deleted items" {
                        "deleted at the source"
                    }
                }
            }
            @if !item.title.is_empty() {
                @if mode == CardMode::Full { h1.item-title { (title_link(item)) } }
                @else { h2.item-title { (title_link(item)) } }
            }
            (shared_from(item))
            @if let Some(warning) = content_warning(item) {
                details.content-warning {
                    summary { (bdi(&warning)) }
                    (item_body(item, mode))
                    (thumbnails(item))
                }
            } @else {
                (item_body(item, mode))
                (thumbnails(item))
            }
            (facts(item))
            (also_on(&social.also_on))
            (actions(ctx, item, social, is_owner, &next))
            @if social.n_likes > 0 {
                (likes_line(&social.likers, social.n_likes, match mode {
                    CardMode::Stream => NAMED_LIKERS,
                    CardMode::Full => usize::MAX,
                }))
            }
            @if social.n_shares > 0 {
                p.shares {
                    "Shared " (social.n_shares) " "
                    (if social.n_shares == 1 { "time" } else { "times" }) " on the fediverse"
                }
            }
            @if !social.comments.is_empty() {
                ul.comments id=[(mode == CardMode::Full).then_some("comments")] {
                    @for comment in &social.comments {
                        (comment_view(ctx, comment, item, &next, now))
                    }
                }
            }
            @if mode == CardMode::Stream && n_more_comments > 0 {
                p.more-comments {
                    a href={ (item_path) "#comments" } {
                        (n_more_comments) " more " (if n_more_comments == 1 { "comment" } else { "comments" })
                    }
                }
            }
            @if ctx.user.is_some() && mode == CardMode::Full {
                (comment_form(ctx, item, draft, &next))
            } @else if mode == CardMode::Full {
                p.muted {
                    a href={ "/login?next=" (urlencode(&item_path)) } { "Log in" }
                    " to like or comment."
                }
            }
        }
    }
}

/// "Ana, Bo and 3 others liked this": at most `max_named` names, each linking to the
/// liker's stream; when not all fit, one name fewer and a count.
pub fn likes_line(likers: &[Liker], n_likes: usize, max_named: usize) -> Markup {
    let n_named = if n_likes <= max_named {
        likers.len().min(n_likes)
    } else {
        max_named.saturating_sub(1).max(1).min(likers.len())
    };
    let n_others = n_likes.saturating_sub(n_named);
    let named = &likers[..n_named];
    html! {
        p.likes {
            @for (liker_idx, liker) in named.iter().enumerate() {
                @if liker_idx > 0 {
                    @if liker_idx + 1 == n_named && n_others == 0 { " and " } @else { ", " }
                }
                @if let Some(remote) = &liker.remote {
                    a.remote href=(remote.url) rel="nofollow noopener ugc" title={ "@" (liker.user_name) } {
                        (bdi(shown_name(&liker.display_name, &liker.user_name)))
                    }
                } @else if liker.user_id.is_none() {
                    span.archived title="From an imported archive" { (bdi(&liker.user_name)) }
                } @else {
                    a href={ "/" (liker.user_name) } { (bdi(shown_name(&liker.display_name, &liker.user_name))) }
                }
            }
            @if n_others > 0 {
                @if n_named > 0 { " and " }
                (n_others) " " (if n_others == 1 { "other" } else { "others" })
            }
            " liked this"
        }
    }
}

/// One comment: its text (plain, links made clickable), author, time, and the viewer's
/// edit and delete controls.
pub fn comment_view(
    ctx: &PageCtx,
    comment: &Comment,
    item: &Item,
    next: &str,
    now: DateTime<Utc>,
) -> Markup {
    let may_edit = ctx
        .user
        .as_ref()
        .is_some_and(|me| may_edit_comment(me, comment.user_id));
    let may_delete = ctx
        .user
        .as_ref()
        .is_some_and(|me| may_delete_comment(me, comment.user_id, item.user_id));
    html! {
        li.comment id={ "c-" (comment.id) } {
            @if let (Some(remote), Some(html)) = (&comment.remote, &comment.body_html) {
                div.comment-body.remote dir="auto" { (html) }
                p.comment-meta {
                    "— "
                    @if let Some(icon) = &remote.icon_url {
                        img.avatar src=(icon) alt="" width="20" height="20" loading="lazy"
                            referrerpolicy="no-referrer";
                        " "
                    }
                    a.remote href=(remote.url) rel="nofollow noopener ugc" {
                        (bdi(shown_name(&comment.display_name, &comment.user_name)))
                    }
                    " " span.handle { (bdi(&format!("@{}", comment.user_name))) }
                    " · " span.origin title="This comment came from another server in the fediverse" {
                        "via " (bdi(&remote.host))
                    }
                    " · " (time(comment.created_at, now))
                    @if comment.edited_at.is_some() { " (edited)" }
                    @if may_delete {
                        " · "
                        form.inline method="post" action={ "/c/" (comment.id) "/delete" } {
                            (csrf_field(ctx))
                            input type="hidden" name="next" value=(next);
                            button.link type="submit" { "Delete" }
                        }
                    }
                }
            } @else {
            div.comment-body dir="auto" { (comment_text(&comment.body)) }
            p.comment-meta {
                "— "
                @if comment.user_id.is_some() {
                    a href={ "/" (comment.user_name) } { (bdi(shown_name(&comment.display_name, &comment.user_name))) }
                } @else {
                    span.archived { (bdi(&comment.user_name)) }
                    " · " span.origin title="This comment came with an imported archive" { "from an archive" }
                }
                " · " (time(comment.created_at, now))
                @if comment.edited_at.is_some() { " (edited)" }
                @if may_edit {
                    " · " a href={ "/c/" (comment.id) "/edit" } { "Edit" }
                }
                @if may_delete {
                    " · "
                    form.inline method="post" action={ "/c/" (comment.id) "/delete" } {
                        (csrf_field(ctx))
                        input type="hidden" name="next" value=(next);
                        button.link type="submit" { "Delete" }
                    }
                }
            }
            }
        }
    }
}

/// The comment box under an item; keeps a refused draft and shows why it was refused.
pub fn comment_form(ctx: &PageCtx, item: &Item, draft: &CommentDraft<'_>, next: &str) -> Markup {
    let field_id = format!("comment-body-{}", item.id);
    let error_id = format!("{field_id}-error");
    html! {
        form.comment-form id="comment" method="post" action={ "/e/" (item.id) "/comments" } {
            (csrf_field(ctx))
            input type="hidden" name="next" value=(next);
            div.field.invalid[draft.error.is_some()] {
                label.visually-hidden for=(field_id) { "Your comment" }
                textarea id=(field_id) name="body" rows="2" maxlength=(MAX_COMMENT_CHARS)
                    placeholder="Write a comment"
                    aria-invalid=[draft.error.map(|_| "true")]
                    aria-describedby=[draft.error.map(|_| error_id.as_str())] { (draft.body) }
                @if let Some(error) = draft.error {
                    p.error id=(error_id) role="alert" { (error) }
                }
            }
            button type="submit" { "Comment" }
        }
    }
}

/// A comment's text as markup: everything escaped, `http(s)` links made clickable, line
/// breaks kept. Never HTML from users.
pub fn comment_text(body: &str) -> Markup {
    let pieces = split_links(body);
    html! {
        @for piece in &pieces {
            @match piece {
                Piece::Text(text) => {
                    @for (line_idx, line) in text.split('\n').enumerate() {
                        @if line_idx > 0 { br; }
                        (line.trim_end_matches('\r'))
                    }
                }
                Piece::Link { text, href } => {
                    a href=(href) rel=(COMMENT_LINK_REL) { (text) }
                }
            }
        }
    }
}

fn actions(ctx: &PageCtx, item: &Item, social: &ItemSocial, is_owner: bool, next: &str) -> Markup {
    html! {
        @if ctx.user.is_some() {
            div.item-actions {
                @if social.liked_by_viewer {
                    form.inline.like-form method="post" action={ "/e/" (item.id) "/unlike" } {
                        (csrf_field(ctx))
                        input type="hidden" name="next" value=(next);
                        button.secondary.like type="submit" { "Unlike" }
                    }
                } @else {
                    form.inline.like-form method="post" action={ "/e/" (item.id) "/like" } {
                        (csrf_field(ctx))
                        input type="hidden" name="next" value=(next);
                        button.secondary.like type="submit" { "Like" }
                    }
                }
                a.comment-link href={ "/e/" (item.id) "#comment" } { "Comment" }
                span.counts {
                    "Likes " span.n-likes { (social.n_likes) }
                    " · Comments " span.n-comments { (social.n_comments) }
                }
                @if is_owner {
                    @if social.hidden {
                        form.inline method="post" action={ "/e/" (item.id) "/unhide" } {
                            (csrf_field(ctx))
                            input type="hidden" name="next" value=(next);
                            button.secondary type="submit" { "Unhide" }
                        }
                    } @else {
                        form.inline method="post" action={ "/e/" (item.id) "/hide" } {
                            (csrf_field(ctx))
                            input type="hidden" name="next" value=(next);
                            button.secondary type="submit" { "Hide" }
                        }
                    }
                }
            }
        }
    }
}

/// The title, linking to the original when it has a web address, else to the item page.
fn title_link(item: &Item) -> Markup {
    match item.url.as_ref().filter(|url| is_web(url)) {
        Some(url) => {
            html! { a href=(url.as_str()) rel="noopener noreferrer" { (bdi(&item.title)) } }
        }
        None => html! { a href={ "/e/" (item.id) } { (bdi(&item.title)) } },
    }
}

/// Longest content warning or original author's name shown, in characters.
const MAX_EXTRA_LABEL_CHARS: usize = 300;

/// A content warning the source gave (fediverse `summary` + `sensitive`): the card shows
/// the item collapsed behind it, in a `<details>` that needs no script.
fn content_warning(item: &Item) -> Option<String> {
    let warning = item.extra.get("content_warning")?.as_str()?.trim();
    (!warning.is_empty()).then(|| warning.chars().take(MAX_EXTRA_LABEL_CHARS).collect())
}

/// "Shared a post by X", for a share (a boost) that names its original author.
fn shared_from(item: &Item) -> Markup {
    let Some(from) = item.extra.get("shared_from") else {
        return html! {};
    };
    let name: Option<String> = from
        .get("name")
        .and_then(|n| n.as_str())
        .map(|n| n.trim().chars().take(MAX_EXTRA_LABEL_CHARS).collect());
    let url = from
        .get("url")
        .and_then(|u| u.as_str())
        .and_then(|u| url::Url::parse(u).ok())
        .filter(is_web);
    let Some(name) = name
        .filter(|n| !n.is_empty())
        .or_else(|| url.as_ref().map(|u| u.to_string()))
    else {
        return html! { p.shared-from { "shared a post" } };
    };
    html! {
        p.shared-from {
            "shared a post by "
            @match url {
                Some(url) => a href=(url.as_str()) rel="noopener noreferrer nofollow" { (bdi(&name)) },
                None => (bdi(&name)),
            }
        }
    }
}

fn item_body(item: &Item, mode: CardMode) -> Markup {
    let summary = item.summary_text.trim();
    let is_long = summary.char_indices().nth(EXCERPT_CHARS).is_some();
    html! {
        @if mode == CardMode::Stream && is_long {
            div.content.excerpt dir="auto" {
                p { (excerpt(summary, EXCERPT_CHARS)) " " a.more href={ "/e/" (item.id) } { "more" } }
            }
        } @else if !item.content.is_empty() {
            div.content dir="auto" { (item.content) }
        } @else if !summary.is_empty() {
            div.content dir="auto" { p { (comment_text(summary)) } }
        }
    }
}

/// The first `max_chars` characters of `text`, cut at a word when one ends near, with "…".
fn excerpt(text: &str, max_chars: usize) -> String {
    let end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(at, _)| at);
    let cut = &text[..end];
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(space) if space > cut.len() / 2 => &cut[..space],
        _ => cut,
    };
    format!("{}…", at_word.trim_end())
}

/// The small site facts a connector kept (`extra`): who a share came from, points,
/// comments, a rating. Values are untrusted: numbers and short texts only, escaped, and
/// links only to http(s).
fn facts(item: &Item) -> Markup {
    let extra = &item.extra;
    let web = |value: Option<&serde_json::Value>| {
        value
            .and_then(serde_json::Value::as_str)
            .and_then(|text| url::Url::parse(text).ok())
            .filter(|url| matches!(url.scheme(), "http" | "https"))
    };
    let count = |key: &str| extra.get(key).and_then(serde_json::Value::as_i64);
    let short = |value: Option<&serde_json::Value>| {
        value
            .and_then(serde_json::Value::as_str)
            .map(|text| truncate_fact(text, MAX_FACT_CHARS))
            .filter(|text| !text.is_empty())
    };
    let points = count("points");
    let comments = count("comments");
    let discussion = web(extra.get("discussion_url"));
    let rating = short(extra.get("rating"));
    // Kept by archive imports: the client a post was made with, and what it answered or
    // quoted.
    let via = short(extra.get("via"));
    let reply_to = web(extra.get("reply_to_url"));
    let quote = web(extra.get("quote_url"));
    if points.is_none()
        && comments.is_none()
        && rating.is_none()
        && via.is_none()
        && reply_to.is_none()
        && quote.is_none()
    {
        return html! {};
    }
    html! {
        p.item-facts {
            @if let Some(url) = &reply_to {
                " " span.fact { a href=(url.as_str()) rel="nofollow noopener" { "in reply to" } }
            }
            @if let Some(url) = &quote {
                " " span.fact { "quoting " a href=(url.as_str()) rel="nofollow noopener" { (url.host_str().unwrap_or("a post")) } }
            }
            @if let Some(via) = &via {
                " " span.fact { "via " (bdi(via)) }
            }
            @if let Some(points) = points {
                " " span.fact { (points) (if points == 1 { " point" } else { " points" }) }
            }
            @if let Some(comments) = comments {
                " " span.fact {
                    @let label = format!("{comments} {}", if comments == 1 { "comment" } else { "comments" });
                    @if let Some(url) = &discussion { a href=(url.as_str()) rel="nofollow" { (label) } }
                    @else { (label) }
                }
            }
            @if let Some(rating) = &rating {
                " " span.fact { "rated " (rating) }
            }
        }
    }
}

/// Longest fact text shown.
const MAX_FACT_CHARS: usize = 80;

fn truncate_fact(text: &str, max_chars: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max_chars {
        return line;
    }
    let cut: String = line.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn thumbnails(item: &Item) -> Markup {
    let pictures: Vec<(&Media, &url::Url)> = item
        .media
        .iter()
        .filter_map(|media| thumbnail_of(item.kind, media).map(|src| (media, src)))
        .filter(|(_, src)| is_web(src))
        .take(MAX_THUMBNAILS)
        .collect();
    let link = item.url.as_ref().filter(|url| is_web(url));
    html! {
        @if !pictures.is_empty() {
            div.thumbnails {
                @for (media, src) in &pictures {
                    @let target = link.unwrap_or(&media.url);
                    a href=(target.as_str()) rel="noopener noreferrer" {
                        img src=(src.as_str()) alt=(media.alt.as_deref().unwrap_or(""))
                            loading="lazy" decoding="async";
                    }
                }
            }
        }
    }
}

/// The picture to show for an attachment: its thumbnail, or the image itself. Video and
/// audio files are never put in an `<img>`.
fn thumbnail_of(kind: ItemKind, media: &Media) -> Option<&url::Url> {
    let media_type = media.media_type.as_deref().unwrap_or("");
    let is_image =
        media_type.starts_with("image/") || (media_type.is_empty() && kind == ItemKind::Photo);
    let is_visual = is_image || media_type.starts_with("video/") || kind == ItemKind::Video;
    match &media.thumbnail {
        Some(thumbnail) if is_visual => Some(thumbnail),
        _ if is_image => Some(&media.url),
        _ => None,
    }
}

fn is_web(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Link { text: &'a str, href: String },
}

/// Splits plain text into text and `http(s)` links. A link starts at `http://` or
/// `https://` not preceded by a letter or digit, runs to whitespace or a quote or angle
/// bracket, and leaves trailing punctuation (and an unmatched `)`) to the sentence.
fn split_links(text: &str) -> Vec<Piece<'_>> {
    let lower = text.to_ascii_lowercase();
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut search_from = 0;
    while let Some(found) = next_scheme(&lower, search_from) {
        let preceded_by_word = text[..found]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let rest = &text[found..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(rest.len());
        let candidate = trim_link_end(&rest[..end]);
        let parsed = url::Url::parse(candidate)
            .ok()
            .filter(|url| is_web(url) && url.host_str().is_some_and(|h| !h.is_empty()));
        match parsed {
            Some(url) if !preceded_by_word => {
                if text_start < found {
                    pieces.push(Piece::Text(&text[text_start..found]));
                }
                pieces.push(Piece::Link {
                    text: candidate,
                    href: url.to_string(),
                });
                text_start = found + candidate.len();
                search_from = text_start;
            }
            _ => search_from = found + "http".len(),
        }
    }
    if text_start < text.len() {
        pieces.push(Piece::Text(&text[text_start..]));
    }
    pieces
}

fn next_scheme(lower: &str, from: usize) -> Option<usize> {
    let rest = lower.get(from..)?;
    let at = rest.find("http")?;
    let tail = &rest[at..];
    if tail.starts_with("http://") || tail.starts_with("https://") {
        Some(from + at)
    } else {
        next_scheme(lower, from + at + "http".len())
    }
}

fn trim_link_end(mut link: &str) -> &str {
    loop {
        let Some(last) = link.chars().next_back() else {
            return link;
        };
        let unmatched_paren = last == ')' && link.matches('(').count() < link.matches(')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | ']' | '}') || unmatched_paren {
            link = &link[..link.len() - last.len_utf8()];
        } else {
            return link;
        }
    }
}

/// "Also on Mastodon, Bluesky": the same post on other services, each linking to its own
/// address there (else to its page here).
fn also_on(copies: &[AlsoOn]) -> Markup {
    html! {
        @if !copies.is_empty() {
            p.also-on {
                "Also on "
                @for (n, copy) in copies.iter().enumerate() {
                    @if n > 0 { ", " }
                    @let href = copy.url.clone().unwrap_or_else(|| format!("/e/{}", copy.id));
                    a.also-on-link href=(href) rel="noopener" data-item=(copy.id) {
                        (bdi(&copy.label))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    #[track_caller]
    fn check_comment(body: &str, expected: &str) {
        assert_eq!(comment_text(body).into_string(), expected);
    }

    #[test]
    fn comment_html_is_escaped() {
        check_comment("<b>hi</b> & bye", "&lt;b&gt;hi&lt;/b&gt; &amp; bye")
    }

    #[test]
    fn comment_newlines_become_breaks() {
        check_comment("one\r\ntwo\nthree", "one<br>two<br>three")
    }

    #[test]
    fn comment_links_are_clickable() {
        check_comment(
            "see https://example.com/a?b=1&c=2.",
            "see <a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener noreferrer\">https://example.com/a?b=1&amp;c=2</a>.",
        )
    }

    #[test]
    fn comment_link_in_parentheses_keeps_its_own() {
        check_comment(
            "(https://en.wikipedia.org/wiki/Rust_(language))",
            "(<a href=\"https://en.wikipedia.org/wiki/Rust_(language)\" rel=\"nofollow ugc noopener noreferrer\">https://en.wikipedia.org/wiki/Rust_(language)</a>)",
        )
    }

    #[test]
    fn comment_other_schemes_stay_text() {
        check_comment(
            "javascript:alert(1) ftp://x.example",
            "javascript:alert(1) ftp://x.example",
        )
    }

    #[test]
    fn comment_link_cannot_break_out_of_its_attribute() {
        check_comment(
            "http://x.example/\"onmouseover=alert(1)",
            "<a href=\"http://x.example/\" rel=\"nofollow ugc noopener noreferrer\">http://x.example/</a>&quot;onmouseover=alert(1)",
        )
    }

    #[test]
    fn comment_scheme_inside_a_word_is_not_a_link() {
        check_comment("xhttp://x.example", "xhttp://x.example")
    }

    fn liker(name: &str) -> Liker {
        Liker {
            user_id: Some(UserId(1)),
            user_name: name.to_lowercase(),
            display_name: name.into(),
            remote: None,
        }
    }

    #[track_caller]
    fn check_likes(names: &[&str], n_likes: usize, expected: &str) {
        let likers: Vec<Liker> = names.iter().map(|n| liker(n)).collect();
        let html = likes_line(&likers, n_likes, NAMED_LIKERS).into_string();
        let text = html
            .split('<')
            .map(|part| part.split_once('>').map(|(_, t)| t).unwrap_or(part))
            .collect::<String>();
        assert_eq!(text, expected);
    }

    #[test]
    fn likes_one() {
        check_likes(&["Ana"], 1, "Ana liked this")
    }

    #[test]
    fn likes_two() {
        check_likes(&["Ana", "Bo"], 2, "Ana and Bo liked this")
    }

    #[test]
    fn likes_three() {
        check_likes(&["Ana", "Bo", "Cy"], 3, "Ana, Bo and Cy liked this")
    }

    #[test]
    fn likes_many() {
        check_likes(&["Ana", "Bo", "Cy"], 5, "Ana, Bo and 3 others liked this")
    }

    #[test]
    fn excerpts_cut_at_words() {
        assert_eq!(excerpt("alpha beta gamma", 12), "alpha beta…");
        assert_eq!(excerpt("abcdefghij", 4), "abcd…");
    }
}
