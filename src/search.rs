//! The search box's query language (issue #20), parsed into words for the full-text index
//! and filters for SQL. Pure: no store, no web.
//!
//! What people type: words (all must match), `"exact phrase"`, `word*` (a prefix),
//! `-word` or `NOT word` (must not match), `a OR b` (either; binds tighter than the
//! implicit AND), a redundant `AND`, and the filters `from:NAME`, `service:NAME`,
//! `source:ID`, `kind:KIND`, `has:media`, `is:liked`, `is:commented`, `before:DATE` and
//! `after:DATE` (`YYYY-MM-DD`), each negatable with `-` and joinable with OR to others of
//! its own name (`from:ana OR from:bo`).
//!
//! Nothing the user types reaches FTS5 as syntax: every word and phrase is written out as
//! an FTS5 string (double-quoted, inner quotes doubled), so `NEAR(`, `^`, `col:` and the
//! like can never make a MATCH fail. What cannot mean anything gets a [`QueryError`] whose
//! text is for the person who typed it.
//!
//! Hand-written rather than a parser crate: the grammar is a dozen token rules, and the
//! crates of the field (tantivy's query grammar among them) bring range, boost and field
//! syntax with other meanings and errors without a message to show.

use std::fmt;

use chrono::NaiveDate;

use crate::model::ItemKind;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// The most words, phrases and filters one query may hold.
pub const MAX_TERMS: usize = 32;

/// A parsed search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// The FTS5 expression of what must match (every word quoted), if any words were given.
    pub matching: Option<String>,
    /// The FTS5 expression of what must not match (the excluded words, joined by OR).
    pub excluding: Option<String>,
    /// The words and phrases looked for, as typed (without quotes or `*`), for highlights.
    pub terms: Vec<String>,
    /// Each filter, with whether it excludes.
    pub filters: Vec<Filter>,
}

/// One filter group: the values are alternatives (`from:ana OR from:bo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub negated: bool,
    pub any_of: Vec<FilterValue>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterValue {
    /// The stream's owner, by user name.
    From(String),
    /// A service as the filter chips name it (`github`, `mastodon`, `feed`…), lower case.
    Service(String),
    Source(i64),
    Kind(ItemKind),
    HasMedia,
    Liked,
    Commented,
    /// Published before the start of this day (UTC).
    Before(NaiveDate),
    /// Published on or after the start of the day after this one (UTC).
    After(NaiveDate),
}

impl FilterValue {
    fn name(&self) -> &'static str {
        match self {
            FilterValue::From(_) => "from",
            FilterValue::Service(_) => "service",
            FilterValue::Source(_) => "source",
            FilterValue::Kind(_) => "kind",
            FilterValue::HasMedia => "has",
            FilterValue::Liked | FilterValue::Commented => "is",
            FilterValue::Before(_) => "before",
            FilterValue::After(_) => "after",
        }
    }
}

/// Why a query means nothing; the text is shown to the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

fn error(text: impl Into<String>) -> QueryError {
    QueryError(text.into())
}

/// The filter names, as the error for an unknown one lists them.
const FILTER_NAMES: &str =
    "from:, service:, source:, kind:, has:media, is:liked, is:commented, before:, after:";

/// A token of the query.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// A word or a quoted phrase; `prefix` for a trailing `*` on a word.
    Text {
        text: String,
        phrase: bool,
        prefix: bool,
        negated: bool,
    },
    Filter {
        value: FilterValue,
        negated: bool,
    },
    Or,
    And,
    Not,
}

