//! The item card and the comment views shared by streams and the item page. Pure functions
//! of view data to markup; no store, no state. Only `SafeHtml` is emitted unescaped.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::session::PageCtx;
use super::views::{ACTION_FORM, bdi, csrf_field, shown_name, time, urlencode};
use super::{assets, services};
use crate::model::{Item, ItemKind, Media};
use crate::social::{MAX_COMMENT_CHARS, may_delete_comment, may_edit_comment, may_hide_item};
use crate::store::also_on::AlsoOn;
use crate::store::social::{Comment, ItemSocial, ItemState, Liker};

/// Plain text longer than this is shown in a stream as an excerpt with a "more" link: a
/// note or a post without a title (a toot is at most 500 characters on most servers) shows
/// whole up to here.
pub const EXCERPT_CHARS: usize = 500;
/// The same for an item with a title (an article): the title says what it is, the card
/// shows a teaser of it, as feed readers' list views do.
pub const TITLED_EXCERPT_CHARS: usize = 240;

/// How much of `item`'s text a stream card shows before "more".
fn excerpt_chars(item: &Item) -> usize {
    if item.title.trim().is_empty() {
        EXCERPT_CHARS
    } else {
        TITLED_EXCERPT_CHARS
    }
}
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
/// players, likes, comments, and the viewer's buttons. In a stream the card carries no
/// comment form, only a link to the item page's form (`#comment`).
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
    let body_shows_html = shows_content_html(item, mode);
    html! {
        article.item.is-hidden[social.hidden] id={ "item-" (item.id) } {
            (item_meta(item, social.hidden && is_owner, is_owner, now))
            @if !item.title.is_empty() {
                @if mode == CardMode::Full { h1.item-title { (title_link(item)) } }
                @else { h2.item-title { (title_link(item)) } }
            } @else if mode == CardMode::Full {
                // The item page needs a heading even for an untitled note.
                h1.visually-hidden { (untitled_heading(item)) }
            }
            (shared_from(item))
            (native_share(item))
            @if is_owner && let Some(reason) = item.extra.get("preview_error").and_then(|r| r.as_str()) {
                p.preview-note.muted { "No preview: " (reason) "." }
            }
            @if let Some(warning) = content_warning(item) {
                details.content-warning {
                    summary { (bdi(&warning)) }
                    (item_body(item, mode))
                    (attachments(item, body_shows_html))
                }
            } @else {
                (item_body(item, mode))
                (attachments(item, body_shows_html))
            }
            (facts(item))
            (also_on(&social.also_on))
            (actions(ctx, item, social, is_owner, mode))
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
                        (comment_view(ctx, comment, item, now))
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
            @if mode == CardMode::Full {
                @if ctx.user.is_some() {
                    (comment_form(ctx, item, draft, &next))
                } @else {
                    p.muted {
                        a href={ "/login?next=" (urlencode(&item_path)) } { "Log in" }
                        " to like or comment."
                    }
                }
            }
        }
    }
}

/// The card's first line: the service icon (linking to the user's items of that
/// service), the user with their avatar, the source (linking to its own filter), the time.
fn item_meta(item: &Item, hidden_for_owner: bool, is_owner: bool, now: DateTime<Utc>) -> Markup {
    let service = services::service_of(&item.source_kind);
    let user_path = format!("/{}", item.user_name);
    html! {
        header.item-meta {
            a href={ (user_path) "?service=" (urlencode(&item.source_kind)) } {
                // Sized by the style sheet (`.service-icon`), as on every card.
                img.service-icon src=(icon_src(item)) alt=(service.name);
            }
            " "
            @if let Some(avatar) = item.user_avatar.as_deref().filter(|url| is_web_text(url)) {
                img.avatar.tiny src=(avatar) alt="" width="20" height="20" loading="lazy"
                    referrerpolicy="no-referrer";
                " "
            }
            // User names are ASCII letters, digits, `_` and `-`: nothing to isolate.
            a.item-user href=(user_path) { (item.user_name) }
            " · "
            a href={ (user_path) "?source=" (item.source_id) } { (bdi(item.source_label())) }
            " · "
            a href={ "/e/" (item.id) } { (time(item.published_at, now)) }
            @if hidden_for_owner {
                " " span.badge.hidden-badge { "hidden" }
            }
            // Who may see it, for its owner (nobody else sees an item that is not public
            // without being allowed to).
            @if let Some(badge) = item.visibility.badge().filter(|_| is_owner) {
                " " span.badge.visibility-badge { (badge) }
            }
            @if item.extra.contains_key(crate::store::items::DELETED_UPSTREAM) {
                " " span.badge.deleted-badge title="Deleted where it was posted; kept here because its source keeps deleted items" {
                    "deleted at the source"
                }
            }
        }
    }
}

