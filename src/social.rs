//! Rules of the social layer: who may see an item (`Visibility`, `Relation`), who may
//! edit or delete a comment and hide an item, what a comment may be, whom it mentions, and
//! when activity bumps an item. Pure: no IO, no SQL.

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::{User, UserId};

/// The longest comment accepted, in characters (after trimming).
pub const MAX_COMMENT_CHARS: usize = 4_000;

/// A like bumps an item back to the top only this long after it was published; later likes
/// are recorded but leave the order alone, so old items are not brought back by a click.
pub const LIKE_BUMP_WINDOW: TimeDelta = TimeDelta::hours(24);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    #[error("write something first")]
    Empty,
    #[error("a comment is at most {MAX_COMMENT_CHARS} characters (this one has {0})")]
    TooLong(usize),
}

/// The comment as it will be stored: plain text, trimmed, `\n` line ends (browsers send
/// `\r\n` from a textarea), 1..=`MAX_COMMENT_CHARS` characters.
pub fn validate_comment(body: &str) -> Result<String, CommentError> {
    let normalized = body.replace("\r\n", "\n");
    let trimmed = normalized.trim();
    let n_chars = trimmed.chars().count();
    if n_chars == 0 {
        return Err(CommentError::Empty);
    }
    if n_chars > MAX_COMMENT_CHARS {
        return Err(CommentError::TooLong(n_chars));
    }
    Ok(trimmed.to_owned())
}

/// Only the author edits a comment: nobody may put words in someone else's mouth.
pub fn may_edit_comment(viewer: &User, author: Option<UserId>) -> bool {
    author == Some(viewer.id)
}

/// The author, the owner of the item it is on, or an admin may delete a comment.
pub fn may_delete_comment(viewer: &User, author: Option<UserId>, item_owner: UserId) -> bool {
    author == Some(viewer.id) || viewer.id == item_owner || viewer.is_admin
}

/// Only the owner hides or unhides their item.
pub fn may_hide_item(viewer: &User, item_owner: UserId) -> bool {
    viewer.id == item_owner
}

/// The most people one comment notifies by `@name`; later names are plain text.
pub const MAX_MENTIONS: usize = 10;

/// The user names a comment mentions (`@ana`), each once, in order, at most
/// [`MAX_MENTIONS`]. An `@` after a letter or digit (an address, `bo@ana.example`) is no
/// mention; names are matched in lower case, as user names are stored.
pub fn mentioned_names(body: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (at, ch) in body.char_indices() {
        let after_word = previous.is_some_and(|p| p.is_alphanumeric() || p == '_');
        previous = Some(ch);
        if ch != '@' || after_word {
            continue;
        }
        let rest = &body[at + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let name = rest[..len]
            .trim_end_matches(['-', '_'])
            .to_ascii_lowercase();
        if !name.is_empty() && name.len() <= 32 && !names.contains(&name) {
            names.push(name);
            if names.len() == MAX_MENTIONS {
                break;
            }
        }
    }
    names
}

/// A new comment always bumps its item (FriendFeed's "bounce to the top").
pub fn comment_bumps() -> bool {
    true
}

/// A like bumps its item only while the item is fresh.
pub fn like_bumps(published_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - published_at <= LIKE_BUMP_WINDOW
}

pub use crate::model::Visibility;

/// How a viewer stands to the owner of what they look at. Read from the store by
/// `store::visibility::relation`; this is the one rule of who sees what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The owner themselves.
    Owner,
    /// A local user who follows the owner and whom the owner follows back.
    Friend,
    /// Anyone else: anonymous, a follower not followed back, a stranger, an admin.
    /// Admins get no extra read right on items that are not public.
    Other,
    /// One of the two blocked the other: nothing of the owner is shown.
    Blocked,
}

impl Relation {
    /// The most restrictive visibility this viewer may see, or `None` for nothing.
    pub fn max_visibility(self) -> Option<Visibility> {
        match self {
            Relation::Owner => Some(Visibility::Private),
            Relation::Friend => Some(Visibility::Friends),
            Relation::Other => Some(Visibility::Public),
            Relation::Blocked => None,
        }
    }

    /// Whether this viewer may see an item of effective visibility `visibility`.
    pub fn may_see(self, visibility: Visibility) -> bool {
        self.max_visibility().is_some_and(|max| visibility <= max)
    }
}