/// Parses what was typed into the search box. An empty query (or one of spaces) is an
/// empty [`Search`]: the caller decides what that shows.
pub fn parse(query: &str) -> Result<Search, QueryError> {
    let n_chars = query.chars().count();
    if n_chars > MAX_QUERY_CHARS {
        return Err(error(format!(
            "A search is at most {MAX_QUERY_CHARS} characters; this one has {n_chars}."
        )));
    }
    let tokens = resolve_not(tokenize(query)?)?;
    let n_terms = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Or | Token::And))
        .count();
    if n_terms > MAX_TERMS {
        return Err(error(format!(
            "A search holds at most {MAX_TERMS} words and filters; this one has {n_terms}."
        )));
    }
    // Clauses: runs of operands joined by OR; clauses are joined by AND.
    let mut clauses: Vec<Vec<Token>> = Vec::new();
    // The operator waiting for its right-hand side.
    let mut pending: Option<Token> = None;
    let needs_sides = |operator: &Token| {
        let word = if *operator == Token::Or { "OR" } else { "AND" };
        error(format!("“{word}” needs a word on each side."))
    };
    for token in tokens {
        match token {
            Token::Or | Token::And => {
                if clauses.is_empty() || pending.is_some() {
                    return Err(needs_sides(&token));
                }
                pending = Some(token);
            }
            Token::Not => unreachable!("resolve_not folds NOT into the next operand"),
            operand => match pending.take() {
                Some(Token::Or) => clauses
                    .last_mut()
                    .expect("an OR follows a clause")
                    .push(operand),
                _ => clauses.push(vec![operand]),
            },
        }
    }
    if let Some(operator) = pending {
        return Err(needs_sides(&operator));
    }
    build(clauses)
}

/// Splits the query into tokens; quotes group a phrase.
fn tokenize(query: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            match chars.peek() {
                Some(next) if !next.is_whitespace() => negated = true,
                // A lone `-` is punctuation, not an operator.
                _ => continue,
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut phrase = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                phrase.push(c);
            }
            if !closed {
                return Err(error("A quote is not closed: add the closing \"."));
            }
            tokens.push(text_token(phrase.trim(), true, false, negated)?);
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            word.push(c);
            chars.next();
        }
        tokens.push(word_token(&word, negated)?);
    }
    Ok(tokens)
}

/// A bare word: an operator, a filter, or text.
fn word_token(word: &str, negated: bool) -> Result<Token, QueryError> {
    if !negated {
        match word {
            "OR" => return Ok(Token::Or),
            "AND" => return Ok(Token::And),
            "NOT" => return Ok(Token::Not),
            _ => {}
        }
    }
    if let Some((name, value)) = word.split_once(':')
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphabetic())
        // A web address (`https://…`) is text.
        && !value.starts_with("//")
    {
        return Ok(Token::Filter {
            value: filter(&name.to_ascii_lowercase(), value)?,
            negated,
        });
    }
    if word.contains(['(', ')']) {
        return Err(error(
            "Parentheses do not group words in a search: join alternatives with OR \
             (kayak OR canoe), or put the text in quotes to look for it as written.",
        ));
    }
    match word.strip_suffix('*') {
        Some(stem) => text_token(stem, false, true, negated),
        None => text_token(word, false, false, negated),
    }
}

fn text_token(text: &str, phrase: bool, prefix: bool, negated: bool) -> Result<Token, QueryError> {
    if !text.chars().any(char::is_alphanumeric) {
        let shown = if phrase {
            format!("\"{text}\"")
        } else if prefix {
            format!("{text}*")
        } else {
            text.to_owned()
        };
        return Err(error(format!(
            "“{shown}” has no letters or digits to search for."
        )));
    }
    Ok(Token::Text {
        text: text.to_owned(),
        phrase,
        prefix,
        negated,
    })
}

fn filter(name: &str, value: &str) -> Result<FilterValue, QueryError> {
    if value.is_empty() {
        return Err(error(format!(
            "“{name}:” needs a value right after the colon, without a space."
        )));
    }
    let date = |value: &str| {
        NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
            error(format!(
                "“{name}:” takes a date like 2024-01-31, not “{value}”."
            ))
        })
    };
    Ok(match name {
        "from" => FilterValue::From(value.to_owned()),
        "service" => FilterValue::Service(value.to_ascii_lowercase()),
        "source" => FilterValue::Source(value.parse().map_err(|_| {
            error(format!(
                "“source:” takes a source's number (as in its filter link), not “{value}”."
            ))
        })?),
        "kind" => {
            let kinds = || {
                ItemKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            FilterValue::Kind(ItemKind::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                error(format!(
                    "“kind:{value}” is not a kind of item; kinds are {}.",
                    kinds()
                ))
            })?)
        }
        "has" => match value.to_ascii_lowercase().as_str() {
            "media" => FilterValue::HasMedia,
            _ => {
                return Err(error(format!(
                    "“has:{value}” is unknown; there is has:media."
                )));
            }
        },
        "is" => match value.to_ascii_lowercase().as_str() {
            "liked" => FilterValue::Liked,
            "commented" => FilterValue::Commented,
            _ => {
                return Err(error(format!(
                    "“is:{value}” is unknown; there are is:liked and is:commented."
                )));
            }
        },
        "before" => FilterValue::Before(date(value)?),
        "after" => FilterValue::After(date(value)?),
        _ => {
            return Err(error(format!(
                "“{name}:” is not a filter; filters are {FILTER_NAMES}. \
                 Put it in quotes to look for the text."
            )));
        }
    })
}