/// The address of a card's service icon: the embedded icon of the item's service; for a
/// source without one (a plain feed), the site's icon fetched into the media store when
/// there is one, else the podcast, video or generic feed icon by the item's kind.
fn icon_src(item: &Item) -> String {
    let service = services::service_of(&item.source_kind);
    match item.source_icon.as_deref() {
        Some(hash)
            if services::wants_site_icon(&item.source_kind) && crate::media::is_hash(hash) =>
        {
            format!("/media/{hash}")
        }
        _ => assets::url(services::icon_for(service, item.kind)),
    }
}

/// A heading for an item without a title: the start of its text, else who posted it.
fn untitled_heading(item: &Item) -> String {
    let text = item.summary_text.trim();
    if text.is_empty() {
        format!("{}'s item", item.user_name)
    } else {
        truncate_fact(text, MAX_HEADING_CHARS)
    }
}

/// Longest heading made from an untitled item's text, in characters.
const MAX_HEADING_CHARS: usize = 80;

/// More than this many items in a row from one source within [`BURST_WINDOW_SECS`] collapse
/// into one group card in a stream.
pub const BURST_MIN_ITEMS: usize = 3;
/// How close together a burst's items were posted.
pub const BURST_WINDOW_SECS: i64 = 3600;
/// Items a group card names before "and K more".
pub const BURST_SHOWN: usize = 3;

/// One entry of a rendered stream: an item's own card, or a burst of items from one
/// source shown as one group card.
#[derive(Debug, PartialEq)]
pub enum StreamEntry<'a> {
    One(&'a Item),
    Burst(&'a [Item]),
}

/// Groups a page's items (in page order) into entries: a run of more than
/// [`BURST_MIN_ITEMS`] consecutive items from one source, all posted within
/// [`BURST_WINDOW_SECS`] of the run's first, becomes one burst. Pure, and only within the
/// page, so paging (which the store does on items) is untouched.
pub fn group_bursts(items: &[Item]) -> Vec<StreamEntry<'_>> {
    let mut entries = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let first = &items[start];
        let run_len = items[start..]
            .iter()
            .take_while(|item| {
                item.source_id == first.source_id
                    && (first.published_at - item.published_at).num_seconds().abs()
                        <= BURST_WINDOW_SECS
            })
            .count();
        if run_len > BURST_MIN_ITEMS {
            entries.push(StreamEntry::Burst(&items[start..start + run_len]));
            start += run_len;
        } else {
            entries.push(StreamEntry::One(first));
            start += 1;
        }
    }
    entries
}

/// A burst as one card: "ana pushed 20 commits to miniflux/v2" (or "ana posted 20 items
/// from …"), the first [`BURST_SHOWN`] items, and "and K more" linking to the source's
/// own stream, where nothing is grouped.
pub fn burst_card(items: &[Item], now: DateTime<Utc>) -> Markup {
    let Some(first) = items.first() else {
        return html! {};
    };
    let service = services::service_of(&first.source_kind);
    let user_path = format!("/{}", first.user_name);
    let source_path = format!("{user_path}?source={}", first.source_id);
    let n_more = items.len().saturating_sub(BURST_SHOWN);
    html! {
        article.burst id={ "burst-" (first.id) } data-source=(first.source_id) {
            header.item-meta {
                a.item-service href={ (user_path) "?service=" (urlencode(&first.source_kind)) }
                    title={ "Only " (service.name) " items" } {
                    img.service-icon src=(icon_src(first)) alt=(service.name)
                        width="16" height="16";
                }
                " "
                a.item-user href=(user_path) { (bdi(&first.user_name)) }
                " · "
                a.item-source href=(source_path) { (bdi(first.source_label())) }
                " · " (time(first.published_at, now))
            }
            p.burst-summary { (bdi(&burst_summary(items))) }
            ul.burst-items {
                @for item in items.iter().take(BURST_SHOWN) {
                    li data-item=(item.id) {
                        a href={ "/e/" (item.id) } { (bdi(&item_line(item))) }
                    }
                }
            }
            @if n_more > 0 {
                p.burst-more { a href=(source_path) { "and " (n_more) " more" } }
            }
        }
    }
}

