//! Rules: what a logged-in viewer's stream pages leave out (viewer rules), and which items
//! a source's owner keeps out of the store at ingest (source rules). Checking and
//! matching only. Pure: no IO, no SQL.

use regex::{Regex, RegexBuilder};

use crate::model::{Item, ItemKind, NewItem, SourceId, UserId};

/// Longest keyword, service name or pattern a rule holds, in characters.
pub const MAX_RULE_CHARS: usize = 200;
/// Most rules one viewer, or one source, has.
pub const MAX_RULES: usize = 100;
/// The compiled size a source rule's regex may take (the `regex` crate's size limit).
pub const MAX_REGEX_BYTES: usize = 64 * 1024;

/// What a viewer rule hides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewerRuleKind {
    /// Items whose title or text holds these words (case-insensitive, whole words).
    Keyword,
    /// Items of one service (a source kind, e.g. `github`).
    Service,
    /// Items of one source.
    Source,
    /// Items of one person (their lifestream's items).
    Person,
    /// Everything but photos.
    PhotosOnly,
}

impl ViewerRuleKind {
    pub const ALL: [ViewerRuleKind; 5] = [
        ViewerRuleKind::Keyword,
        ViewerRuleKind::Service,
        ViewerRuleKind::Source,
        ViewerRuleKind::Person,
        ViewerRuleKind::PhotosOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ViewerRuleKind::Keyword => "keyword",
            ViewerRuleKind::Service => "service",
            ViewerRuleKind::Source => "source",
            ViewerRuleKind::Person => "person",
            ViewerRuleKind::PhotosOnly => "photos_only",
        }
    }

    pub fn parse(text: &str) -> Option<ViewerRuleKind> {
        ViewerRuleKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The form's label of the kind.
    pub fn label(self) -> &'static str {
        match self {
            ViewerRuleKind::Keyword => "Words in the title or text",
            ViewerRuleKind::Service => "A service (e.g. github)",
            ViewerRuleKind::Source => "A source (its number)",
            ViewerRuleKind::Person => "A person (their user name)",
            ViewerRuleKind::PhotosOnly => "Everything but photos",
        }
    }
}

/// One of a viewer's rules, as matching needs it. `Source` and `Person` values are ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewerRule {
    Keyword(String),
    Service(String),
    Source(SourceId),
    Person(UserId),
    PhotosOnly,
}

impl ViewerRule {
    /// Reads a stored rule; `None` for a value that is not of its kind.
    pub fn from_stored(kind: ViewerRuleKind, value: &str) -> Option<ViewerRule> {
        Some(match kind {
            ViewerRuleKind::Keyword => ViewerRule::Keyword(value.to_lowercase()),
            ViewerRuleKind::Service => ViewerRule::Service(value.to_owned()),
            ViewerRuleKind::Source => ViewerRule::Source(SourceId(value.parse().ok()?)),
            ViewerRuleKind::Person => ViewerRule::Person(UserId(value.parse().ok()?)),
            ViewerRuleKind::PhotosOnly => ViewerRule::PhotosOnly,
        })
    }

    /// Whether this rule hides `item`.
    pub fn hides(&self, item: &Item) -> bool {
        match self {
            ViewerRule::Keyword(words) => {
                has_phrase(&item.title.to_lowercase(), words)
                    || has_phrase(&item.summary_text.to_lowercase(), words)
            }
            ViewerRule::Service(kind) => item.source_kind == *kind,
            ViewerRule::Source(id) => item.source_id == *id,
            ViewerRule::Person(id) => item.user_id == *id,
            ViewerRule::PhotosOnly => !is_photo(item),
        }
    }
}

/// Whether any of `rules` hides `item`.
pub fn hidden_by(rules: &[ViewerRule], item: &Item) -> bool {
    rules.iter().any(|rule| rule.hides(item))
}

/// Checks a keyword or service the viewer typed: trimmed, not empty, not too long; the
/// value to store, or the message to show beside the field.
pub fn check_text_value(kind: ViewerRuleKind, value: &str) -> Result<String, String> {
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() {
        return Err(match kind {
            ViewerRuleKind::Keyword => "Type the words to hide.".to_owned(),
            _ => "Say what to hide.".to_owned(),
        });
    }
    if value.chars().count() > MAX_RULE_CHARS {
        return Err(format!("At most {MAX_RULE_CHARS} characters."));
    }
    Ok(match kind {
        ViewerRuleKind::Service => value.to_lowercase(),
        _ => value,
    })
}

/// Whether the item is a photo: its kind, or an image among its media.
fn is_photo(item: &Item) -> bool {
    item.kind == ItemKind::Photo
        || item.media.iter().any(|media| {
            media
                .media_type
                .as_deref()
                .is_some_and(|mime| mime.starts_with("image/"))
        })
}

/// Whether `haystack` holds `phrase` (both lower-case) as whole words: the characters
/// around the match are no letters or digits.
fn has_phrase(haystack: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    haystack.match_indices(phrase).any(|(start, found)| {
        let before = haystack[..start].chars().next_back();
        let after = haystack[start + found.len()..].chars().next();
        let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        !is_word(before) && !is_word(after)
    })
}

/// The field of an item a source rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceField {
    Title,
    Text,
    Url,
    Kind,
    Author,
}