/// The relation of the owner of something to a viewer, from the facts the store reads.
pub fn relation(
    owner: UserId,
    viewer: Option<UserId>,
    follows: bool,
    followed_back: bool,
    blocked: bool,
) -> Relation {
    match viewer {
        None => Relation::Other,
        Some(viewer) if viewer == owner => Relation::Owner,
        Some(_) if blocked => Relation::Blocked,
        Some(_) if follows && followed_back => Relation::Friend,
        Some(_) => Relation::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, is_admin: bool) -> User {
        User {
            id: UserId(id),
            name: format!("u{id}"),
            display_name: String::new(),
            is_admin,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn comments_are_trimmed_and_capped() {
        assert_eq!(validate_comment("  hi \n"), Ok("hi".to_owned()));
        assert_eq!(validate_comment("a\r\nb"), Ok("a\nb".to_owned()));
        assert_eq!(validate_comment(" \n\t "), Err(CommentError::Empty));
        assert_eq!(
            validate_comment(&"é".repeat(MAX_COMMENT_CHARS)).map(|s| s.chars().count()),
            Ok(MAX_COMMENT_CHARS)
        );
        assert_eq!(
            validate_comment(&"x".repeat(MAX_COMMENT_CHARS + 1)),
            Err(CommentError::TooLong(MAX_COMMENT_CHARS + 1))
        );
    }

    #[test]
    fn only_the_author_edits() {
        assert!(may_edit_comment(&user(1, false), Some(UserId(1))));
        assert!(!may_edit_comment(&user(2, true), Some(UserId(1))));
    }

    #[test]
    fn author_owner_and_admin_delete() {
        assert!(may_delete_comment(
            &user(1, false),
            Some(UserId(1)),
            UserId(9)
        ));
        assert!(may_delete_comment(
            &user(9, false),
            Some(UserId(1)),
            UserId(9)
        ));
        assert!(may_delete_comment(
            &user(5, true),
            Some(UserId(1)),
            UserId(9)
        ));
        assert!(!may_delete_comment(
            &user(5, false),
            Some(UserId(1)),
            UserId(9)
        ));
    }

    #[test]
    fn only_the_owner_hides() {
        assert!(may_hide_item(&user(1, false), UserId(1)));
        assert!(!may_hide_item(&user(2, true), UserId(1)));
    }

    #[test]
    fn likes_bump_within_a_day_only() {
        let now = Utc::now();
        assert!(like_bumps(now - TimeDelta::hours(23), now));
        assert!(!like_bumps(now - TimeDelta::hours(25), now));
        assert!(comment_bumps());
    }

    #[track_caller]
    fn check_mentions(body: &str, expected: &[&str]) {
        assert_eq!(mentioned_names(body), expected);
    }

    #[test]
    fn mentions_are_names_after_an_at_sign() {
        check_mentions("@ana look", &["ana"]);
        check_mentions("thanks @Ana, and @bo-2.", &["ana", "bo-2"]);
        check_mentions("(@ana) @ana again", &["ana"]);
    }

    #[test]
    fn addresses_and_bare_at_signs_are_not_mentions() {
        check_mentions("mail bo@ana.example", &[]);
        check_mentions("@ @@ at @-", &[]);
    }

    #[test]
    fn at_most_max_mentions_notify() {
        let body: String = (0..20).map(|n| format!("@u{n} ")).collect();
        assert_eq!(mentioned_names(&body).len(), MAX_MENTIONS);
    }

    #[test]
    fn visibility_is_the_one_rule_of_who_sees_what() {
        let (owner, other) = (UserId(1), UserId(2));
        let rel = |viewer, follows, back, blocked| relation(owner, viewer, follows, back, blocked);
        assert_eq!(rel(None, false, false, false), Relation::Other);
        assert_eq!(rel(Some(owner), false, false, true), Relation::Owner);
        assert_eq!(rel(Some(other), true, true, false), Relation::Friend);
        assert_eq!(rel(Some(other), true, false, false), Relation::Other);
        assert_eq!(rel(Some(other), false, true, false), Relation::Other);
        assert_eq!(rel(Some(other), true, true, true), Relation::Blocked);
        let sees = |r: Relation| Visibility::ALL.map(|v| r.may_see(v));
        assert_eq!(sees(Relation::Owner), [true, true, true]);
        assert_eq!(sees(Relation::Friend), [true, true, false]);
        assert_eq!(sees(Relation::Other), [true, false, false]);
        assert_eq!(sees(Relation::Blocked), [false, false, false]);
        for v in Visibility::ALL {
            assert_eq!(Visibility::parse(v.as_str()), Some(v));
            assert_eq!(Visibility::from_i64(v.as_i64()), v);
        }
        assert_eq!(
            Visibility::Public.max(Visibility::Friends),
            Visibility::Friends
        );
    }
}