/// Folds each `NOT` into the operand after it.
fn resolve_not(tokens: Vec<Token>) -> Result<Vec<Token>, QueryError> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut not = false;
    for token in tokens {
        match token {
            Token::Not if not => return Err(error("“NOT NOT” cancels out: leave both away.")),
            Token::Not => not = true,
            Token::Or | Token::And if not => {
                return Err(error("“NOT” needs a word right after it."));
            }
            Token::Text {
                text,
                phrase,
                prefix,
                negated,
            } => {
                out.push(Token::Text {
                    text,
                    phrase,
                    prefix,
                    negated: negated ^ not,
                });
                not = false;
            }
            Token::Filter { value, negated } => {
                out.push(Token::Filter {
                    value,
                    negated: negated ^ not,
                });
                not = false;
            }
            other => out.push(other),
        }
    }
    if not {
        return Err(error("“NOT” needs a word right after it."));
    }
    Ok(out)
}

/// An FTS5 string: the text in double quotes, inner quotes doubled.
fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn fts_term(text: &str, prefix: bool) -> String {
    if prefix {
        format!("{} *", fts_string(text))
    } else {
        fts_string(text)
    }
}

fn build(clauses: Vec<Vec<Token>>) -> Result<Search, QueryError> {
    let mut search = Search::default();
    let mut matching: Vec<String> = Vec::new();
    let mut excluding: Vec<String> = Vec::new();
    for clause in clauses {
        let is_text = |t: &Token| matches!(t, Token::Text { .. });
        if clause.iter().all(is_text) {
            let any_negated = clause
                .iter()
                .any(|t| matches!(t, Token::Text { negated: true, .. }));
            if any_negated && clause.len() > 1 {
                return Err(error(
                    "An excluded word cannot be one side of OR: exclude it on its own (-word).",
                ));
            }
            let mut parts = Vec::new();
            for token in clause {
                let Token::Text {
                    text,
                    prefix,
                    negated,
                    ..
                } = token
                else {
                    unreachable!("checked above");
                };
                let term = fts_term(&text, prefix);
                if negated {
                    excluding.push(term);
                } else {
                    parts.push(term);
                    search.terms.push(text);
                }
            }
            match parts.len() {
                0 => {}
                1 => matching.push(parts.pop().expect("one part")),
                _ => matching.push(format!("({})", parts.join(" OR "))),
            }
        } else if clause.iter().any(is_text) {
            return Err(error(
                "OR joins words with words, or filters with filters of the same name \
                 (from:ana OR from:bo), not a word with a filter.",
            ));
        } else {
            let mut negated_all = None;
            let mut any_of = Vec::new();
            for token in clause {
                let Token::Filter { value, negated } = token else {
                    unreachable!("only filters are left");
                };
                if negated_all.is_some_and(|n| n != negated) {
                    return Err(error(
                        "Filters joined by OR are all excluded or all not: \
                         write -from:ana -from:bo to exclude both.",
                    ));
                }
                if any_of
                    .first()
                    .is_some_and(|first: &FilterValue| first.name() != value.name())
                {
                    return Err(error(
                        "OR joins filters of the same name (from:ana OR from:bo); \
                         filters of different names all apply anyway.",
                    ));
                }
                negated_all = Some(negated);
                any_of.push(value);
            }
            search.filters.push(Filter {
                negated: negated_all.unwrap_or(false),
                any_of,
            });
        }
    }
    search.matching = (!matching.is_empty()).then(|| matching.join(" AND "));
    search.excluding = (!excluding.is_empty()).then(|| excluding.join(" OR "));
    if search.matching.is_none() && search.excluding.is_some() && search.filters.is_empty() {
        return Err(error(
            "A search needs something to look for besides the excluded words.",
        ));
    }
    Ok(search)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(query: &str) -> Search {
        parse(query).unwrap_or_else(|err| panic!("{query}: {err}"))
    }

    fn err(query: &str) -> String {
        match parse(query) {
            Ok(search) => panic!("{query} parsed: {search:?}"),
            Err(err) => err.0,
        }
    }

    fn one_filter(query: &str) -> Filter {
        let search = ok(query);
        assert_eq!(search.matching, None, "{query}");
        assert_eq!(search.filters.len(), 1, "{query}");
        search.filters.into_iter().next().unwrap()
    }

    #[test]
    fn words_are_quoted_and_all_must_match() {
        let search = ok("kayak  river");
        assert_eq!(search.matching.as_deref(), Some("\"kayak\" AND \"river\""));
        assert_eq!(search.terms, ["kayak", "river"]);
        assert_eq!(search.excluding, None);
        assert!(search.filters.is_empty());
        // A redundant AND changes nothing; lower-case or/and are words.
        assert_eq!(ok("kayak AND river"), search);
        assert_eq!(
            ok("cats and dogs").matching.as_deref(),
            Some("\"cats\" AND \"and\" AND \"dogs\"")
        );
    }

    #[test]
    fn a_phrase_keeps_its_words_together_and_its_quotes_are_escaped() {
        let search = ok("\"exact phrase\" rust");
        assert_eq!(
            search.matching.as_deref(),
            Some("\"exact phrase\" AND \"rust\"")
        );
        assert_eq!(search.terms, ["exact phrase", "rust"]);
        // A quote inside a word starts a phrase; unclosed, it is an error, not FTS5 syntax.
        assert!(err("it\"s").contains("quote is not closed"));
        assert_eq!(ok("don't").matching.as_deref(), Some("\"don't\""));
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let search = ok("kayak OR canoe river");
        assert_eq!(
            search.matching.as_deref(),
            Some("(\"kayak\" OR \"canoe\") AND \"river\"")
        );
        assert_eq!(search.terms, ["kayak", "canoe", "river"]);
    }

    #[test]
    fn excluded_words_go_apart() {
        let search = ok("kayak -motor NOT jetski");
        assert_eq!(search.matching.as_deref(), Some("\"kayak\""));
        assert_eq!(search.excluding.as_deref(), Some("\"motor\" OR \"jetski\""));
        assert_eq!(search.terms, ["kayak"]);
        // A lone dash is punctuation.
        assert_eq!(ok("a - b").matching.as_deref(), Some("\"a\" AND \"b\""));
        // With a filter, an exclusion alone is a search.
        assert!(ok("from:ana -motor").matching.is_none());
        assert!(err("-motor").contains("besides the excluded"));
        assert!(err("-kayak OR canoe").contains("cannot be one side of OR"));
    }

    #[test]
    fn a_trailing_star_is_a_prefix() {
        assert_eq!(ok("kay*").matching.as_deref(), Some("\"kay\" *"));
        assert_eq!(ok("kay*").terms, ["kay"]);
    }

    #[test]
    fn each_filter() {
        let cases: Vec<(&str, FilterValue)> = vec![
            ("from:ana", FilterValue::From("ana".into())),
            ("service:GitHub", FilterValue::Service("github".into())),
            ("source:12", FilterValue::Source(12)),
            ("kind:photo", FilterValue::Kind(ItemKind::Photo)),
            ("has:media", FilterValue::HasMedia),
            ("is:liked", FilterValue::Liked),
            ("is:commented", FilterValue::Commented),
            (
                "before:2024-01-01",
                FilterValue::Before(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
            ),
            (
                "after:2023-12-31",
                FilterValue::After(NaiveDate::from_ymd_opt(2023, 12, 31).unwrap()),
            ),
        ];
        for (query, value) in cases {
            assert_eq!(
                one_filter(query),
                Filter {
                    negated: false,
                    any_of: vec![value.clone()],
                },
                "{query}"
            );
            let negated = one_filter(&format!("-{query}"));
            assert!(negated.negated, "-{query}");
            assert_eq!(negated.any_of, std::slice::from_ref(&value));
            assert!(one_filter(&format!("NOT {query}")).negated, "NOT {query}");
        }
    }

    #[test]
    fn filters_of_one_name_join_with_or() {
        assert_eq!(
            one_filter("from:ana OR from:bo"),
            Filter {
                negated: false,
                any_of: vec![
                    FilterValue::From("ana".into()),
                    FilterValue::From("bo".into())
                ],
            }
        );
        assert!(err("from:ana OR service:github").contains("same name"));
        assert!(err("from:ana OR kayak").contains("not a word with a filter"));
        assert!(err("from:ana OR -from:bo").contains("all excluded or all not"));
    }

    #[test]
    fn a_query_that_mixes_them() {
        let search = ok(
            "\"red kayak\" river OR lake -motor from:ana service:flickr kind:photo has:media \
             after:2024-01-01 before:2025-01-01 -is:liked",
        );
        assert_eq!(
            search.matching.as_deref(),
            Some("\"red kayak\" AND (\"river\" OR \"lake\")")
        );
        assert_eq!(search.excluding.as_deref(), Some("\"motor\""));
        assert_eq!(search.terms, ["red kayak", "river", "lake"]);
        let names: Vec<(&str, bool)> = search
            .filters
            .iter()
            .map(|f| (f.any_of[0].name(), f.negated))
            .collect();
        assert_eq!(
            names,
            [
                ("from", false),
                ("service", false),
                ("kind", false),
                ("has", false),
                ("after", false),
                ("before", false),
                ("is", true),
            ]
        );
    }

    #[test]
    fn web_addresses_and_unknown_names() {
        assert_eq!(
            ok("https://example.com/a").matching.as_deref(),
            Some("\"https://example.com/a\"")
        );
        let unknown = err("title:rust");
        assert!(unknown.contains("“title:” is not a filter"), "{unknown}");
        assert!(unknown.contains("from:"), "{unknown}");
        // In quotes it is text.
        assert_eq!(
            ok("\"title:rust\"").matching.as_deref(),
            Some("\"title:rust\"")
        );
    }

    #[test]
    fn malformed_queries_get_a_message() {
        assert!(err("\"unclosed").contains("quote is not closed"));
        assert!(err("AND AND").contains("needs a word on each side"));
        assert!(err("kayak AND AND river").contains("needs a word on each side"));
        assert!(err("OR kayak").contains("needs a word on each side"));
        assert!(err("kayak OR").contains("needs a word on each side"));
        assert!(err("NOT").contains("needs a word right after"));
        assert!(err("NOT NOT kayak").contains("cancels out"));
        assert!(err("NEAR(kayak river)").contains("Parentheses"));
        assert!(err("*").contains("no letters or digits"));
        assert!(err("^").contains("no letters or digits"));
        assert!(err("\"...\"").contains("no letters or digits"));
        assert!(err("from:").contains("needs a value"));
        assert!(err("before:yesterday").contains("a date like 2024-01-31"));
        assert!(err("source:abc").contains("source's number"));
        assert!(err("kind:selfie").contains("kinds are note"));
        assert!(err("has:pictures").contains("has:media"));
        assert!(err("is:starred").contains("is:liked"));
        let long = "a".repeat(10_000);
        assert!(err(&long).contains("at most 500 characters; this one has 10000"));
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert!(err(&many).contains("at most 32 words"));
    }

    #[test]
    fn fts5_syntax_is_never_passed_through() {
        // Whatever is typed, every text piece is an FTS5 string: outside the quotes only
        // AND, OR, parentheses and `*` written by the parser remain.
        for query in [
            "a:b:c kayak",
            "^kayak",
            "col : x",
            "\"a \"\"b\"",
            "kay* NOT^ x",
            "{abc}",
            "+kayak",
        ] {
            match parse(query) {
                Ok(search) => {
                    let expr = search.matching.unwrap_or_default();
                    let outside: String = expr.split('"').step_by(2).collect::<Vec<_>>().concat();
                    assert!(
                        outside.split_whitespace().all(|w| matches!(
                            w,
                            "AND" | "OR" | "*" | "(" | ")"
                        ) || w
                            .chars()
                            .all(|c| c == '(' || c == ')')),
                        "{query} → {expr}"
                    );
                }
                Err(err) => assert!(!err.0.is_empty()),
            }
        }
    }

    #[test]
    fn empty_is_empty() {
        assert_eq!(ok(""), Search::default());
        assert_eq!(ok("   "), Search::default());
    }
}