impl SourceField {
    pub const ALL: [SourceField; 5] = [
        SourceField::Title,
        SourceField::Text,
        SourceField::Url,
        SourceField::Kind,
        SourceField::Author,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceField::Title => "title",
            SourceField::Text => "text",
            SourceField::Url => "url",
            SourceField::Kind => "kind",
            SourceField::Author => "author",
        }
    }

    pub fn parse(text: &str) -> Option<SourceField> {
        SourceField::ALL
            .into_iter()
            .find(|field| field.as_str() == text)
    }
}

/// How a source rule matches its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceOp {
    /// The field holds the text (case-insensitive).
    Contains,
    /// The regex matches somewhere in the field.
    Regex,
}

impl SourceOp {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceOp::Contains => "contains",
            SourceOp::Regex => "regex",
        }
    }

    pub fn parse(text: &str) -> Option<SourceOp> {
        match text {
            "contains" => Some(SourceOp::Contains),
            "regex" => Some(SourceOp::Regex),
            _ => None,
        }
    }
}

/// A source rule ready to match: items it matches are not stored.
#[derive(Clone, Debug)]
pub struct SourceMatcher {
    field: SourceField,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    Contains(String),
    Regex(Regex),
}

impl SourceMatcher {
    /// Checks and compiles a rule: the message to show when it cannot be used.
    pub fn new(field: SourceField, op: SourceOp, pattern: &str) -> Result<SourceMatcher, String> {
        if pattern.trim().is_empty() {
            return Err("Type the text or pattern to match.".to_owned());
        }
        if pattern.chars().count() > MAX_RULE_CHARS {
            return Err(format!("At most {MAX_RULE_CHARS} characters."));
        }
        let matcher = match op {
            SourceOp::Contains => Matcher::Contains(pattern.trim().to_lowercase()),
            SourceOp::Regex => Matcher::Regex(
                RegexBuilder::new(pattern)
                    .size_limit(MAX_REGEX_BYTES)
                    .dfa_size_limit(MAX_REGEX_BYTES)
                    .build()
                    .map_err(|err| match err {
                        regex::Error::CompiledTooBig(_) => {
                            "That regular expression is too large; make it simpler.".to_owned()
                        }
                        other => format!("That is not a valid regular expression: {other}"),
                    })?,
            ),
        };
        Ok(SourceMatcher { field, matcher })
    }

    /// Whether the rule matches an item about to be stored.
    pub fn matches_new(&self, item: &NewItem) -> bool {
        let value = match self.field {
            SourceField::Title => item.title.as_str(),
            SourceField::Text => item.summary_text.as_str(),
            SourceField::Url => item.url.as_ref().map_or("", |url| url.as_str()),
            SourceField::Kind => item.kind.as_str(),
            SourceField::Author => item.author_name.as_deref().unwrap_or(""),
        };
        self.matches_text(value)
    }

    /// Whether the rule matches a stored item ("apply to existing items").
    pub fn matches_item(&self, item: &Item) -> bool {
        let value = match self.field {
            SourceField::Title => item.title.as_str(),
            SourceField::Text => item.summary_text.as_str(),
            SourceField::Url => item.url.as_ref().map_or("", |url| url.as_str()),
            SourceField::Kind => item.kind.as_str(),
            SourceField::Author => item.author_name.as_deref().unwrap_or(""),
        };
        self.matches_text(value)
    }

    fn matches_text(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::Contains(text) => value.to_lowercase().contains(text.as_str()),
            Matcher::Regex(regex) => regex.is_match(value),
        }
    }
}

/// Leaves out the items any of `matchers` matches: what is kept, and how many were not.
pub fn skip_matching(items: Vec<NewItem>, matchers: &[SourceMatcher]) -> (Vec<NewItem>, usize) {
    if matchers.is_empty() {
        return (items, 0);
    }
    let n_before = items.len();
    let kept: Vec<NewItem> = items
        .into_iter()
        .filter(|item| !matchers.iter().any(|matcher| matcher.matches_new(item)))
        .collect();
    let n_skipped = n_before - kept.len();
    (kept, n_skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_phrase(haystack: &str, phrase: &str, expected: bool) {
        assert_eq!(
            has_phrase(haystack, phrase),
            expected,
            "{haystack:?} / {phrase:?}"
        );
    }

    #[test]
    fn phrase_is_whole_words() {
        check_phrase("i love cats", "cat", false);
        check_phrase("a cat, sleeping", "cat", true);
        check_phrase("the world cup final", "world cup", true);
        check_phrase("cat", "cat", true);
        check_phrase("", "cat", false);
    }

    #[test]
    fn regex_errors_are_words() {
        let err = SourceMatcher::new(SourceField::Title, SourceOp::Regex, "(unclosed").unwrap_err();
        assert!(
            err.starts_with("That is not a valid regular expression"),
            "{err}"
        );
        let err =
            SourceMatcher::new(SourceField::Title, SourceOp::Regex, r"\w{1000}{1000}").unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn contains_ignores_case() {
        let matcher =
            SourceMatcher::new(SourceField::Title, SourceOp::Contains, "Starred").unwrap();
        assert!(matcher.matches_text("ana starred tributary"));
        assert!(!matcher.matches_text("ana forked tributary"));
    }
}