/// What a burst was: pushes of one repository, else items of one source.
fn burst_summary(items: &[Item]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let text_of = |item: &Item, key: &str| {
        item.extra
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let repo = text_of(first, "repo");
    let all_pushes_to_repo = repo.is_some()
        && items.iter().all(|item| {
            text_of(item, "event").as_deref() == Some("PushEvent") && text_of(item, "repo") == repo
        });
    if let (true, Some(repo)) = (all_pushes_to_repo, repo) {
        let n_commits: i64 = items
            .iter()
            .map(|item| {
                item.extra
                    .get("commits")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(1)
                    .max(0)
            })
            .sum();
        let noun = if n_commits == 1 { "commit" } else { "commits" };
        return format!(
            "{} pushed {n_commits} {noun} to {}",
            first.user_name,
            truncate_fact(&repo, MAX_FACT_CHARS)
        );
    }
    format!(
        "{} posted {} items from {}",
        first.user_name,
        items.len(),
        truncate_fact(first.source_label(), MAX_FACT_CHARS)
    )
}

/// One line naming an item in a group card: its title, else the start of its text.
fn item_line(item: &Item) -> String {
    if item.title.trim().is_empty() {
        untitled_heading(item)
    } else {
        truncate_fact(&item.title, MAX_HEADING_CHARS)
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
pub fn comment_view(ctx: &PageCtx, comment: &Comment, item: &Item, now: DateTime<Utc>) -> Markup {
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
                div.comment-meta {
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
                        " · " (delete_button(comment))
                    }
                }
            } @else {
            div.comment-body dir="auto" { (comment_text(&comment.body)) }
            div.comment-meta {
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
                    " · " (delete_button(comment))
                }
            }
            }
        }
    }
}

/// A comment's Delete, a button of the page's action form.
fn delete_button(comment: &Comment) -> Markup {
    html! {
        button.link form=(ACTION_FORM) formaction={ "/c/" (comment.id) "/delete" } {
            "Delete"
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

/// The action row: the like button (a real form), the like and comment counts that live
/// updates change (`span.n-likes`, `span.n-comments`), in a stream the "Comment" link to
/// the item page's form, and the owner's Hide.
fn actions(
    ctx: &PageCtx,
    item: &Item,
    social: &ItemSocial,
    is_owner: bool,
    mode: CardMode,
) -> Markup {
    html! {
        div.item-actions {
            @if ctx.user.is_some() {
                @let (action, label) = if social.liked_by_viewer { ("unlike", "Unlike") } else { ("like", "Like") };
                button.like form=(ACTION_FORM)
                    formaction={ "/e/" (item.id) "/" (action) } { (label) }
            }
            // Counts only when there is something to count; the page script adds one when
            // the first like or comment arrives.
            @if social.n_likes > 0 {
                span.tally { "Likes " span.n-likes { (social.n_likes) } }
            }
            @if mode == CardMode::Stream {
                // The script opens the form in place (`.item-actions a[href$="#comment"]`).
                a href={ "/e/" (item.id) "#comment" } { "Comment" }
            }
            @if social.n_comments > 0 {
                span.tally { "Comments " span.n-comments { (social.n_comments) } }
            }
            @if let Some(me) = ctx.user.as_ref().filter(|_| !is_owner) {
                @if social.shared_by_viewer {
                    button.unshare form=(ACTION_FORM)
                        formaction={ "/e/" (item.id) "/unshare" } { "Unshare" }
                } @else if crate::posts::may_share(me, item, ItemState { hidden: social.hidden, tombstoned: false, source_removed: false, visibility: item.visibility }) {
                    a.share href={ "/e/" (item.id) "/share" } { "Share" }
                }
            }
            @if is_owner {
                @let (action, label) = if social.hidden { ("unhide", "Unhide") } else { ("hide", "Hide") };
                button form=(ACTION_FORM)
                    formaction={ "/e/" (item.id) "/" (action) } { (label) }
                @if crate::posts::is_native(item) {
                    a.edit href={ "/e/" (item.id) "/edit" } { "Edit" }
                    a.delete href={ "/e/" (item.id) "/delete" } { "Delete" }
                }
            }
        }
    }
}

/// The title, linking to the original when it has a web address, else to the item page.
fn title_link(item: &Item) -> Markup {
    match item.url.as_ref().filter(|url| is_web(url)) {
        Some(url) => {
            // No `rel`: every page says `Referrer-Policy: same-origin` (see `web::mod`), and
            // a link without a target opens no window that could reach back.
            html! { a href=(url.as_str()) { (bdi(&item.title)) } }
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
                Some(url) => a href=(url.as_str()) rel="nofollow" { (bdi(&name)) },
                None => (bdi(&name)),
            }
        }
    }
}

/// "shared Bo's item “title”", for a share made here: the original's page, and "via" its
/// own address.
fn native_share(item: &Item) -> Markup {
    if !crate::posts::is_share(item) {
        return html! {};
    }
    let Some(original) = item.extra.get("share_of") else {
        return html! {};
    };
    let text = |key: &str| -> String {
        original
            .get(key)
            .and_then(|v| v.as_str())
            .map(|v| v.trim().chars().take(MAX_EXTRA_LABEL_CHARS).collect())
            .unwrap_or_default()
    };
    let id = original
        .get("id")
        .and_then(|v| v.as_i64())
        .unwrap_or_default();
    let (user, title) = (text("user"), text("title"));
    let url = original
        .get("url")
        .and_then(|u| u.as_str())
        .and_then(|u| url::Url::parse(u).ok())
        .filter(is_web);
    html! {
        p.shared-from.native-share {
            "shared "
            a href={ "/" (user) } { (bdi(&user)) } "'s "
            a.shared-item href={ "/e/" (id) } {
                @if title.is_empty() { "item" } @else { "item “" (bdi(&title)) "”" }
            }
            @if let Some(url) = url {
                " via "
                a.shared-origin href=(url.as_str()) rel="nofollow" { (url.host_str().unwrap_or("the original")) }
            }
        }
    }
}

fn item_body(item: &Item, mode: CardMode) -> Markup {
    let summary = item.summary_text.trim();
    let max_chars = excerpt_chars(item);
    let is_long = summary.char_indices().nth(max_chars).is_some();
    html! {
        @if mode == CardMode::Stream && is_long {
            div.content.excerpt dir="auto" {
                p { (excerpt(summary, max_chars)) " " a.more href={ "/e/" (item.id) } { "more" } }
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

/// Whether the card shows the item's HTML content itself (not an excerpt): then pictures
/// already in it are not shown again below it.
fn shows_content_html(item: &Item, mode: CardMode) -> bool {
    let is_long = item
        .summary_text
        .trim()
        .char_indices()
        .nth(excerpt_chars(item))
        .is_some();
    let is_excerpt = mode == CardMode::Stream && is_long;
    !is_excerpt && !item.content.is_empty()
}

/// What a card shows of one attachment.
#[derive(Debug, PartialEq)]
enum Attachment<'a> {
    /// A picture: a photo, or a link's preview image.
    Picture(&'a Media, &'a url::Url),
    /// A video: its thumbnail with a play mark, linking out.
    Video(&'a Media, &'a url::Url),
    /// A sound file: a native player.
    Audio(&'a Media),
}

/// The item's attachments as a card shows them: a gallery of pictures (none that the
/// content already shows), video thumbnails with a play mark, audio players.
fn attachments(item: &Item, body_shows_html: bool) -> Markup {
    let shown_in_body: Vec<String> = if body_shows_html {
        img_sources(item.content.as_str())
            .iter()
            .filter_map(|src| url::Url::parse(src).ok())
            .map(|url| same_picture_key(&url))
            .collect()
    } else {
        Vec::new()
    };
    let mut seen = shown_in_body;
    let mut found: Vec<Attachment<'_>> = Vec::new();
    for media in &item.media {
        let Some(attachment) = attachment_of(item.kind, media) else {
            continue;
        };
        let key = match &attachment {
            Attachment::Picture(_, src) | Attachment::Video(_, src) => same_picture_key(src),
            Attachment::Audio(media) => same_picture_key(&media.url),
        };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        found.push(attachment);
    }
    let link = item.url.as_ref().filter(|url| is_web(url));
    let pictures: Vec<&Attachment<'_>> = found
        .iter()
        .filter(|a| !matches!(a, Attachment::Audio(_)))
        .take(MAX_THUMBNAILS)
        .collect();
    html! {
        @for attachment in &found {
            @if let Attachment::Audio(media) = attachment {
                div.audio {
                    audio controls preload="none" src=(media.url.as_str()) {}
                    p.audio-file {
                        a href=(media.url.as_str()) { "Download" }
                        @if let Some(length) = audio_length(item, media) { " (" (length) ")" }
                    }
                }
            }
        }
        @if !pictures.is_empty() {
            div.thumbnails {
                @for attachment in &pictures {
                    @match attachment {
                        Attachment::Picture(media, src) => {
                            a href=(link.unwrap_or(&media.url).as_str()) {
                                img src=(src.as_str()) alt=(media.alt.as_deref().unwrap_or(""))
                                    loading="lazy" decoding="async";
                            }
                        }
                        Attachment::Video(media, src) => {
                            a.video href=(link.unwrap_or(&media.url).as_str())
                                title="Play (opens the video's page)" {
                                img src=(src.as_str()) alt=(media.alt.as_deref().unwrap_or("Video"))
                                    loading="lazy" decoding="async";
                                span.play-mark aria-hidden="true" { "▶" }
                            }
                        }
                        Attachment::Audio(_) => {}
                    }
                }
            }
        }
    }
}

/// How a card shows one attachment, if at all. A thumbnail is always a picture, whatever
/// the attachment's own type (YouTube's feed calls its video `application/x-shockwave-flash`);
/// video and audio files themselves never go in an `<img>`.
fn attachment_of(kind: ItemKind, media: &Media) -> Option<Attachment<'_>> {
    let media_type = media
        .media_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_audio =
        media_type.starts_with("audio/") || (media_type.is_empty() && kind == ItemKind::Audio);
    let is_image =
        media_type.starts_with("image/") || (media_type.is_empty() && kind == ItemKind::Photo);
    let is_video = media_type.starts_with("video/")
        || media_type == "application/x-shockwave-flash"
        || kind == ItemKind::Video;
    if is_audio {
        return is_web(&media.url).then_some(Attachment::Audio(media));
    }
    let thumbnail = media.thumbnail.as_ref().filter(|url| is_web(url));
    match thumbnail {
        Some(src) if is_video && !is_image => Some(Attachment::Video(media, src)),
        Some(src) => Some(Attachment::Picture(media, src)),
        None if is_image && is_web(&media.url) => Some(Attachment::Picture(media, &media.url)),
        None => None,
    }
}

/// A sound file's length for its link: the duration the feed gave (`extra.duration`,
/// e.g. iTunes' `01:02:03`), else its size in bytes, rounded.
fn audio_length(item: &Item, media: &Media) -> Option<String> {
    let duration = item
        .extra
        .get("duration")
        .and_then(serde_json::Value::as_str)
        .map(|text| truncate_fact(text, MAX_DURATION_CHARS))
        .filter(|text| !text.is_empty());
    duration.or_else(|| media.length.filter(|n| *n > 0).map(file_size))
}

/// Longest duration text shown.
const MAX_DURATION_CHARS: usize = 16;

/// "12.3 MB", "800 kB", "512 bytes".
fn file_size(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let n = bytes as f64;
    if n >= KB * KB {
        format!("{:.1} MB", n / (KB * KB))
    } else if n >= KB {
        format!("{:.0} kB", n / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The `src` of every `<img>` in sanitized HTML (attributes double-quoted, `&` written
/// `&amp;`), unescaped.
fn img_sources(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut sources = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<img") {
        let tag_start = from + at;
        let tag_end = lower[tag_start..]
            .find('>')
            .map_or(lower.len(), |end| tag_start + end);
        let tag = &lower[tag_start..tag_end];
        if let Some(src_at) = tag.find(" src=\"") {
            let value_start = tag_start + src_at + " src=\"".len();
            if let Some(len) = html[value_start..tag_end].find('"') {
                let value = &html[value_start..value_start + len];
                sources.push(value.replace("&amp;", "&"));
            }
        }
        from = tag_end;
    }
    sources
}

/// Two addresses of one picture compare equal by this: the scheme and fragment do not
/// count (a feed may say `http` in the body and `https` in the enclosure).
fn same_picture_key(url: &url::Url) -> String {
    let mut key = url.clone();
    key.set_fragment(None);
    let text = key.as_str();
    text.split_once("://")
        .map_or(text, |(_, rest)| rest)
        .to_owned()
}

fn is_web(url: &url::Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fn is_web_text(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| is_web(&url))
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
    use crate::model::{ItemId, SafeHtml, SourceId, UserId};

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

    fn item(id: i64, kind: ItemKind) -> Item {
        let at = DateTime::parse_from_rfc3339("2026-01-02T10:00:00Z")
            .expect("a valid time")
            .with_timezone(&Utc);
        Item {
            id: ItemId(id),
            user_id: UserId(1),
            user_name: "ana".into(),
            user_avatar: None,
            source_icon: None,
            source_id: SourceId(2),
            source_kind: "feed".into(),
            source_title: "Daring Fireball".into(),
            external_id: id.to_string(),
            url: Some(url::Url::parse("https://site.example/post").expect("a valid URL")),
            title: format!("Post {id}"),
            author_name: None,
            content: SafeHtml::default(),
            summary_text: String::new(),
            kind,
            media: Vec::new(),
            tags: Vec::new(),
            extra: serde_json::Map::new(),
            published_at: at,
            updated_at: None,
            fetched_at: at,
            bumped_at: at,
            visibility: Default::default(),
            own_visibility: Default::default(),
        }
    }

    fn media(url: &str, media_type: &str) -> Media {
        let mut media = Media::at(url::Url::parse(url).expect("a valid URL"));
        media.media_type = (!media_type.is_empty()).then(|| media_type.to_owned());
        media
    }

    fn anonymous() -> PageCtx {
        PageCtx {
            user: None,
            csrf: String::new(),
            signup: crate::config::Signup::Closed,
            path: "/ana".into(),
            unread: 0,
            saved_searches: Vec::new(),
        }
    }

    fn card(item: &Item) -> String {
        let now = item.published_at;
        item_card(
            &anonymous(),
            item,
            &ItemSocial::default(),
            CardMode::Stream,
            &CommentDraft::default(),
            now,
        )
        .into_string()
    }

    #[test]
    fn audio_card_plays_the_enclosure() {
        let mut podcast = item(1, ItemKind::Audio);
        let mut enclosure = media("https://cdn.example/ep1.mp3", "audio/mpeg");
        enclosure.length = Some(12_345_678);
        podcast.media.push(enclosure);
        let html = card(&podcast);
        assert!(
            html.contains(r#"<audio controls preload="none" src="https://cdn.example/ep1.mp3">"#),
            "{html}"
        );
        assert!(html.contains("12.3 MB"), "{html}");
        assert!(
            !html.contains("<img src=\"https://cdn.example/ep1.mp3\""),
            "{html}"
        );
    }

    #[test]
    fn audio_length_prefers_the_duration() {
        let mut podcast = item(1, ItemKind::Audio);
        podcast.extra.insert("duration".into(), "01:02:03".into());
        podcast
            .media
            .push(media("https://cdn.example/ep1.mp3", "audio/mpeg"));
        assert!(card(&podcast).contains("(01:02:03)"));
    }

    #[test]
    fn flash_typed_video_shows_its_thumbnail_with_a_play_mark() {
        // See: #19. YouTube's feed types its video `application/x-shockwave-flash`.
        for kind in [ItemKind::Link, ItemKind::Video] {
            let mut video = item(1, kind);
            let mut flash = media(
                "https://www.youtube.com/v/abc?version=3",
                "application/x-shockwave-flash",
            );
            flash.thumbnail = Some(url::Url::parse("https://i.ytimg.com/vi/abc/hq.jpg").unwrap());
            video.media.push(flash);
            let html = card(&video);
            assert!(
                html.contains(r#"<a class="video" href="https://site.example/post""#),
                "{html}"
            );
            assert!(
                html.contains(r#"src="https://i.ytimg.com/vi/abc/hq.jpg""#),
                "{html}"
            );
            assert!(html.contains("play-mark"), "{html}");
            assert!(!html.contains("<iframe"), "{html}");
        }
    }

    #[test]
    fn photo_in_the_body_is_not_repeated_as_a_thumbnail() {
        // See: #19. Every photo appeared twice.
        let mut photo = item(1, ItemKind::Photo);
        photo.content = SafeHtml::assume_sanitized(
            r#"<p><img src="http://photos.example/a.jpg?s=1&amp;t=2" alt="a cat"></p>"#.into(),
        );
        photo
            .media
            .push(media("https://photos.example/a.jpg?s=1&t=2", "image/jpeg"));
        photo
            .media
            .push(media("https://photos.example/b.jpg", "image/jpeg"));
        let html = card(&photo);
        assert_eq!(html.matches("photos.example/a.jpg").count(), 1, "{html}");
        assert_eq!(html.matches("photos.example/b.jpg").count(), 1, "{html}");
    }

    #[test]
    fn same_photo_twice_in_the_media_is_shown_once() {
        let mut photo = item(1, ItemKind::Photo);
        photo.media.push(media("https://p.example/a.jpg", ""));
        photo
            .media
            .push(media("https://p.example/a.jpg", "image/jpeg"));
        assert_eq!(card(&photo).matches("p.example/a.jpg").count(), 1);
    }

    #[test]
    fn stream_card_links_to_the_comment_form_and_counts_only_what_there_is() {
        let html = card(&item(7, ItemKind::Note));
        assert!(
            html.contains(r#"<article class="item" id="item-7">"#),
            "{html}"
        );
        assert!(html.contains(r##"<a href="/e/7#comment">"##), "{html}");
        // Nothing to count yet: no counts (the page script adds one when the first comes).
        assert!(!html.contains("n-likes"), "{html}");
        assert!(!html.contains("n-comments"), "{html}");
        assert!(!html.contains("<textarea"), "{html}");
        let note = item(7, ItemKind::Note);
        let social = ItemSocial {
            n_likes: 2,
            n_comments: 1,
            ..ItemSocial::default()
        };
        let counted = item_card(
            &anonymous(),
            &note,
            &social,
            CardMode::Stream,
            &CommentDraft::default(),
            note.published_at,
        )
        .into_string();
        assert!(
            counted.contains(r#"Likes <span class="n-likes">2</span>"#),
            "{counted}"
        );
        assert!(
            counted.contains(r#"Comments <span class="n-comments">1</span>"#),
            "{counted}"
        );
    }

    #[test]
    fn card_links_its_source_and_service_filters() {
        let html = card(&item(7, ItemKind::Note));
        assert!(html.contains(r#"href="/ana?source=2""#), "{html}");
        assert!(html.contains(r#"href="/ana?service=feed""#), "{html}");
        assert!(html.contains("service-feed.svg"), "{html}");
    }

    #[test]
    fn untitled_item_page_still_has_a_heading() {
        let mut note = item(7, ItemKind::Note);
        note.title.clear();
        note.summary_text = "Just landed in Lisbon".into();
        let html = item_card(
            &anonymous(),
            &note,
            &ItemSocial::default(),
            CardMode::Full,
            &CommentDraft::default(),
            note.published_at,
        )
        .into_string();
        assert!(
            html.contains(r#"<h1 class="visually-hidden">Just landed in Lisbon</h1>"#),
            "{html}"
        );
    }

    #[test]
    fn comment_delete_stays_inline_in_the_meta_line() {
        // See: #19. A `<form>` in a `<p>` ends the paragraph: the button left the line.
        let note = item(7, ItemKind::Note);
        let owner = crate::model::User {
            id: UserId(1),
            name: "ana".into(),
            display_name: String::new(),
            is_admin: false,
            created_at: note.published_at,
        };
        let ctx = PageCtx {
            user: Some(owner),
            ..anonymous()
        };
        let comment = Comment {
            id: crate::model::CommentId(3),
            item_id: note.id,
            user_id: Some(UserId(2)),
            user_name: "bo".into(),
            display_name: String::new(),
            body: "Nice".into(),
            body_html: None,
            remote: None,
            parent_id: None,
            created_at: note.published_at,
            edited_at: None,
        };
        let html = comment_view(&ctx, &comment, &note, note.published_at).into_string();
        let meta_at = html
            .find(r#"<div class="comment-meta">"#)
            .expect("a div meta");
        // No form at all: Delete is a button of the page's action form.
        assert!(!html.contains("<form"), "{html}");
        let button_at = html
            .find(r#"<button class="link" form="act" formaction="/c/3/delete">Delete</button>"#)
            .expect("a delete button");
        assert!(button_at > meta_at, "{html}");
        assert!(!html.contains("<p class=\"comment-meta\""), "{html}");
    }

    fn commit_push(id: i64, minutes_ago: i64) -> Item {
        let mut push = item(id, ItemKind::Code);
        push.source_kind = "github".into();
        push.source_title = "GitHub".into();
        push.published_at -= chrono::TimeDelta::minutes(minutes_ago);
        push.extra.insert("repo".into(), "miniflux/v2".into());
        push.extra.insert("event".into(), "PushEvent".into());
        push.extra.insert("commits".into(), 1.into());
        push
    }

    #[test]
    fn burst_of_pushes_becomes_one_group_card() {
        let mut items: Vec<Item> = (0..20).map(|n| commit_push(100 - n, n)).collect();
        let mut other = item(5, ItemKind::Note);
        other.source_id = SourceId(9);
        items.push(other);
        let entries = group_bursts(&items);
        assert_eq!(entries.len(), 2);
        let StreamEntry::Burst(burst) = entries[0] else {
            panic!("a burst first: {entries:?}")
        };
        assert_eq!(burst.len(), 20);
        let html = burst_card(burst, items[0].published_at).into_string();
        assert!(
            html.contains("ana pushed 20 commits to miniflux/v2"),
            "{html}"
        );
        assert_eq!(html.matches("<li ").count(), BURST_SHOWN, "{html}");
        assert!(
            html.contains(r#"<a href="/ana?source=2">and 17 more</a>"#),
            "{html}"
        );
    }

    #[test]
    fn few_or_spread_out_items_stay_cards() {
        let few: Vec<Item> = (0..BURST_MIN_ITEMS as i64)
            .map(|n| commit_push(n, n))
            .collect();
        assert!(
            group_bursts(&few)
                .iter()
                .all(|e| matches!(e, StreamEntry::One(_)))
        );
        let spread: Vec<Item> = (0..6).map(|n| commit_push(n, n * 30)).collect();
        let entries = group_bursts(&spread);
        assert!(
            entries.iter().all(|e| matches!(e, StreamEntry::One(_))),
            "{entries:?}"
        );
    }

    #[test]
    fn excerpts_cut_at_words() {
        assert_eq!(excerpt("alpha beta gamma", 12), "alpha beta…");
        assert_eq!(excerpt("abcdefghij", 4), "abcd…");
    }
}
