//! Recipes: sites that are only a URL template over the `feed` (or `json`) connector.
//!
//! A recipe is a small TOML file (`connectors/recipes/*.toml` are built in; an operator
//! adds more from a folder named in the config). It names its parameters, the patterns
//! that recognize pasted URLs and handles, and the URL of the document to read:
//!
//! ```toml
//! name = "youtube"
//! title = "YouTube channel"
//! description = "A channel's newest videos"
//! example = "https://www.youtube.com/@ana"
//! url = "https://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"
//! item_kind = "video"
//! patterns = ['^youtube\.com/channel/(?P<channel_id>UC[A-Za-z0-9_-]{22})/?$']
//!
//! [[params]]
//! name = "channel_id"
//! help = "The channel's id (UC…)"
//! pattern = '^UC[A-Za-z0-9_-]{22}$'
//! ```
//!
//! Patterns (anchored at both ends) are matched against the pasted text with its scheme, a leading `www.` or `m.`,
//! and the fragment removed and the host lower-cased (`youtube.com/@ana?x=1`); their named
//! captures become parameters. Every parameter value must match the parameter's own
//! `pattern` before it is put, percent-encoded, into the URL template.
//!
//! `[resolve]` fills a parameter that a pasted URL cannot give (a YouTube `@handle` has
//! no channel id in it): on the first poll the `url` template is fetched and `regex`'s
//! capture named after the parameter is read from the page; the app stores it with the
//! source's parameters, so the page is read once.
//!
//! This module does no IO: the app reads the operator's folder and hands the texts over.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde_json::Value;
use url::Url;

use crate::http::{self, FetchRequest};
use crate::item::{Content, ItemKind, Media, RawItem};
use crate::protocol::{feed, html as html_connector, json as json_connector};
use crate::{Connector, ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState};

/// The built-in recipes, by file name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("bookwyrm.toml", include_str!("../recipes/bookwyrm.toml")),
    ("devto.toml", include_str!("../recipes/devto.toml")),
    ("flickr.toml", include_str!("../recipes/flickr.toml")),
    ("goodreads.toml", include_str!("../recipes/goodreads.toml")),
    ("lemmy.toml", include_str!("../recipes/lemmy.toml")),
    (
        "letterboxd.toml",
        include_str!("../recipes/letterboxd.toml"),
    ),
    (
        "mastodon_rss.toml",
        include_str!("../recipes/mastodon_rss.toml"),
    ),
    ("medium.toml", include_str!("../recipes/medium.toml")),
    ("peertube.toml", include_str!("../recipes/peertube.toml")),
    ("pixelfed.toml", include_str!("../recipes/pixelfed.toml")),
    (
        "reddit_subreddit.toml",
        include_str!("../recipes/reddit_subreddit.toml"),
    ),
    (
        "reddit_user.toml",
        include_str!("../recipes/reddit_user.toml"),
    ),
    ("substack.toml", include_str!("../recipes/substack.toml")),
    ("tumblr.toml", include_str!("../recipes/tumblr.toml")),
    ("wordpress.toml", include_str!("../recipes/wordpress.toml")),
    ("youtube.toml", include_str!("../recipes/youtube.toml")),
];

/// Longest recipe file read.
pub const MAX_RECIPE_BYTES: usize = 64 * 1024;
/// Longest regex source accepted in a recipe.
const MAX_REGEX_CHARS: usize = 1000;
/// Compiled-regex size limit, so a recipe cannot make recognition slow.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest parameter value put into a URL.
const MAX_PARAM_CHARS: usize = 200;
/// How much of a page `[resolve]` looks through.
const MAX_RESOLVE_BYTES: usize = 2 * 1024 * 1024;
/// Longest pasted input a pattern is tried on.
const MAX_INPUT_CHARS: usize = 2048;

/// A recipe file that could not be read: which file, which key, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("recipe {file}: key `{key}`: {message}")]
pub struct RecipeError {
    pub file: String,
    pub key: String,
    pub message: String,
}

/// Which connector a recipe's URL is read with.
#[derive(Clone, Debug)]
pub enum Backend {
    Feed,
    Json(json_connector::JsonSpec),
    Html(html_connector::HtmlSpec),
}

#[derive(Clone, Debug)]
pub struct RecipeParam {
    pub name: &'static str,
    pub help: &'static str,
    pub required: bool,
    pub default: Option<String>,
    pub pattern: Regex,
    /// Values the pattern allows that are pages of the site, not people (`settings`).
    pub reserved: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Resolve {
    pub param: String,
    pub url: String,
    pub regex: Regex,
}

#[derive(Clone, Debug)]
pub struct Extract {
    pub key: String,
    pub from_content: bool,
    pub regex: Regex,
}

/// A parsed recipe. Strings shown by [`ConnectorInfo`] live for the whole process (recipes
/// are read once, at start).
#[derive(Clone, Debug)]
pub struct Recipe {
    pub file: String,
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub url: String,
    pub backend: Backend,
    pub item_kind: Option<ItemKind>,
    pub schedule: Option<&'static str>,
    pub headers: Vec<(String, String)>,
    pub params: Vec<RecipeParam>,
    pub patterns: Vec<Regex>,
    pub resolve: Option<Resolve>,
    pub extract: Vec<Extract>,
    /// Items without attachments get the first image of their HTML body (Letterboxd
    /// posters, Goodreads covers).
    pub image_from_content: bool,
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn is_name(text: &str) -> bool {
    (1..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && text.as_bytes()[0].is_ascii_lowercase()
}

/// The names `{like_this}` in a URL template.
fn template_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` without its `}`".to_owned())?;
        let name = &after[..close];
        if !is_name(name) {
            return Err(format!("`{{{name}}}` is not a parameter name"));
        }
        names.push(name.to_owned());
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Fills a URL template; every value is percent-encoded except unreserved characters.
fn render(template: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let value = values.get(&after[..close])?;
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

struct Reader<'a> {
    file: &'a str,
    table: &'a toml::Table,
    prefix: String,
}

impl Reader<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> RecipeError {
        RecipeError {
            file: self.file.to_owned(),
            key: format!("{}{key}", self.prefix),
            message: message.into(),
        }
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, RecipeError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => {
                Err(self.err(key, format!("must be a string, not {}", other.type_str())))
            }
        }
    }

    fn str(&self, key: &str) -> Result<String, RecipeError> {
        self.opt_str(key)?
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| self.err(key, "is missing"))
    }

    fn regex(&self, key: &str, source: &str) -> Result<Regex, RecipeError> {
        if source.chars().count() > MAX_REGEX_CHARS {
            return Err(self.err(key, format!("longer than {MAX_REGEX_CHARS} characters")));
        }
        regex::RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| {
                self.err(
                    key,
                    format!("not a valid regex: {}", err.to_string().replace('\n', " ")),
                )
            })
    }

    fn check_keys(&self, allowed: &[&str]) -> Result<(), RecipeError> {
        for key in self.table.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(self.err(
                    key,
                    format!("unknown key; known keys: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

impl Recipe {
    /// Parses one recipe file. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Recipe, RecipeError> {
        let top_err = |key: &str, message: String| RecipeError {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        if text.len() > MAX_RECIPE_BYTES {
            return Err(top_err(
                "(file)",
                format!("larger than {MAX_RECIPE_BYTES} bytes"),
            ));
        }
        let table: toml::Table = toml::from_str(text).map_err(|err| {
            let message = err.message().to_owned();
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            top_err(
                "(syntax)",
                match line {
                    Some(line) => format!("line {line}: {message}"),
                    None => message,
                },
            )
        })?;
        let top = Reader {
            file,
            table: &table,
            prefix: String::new(),
        };
        top.check_keys(&[
            "name",
            "title",
            "description",
            "example",
            "url",
            "connector",
            "item_kind",
            "schedule",
            "headers",
            "params",
            "patterns",
            "resolve",
            "extract",
            "json",
            "html",
            "image_from_content",
        ])?;
        let name = top.str("name")?;
        if !is_name(&name) {
            return Err(top.err(
                "name",
                "must be 1–40 lower-case letters, digits, `_` or `-`, starting with a letter",
            ));
        }
        let title = top.str("title")?;
        let description = top.opt_str("description")?.unwrap_or_default();
        let example = top.str("example")?;
        let url = top.str("url")?;
        let names = template_names(&url).map_err(|why| top.err("url", why))?;
        let probe: BTreeMap<String, String> =
            names.iter().map(|n| (n.clone(), "x".to_owned())).collect();
        match render(&url, &probe).and_then(|u| Url::parse(&u).ok()) {
            Some(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(top.err(
                    "url",
                    "must be an http or https URL template such as https://site.example/{user}/rss",
                ));
            }
        }
        let item_kind =
            match top.opt_str("item_kind")? {
                None => None,
                Some(kind) => Some(ItemKind::parse(&kind).ok_or_else(|| {
                    top.err("item_kind", format!("`{kind}` is not a kind of item"))
                })?),
            };
        let schedule = top.opt_str("schedule")?.map(leak);
        let image_from_content = match table.get("image_from_content") {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err(top.err("image_from_content", "must be true or false")),
        };

        let headers = match table.get("headers") {
            None => Vec::new(),
            Some(toml::Value::Table(headers)) => {
                let mut out = Vec::new();
                for (key, value) in headers {
                    let Some(value) = value.as_str() else {
                        return Err(top.err(&format!("headers.{key}"), "must be a string"));
                    };
                    if key.eq_ignore_ascii_case("authorization")
                        || key.eq_ignore_ascii_case("cookie")
                    {
                        return Err(top.err(
                            &format!("headers.{key}"),
                            "recipes may not send credentials",
                        ));
                    }
                    out.push((key.clone(), value.to_owned()));
                }
                out
            }
            Some(_) => return Err(top.err("headers", "must be a table of header = \"value\"")),
        };

        let mut params = Vec::new();
        let param_tables = match table.get("params") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items.clone(),
            Some(_) => return Err(top.err("params", "must be a list of [[params]] tables")),
        };
        for (idx, value) in param_tables.iter().enumerate() {
            let Some(param_table) = value.as_table() else {
                return Err(top.err(&format!("params[{idx}]"), "must be a table"));
            };
            let reader = Reader {
                file,
                table: param_table,
                prefix: format!("params[{idx}]."),
            };
            reader.check_keys(&["name", "help", "required", "default", "pattern", "reserved"])?;
            let param_name = reader.str("name")?;
            if !is_name(&param_name) {
                return Err(reader.err("name", "must be lower-case letters, digits or `_`"));
            }
            let required = match param_table.get("required") {
                None => true,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => return Err(reader.err("required", "must be true or false")),
            };
            let pattern_source = reader.str("pattern")?;
            let pattern = reader.regex("pattern", &anchored(&pattern_source))?;
            let default = reader.opt_str("default")?;
            if let Some(default) = &default
                && !pattern.is_match(default)
            {
                return Err(reader.err("default", "does not match the parameter's pattern"));
            }
            let reserved = match param_table.get("reserved") {
                None => Vec::new(),
                Some(toml::Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        let Some(text) = item.as_str() else {
                            return Err(reader.err("reserved", "must be a list of strings"));
                        };
                        out.push(text.to_ascii_lowercase());
                    }
                    out
                }
                Some(_) => return Err(reader.err("reserved", "must be a list of strings")),
            };
            params.push(RecipeParam {
                name: leak(param_name),
                help: leak(reader.opt_str("help")?.unwrap_or_default()),
                required,
                default,
                pattern,
                reserved,
            });
        }
        for name in &names {
            if !params.iter().any(|p| p.name == name) {
                return Err(top.err(
                    "url",
                    format!("uses {{{name}}}, which no [[params]] entry declares"),
                ));
            }
        }

        let mut patterns = Vec::new();
        match table.get("patterns") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (idx, item) in items.iter().enumerate() {
                    let key = format!("patterns[{idx}]");
                    let Some(source) = item.as_str() else {
                        return Err(top.err(&key, "must be a string (a regex)"));
                    };
                    // Anchored whatever the author wrote: a pattern matches the whole
                    // input, never a URL that merely contains a known one.
                    let regex = top.regex(&key, &anchored(source))?;
                    for capture in regex.capture_names().flatten() {
                        if !params.iter().any(|p| p.name == capture) {
                            return Err(top.err(
                                &key,
                                format!("captures `{capture}`, which is not a parameter"),
                            ));
                        }
                    }
                    patterns.push(regex);
                }
            }
            Some(_) => return Err(top.err("patterns", "must be a list of regexes")),
        }

        let resolve = match table.get("resolve") {
            None => None,
            Some(toml::Value::Table(resolve_table)) => {
                let reader = Reader {
                    file,
                    table: resolve_table,
                    prefix: "resolve.".into(),
                };
                reader.check_keys(&["param", "url", "regex"])?;
                let param = reader.str("param")?;
                if !params.iter().any(|p| p.name == param) {
                    return Err(reader.err("param", format!("`{param}` is not a parameter")));
                }
                let resolve_url = reader.str("url")?;
                for used in template_names(&resolve_url).map_err(|why| reader.err("url", why))? {
                    if used == param || !params.iter().any(|p| p.name == used) {
                        return Err(
                            reader.err("url", format!("uses {{{used}}}, which it cannot know yet"))
                        );
                    }
                }
                let regex = reader.regex("regex", &reader.str("regex")?)?;
                if !regex.capture_names().flatten().any(|c| c == param) {
                    return Err(reader.err("regex", format!("needs a capture named `{param}`")));
                }
                Some(Resolve {
                    param,
                    url: resolve_url,
                    regex,
                })
            }
            Some(_) => return Err(top.err("resolve", "must be a table")),
        };

        let mut extract = Vec::new();
        match table.get("extract") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (idx, item) in items.iter().enumerate() {
                    let Some(extract_table) = item.as_table() else {
                        return Err(top.err(&format!("extract[{idx}]"), "must be a table"));
                    };
                    let reader = Reader {
                        file,
                        table: extract_table,
                        prefix: format!("extract[{idx}]."),
                    };
                    reader.check_keys(&["key", "from", "regex"])?;
                    let key = reader.str("key")?;
                    let from_content = match reader.opt_str("from")?.as_deref() {
                        None | Some("title") => false,
                        Some("content") => true,
                        Some(other) => {
                            return Err(reader
                                .err("from", format!("`{other}` is neither title nor content")));
                        }
                    };
                    let regex = reader.regex("regex", &reader.str("regex")?)?;
                    if !regex.capture_names().flatten().any(|c| c == "value") {
                        return Err(reader.err("regex", "needs a capture named `value`"));
                    }
                    extract.push(Extract {
                        key,
                        from_content,
                        regex,
                    });
                }
            }
            Some(_) => return Err(top.err("extract", "must be a list of [[extract]] tables")),
        }

        let backend = match top.opt_str("connector")?.as_deref() {
            None | Some("feed") => {
                for key in ["json", "html"] {
                    if table.contains_key(key) {
                        return Err(top.err(key, format!("only for connector = \"{key}\"")));
                    }
                }
                Backend::Feed
            }
            Some("json") => {
                let Some(toml::Value::Table(spec)) = table.get("json") else {
                    return Err(top.err("json", "a json recipe needs a [json] table of pointers"));
                };
                let spec_value =
                    serde_json::to_value(spec).map_err(|err| top.err("json", err.to_string()))?;
                let spec = json_connector::JsonSpec::from_params(&spec_value)
                    .map_err(|err| top.err("json", err.to_string()))?;
                Backend::Json(spec)
            }
            Some("html") => {
                let Some(toml::Value::Table(spec)) = table.get("html") else {
                    return Err(
                        top.err("html", "an html recipe needs an [html] table of selectors")
                    );
                };
                let spec_value =
                    serde_json::to_value(spec).map_err(|err| top.err("html", err.to_string()))?;
                let spec = html_connector::HtmlSpec::from_params(&spec_value)
                    .map_err(|err| top.err("html", err.to_string()))?;
                Backend::Html(spec)
            }
            Some(other) => {
                return Err(top.err("connector", format!("`{other}` is not feed, json or html")));
            }
        };

        Ok(Recipe {
            file: file.to_owned(),
            name: leak(name),
            title: leak(title),
            description: leak(description),
            example: leak(example),
            url,
            backend,
            item_kind,
            schedule,
            headers,
            params,
            patterns,
            resolve,
            extract,
            image_from_content,
        })
    }

    /// Parameters from pasted text, when a pattern matches.
    pub fn recognize(&self, input: &str) -> Option<Value> {
        let normalized = normalize_input(input)?;
        for pattern in &self.patterns {
            if let Some(captures) = pattern.captures(&normalized) {
                let mut map = serde_json::Map::new();
                for name in pattern.capture_names().flatten() {
                    if let Some(value) = captures.name(name) {
                        map.insert(name.to_owned(), value.as_str().into());
                    }
                }
                let params = Value::Object(map);
                if self.checked_values(&params).is_ok() {
                    return Some(params);
                }
            }
        }
        None
    }

    /// Checked parameter values (defaults filled). The resolve parameter may be missing.
    fn checked_values(&self, params: &Value) -> Result<BTreeMap<String, String>, ConnectorError> {
        let mut values = BTreeMap::new();
        for param in &self.params {
            let given = match params.get(param.name) {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) if text.trim().is_empty() => None,
                Some(Value::String(text)) => Some(text.trim().to_owned()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    return Err(ConnectorError::Unsupported(format!(
                        "\"{}\" must be text",
                        param.name
                    )));
                }
            };
            let value = given.or_else(|| param.default.clone());
            match value {
                Some(value) => {
                    if value.chars().count() > MAX_PARAM_CHARS
                        || !param.pattern.is_match(&value)
                        || param.reserved.contains(&value.to_ascii_lowercase())
                    {
                        return Err(ConnectorError::Unsupported(format!(
                            "`{value}` is not a valid {} for {}",
                            param.name, self.title
                        )));
                    }
                    values.insert(param.name.to_owned(), value);
                }
                None if self.resolve.as_ref().is_some_and(|r| r.param == param.name) => {}
                None if param.required => {
                    return Err(ConnectorError::Unsupported(format!(
                        "{} needs \"{}\": {}",
                        self.title, param.name, param.help
                    )));
                }
                None => {}
            }
        }
        if let Some(resolve) = &self.resolve
            && !values.contains_key(&resolve.param)
            && render(&resolve.url, &values).is_none()
        {
            return Err(ConnectorError::Unsupported(format!(
                "{} needs \"{}\" or what finds it",
                self.title, resolve.param
            )));
        }
        Ok(values)
    }

    fn url_for(&self, values: &BTreeMap<String, String>) -> Result<Url, ConnectorError> {
        let text = render(&self.url, values).ok_or_else(|| {
            ConnectorError::Unsupported(format!("{} is missing a parameter", self.title))
        })?;
        Url::parse(&text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| ConnectorError::Unsupported(format!("`{text}` is not a valid address")))
    }

    fn request(&self, url: Url, accept: &'static str) -> FetchRequest {
        let mut request = FetchRequest::new(url, accept);
        for (name, value) in &self.headers {
            request = request.with_header(name, value.clone());
        }
        request
    }

    /// Reads the missing parameter from the page `[resolve]` names.
    async fn resolve(
        &self,
        http: &dyn Http,
        resolve: &Resolve,
        values: &BTreeMap<String, String>,
    ) -> Result<String, ConnectorError> {
        let text = render(&resolve.url, values).ok_or_else(|| {
            ConnectorError::Unsupported(format!("{} is missing a parameter", self.title))
        })?;
        let url = Url::parse(&text)
            .map_err(|err| ConnectorError::Unsupported(format!("`{text}`: {err}")))?;
        let mut request = self.request(url, "text/html, application/xhtml+xml;q=0.9, */*;q=0.5");
        request.max_bytes = Some(MAX_RESOLVE_BYTES);
        let response = http.get(request).await?.check_status()?;
        let page = String::from_utf8_lossy(&response.body);
        let param = self.params.iter().find(|p| p.name == resolve.param);
        resolve
            .regex
            .captures_iter(&page)
            .filter_map(|captures| captures.name(&resolve.param).map(|m| m.as_str().to_owned()))
            .find(|value| param.is_none_or(|p| p.pattern.is_match(value)))
            .ok_or_else(|| {
                ConnectorError::Invalid(format!("could not find the {} on {text}", resolve.param))
            })
    }

    fn postprocess(&self, poll: &mut Poll) {
        for item in &mut poll.items {
            if self.image_from_content
                && item.media.is_empty()
                && let Some(image) = first_image(item, poll.base_url.as_ref())
            {
                item.media.push(image);
            }
            if let Some(kind) = self.item_kind {
                item.kind = kind;
            }
            for extract in &self.extract {
                let haystack = if extract.from_content {
                    body_text(item)
                } else {
                    item.title.as_deref()
                };
                if let Some(value) = haystack
                    .and_then(|h| extract.regex.captures(h))
                    .and_then(|c| c.name("value"))
                {
                    item.extra
                        .insert(extract.key.clone(), value.as_str().trim().into());
                }
            }
        }
    }
}

/// The item's body (content, else summary) as it came.
fn body_text(item: &RawItem) -> Option<&str> {
    match item.content.as_ref().or(item.summary.as_ref()) {
        Some(Content::Html(text) | Content::Text(text)) => Some(text.as_str()),
        None => None,
    }
}

/// The first `<img src>` of the item's HTML body, as an image attachment.
fn first_image(item: &RawItem, base: Option<&Url>) -> Option<Media> {
    static IMG: OnceLock<Option<Regex>> = OnceLock::new();
    let img = IMG
        .get_or_init(|| Regex::new(r#"(?i)<img\b[^>]*?\ssrc\s*=\s*["']([^"'<>]+)["']"#).ok())
        .as_ref()?;
    let src = img.captures(body_text(item)?)?.get(1)?.as_str();
    let src = crate::protocol::discover::decode_entities(src);
    let url = match base {
        Some(base) => base.join(&src).ok()?,
        None => Url::parse(&src).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(Media {
        alt: item.title.clone(),
        ..Media::at(url)
    })
}

fn anchored(pattern: &str) -> String {
    let mut out = pattern.to_owned();
    if !out.starts_with('^') {
        out.insert(0, '^');
    }
    if !out.ends_with('$') {
        out.push('$');
    }
    out
}

/// What patterns see: no scheme, no `www.`/`m.`, no fragment, host lower-cased.
pub fn normalize_input(input: &str) -> Option<String> {
    let input = input.trim();
    if input.is_empty() || input.chars().count() > MAX_INPUT_CHARS {
        return None;
    }
    if input.chars().any(char::is_whitespace) {
        return None;
    }
    let rest = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .or_else(|| input.strip_prefix("HTTPS://"))
        .or_else(|| input.strip_prefix("HTTP://"))
        .unwrap_or(input);
    let rest = rest.split('#').next().unwrap_or_default();
    let (host, path) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let host = host.to_ascii_lowercase();
    let host = host
        .strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .unwrap_or(&host);
    Some(format!("{host}{path}"))
}

/// A recipe as a connector.
pub struct RecipeConnector {
    recipe: Arc<Recipe>,
}

impl RecipeConnector {
    pub fn new(recipe: Recipe) -> RecipeConnector {
        RecipeConnector {
            recipe: Arc::new(recipe),
        }
    }

    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }
}

fn values_to_params(values: &BTreeMap<String, String>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[async_trait::async_trait]
impl Connector for RecipeConnector {
    fn kind(&self) -> &'static str {
        self.recipe.name
    }

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: self.recipe.name,
            title: self.recipe.title,
            description: self.recipe.description,
            params: self
                .recipe
                .params
                .iter()
                .map(|p| ParamInfo {
                    name: p.name,
                    help: p.help,
                    required: p.required && p.default.is_none(),
                })
                .collect(),
            default_schedule: self.recipe.schedule,
            can_backfill: false,
            example_input: self.recipe.example,
        }
    }

    fn recognize(&self, input: &str) -> Option<Value> {
        self.recipe.recognize(input)
    }

    fn validate(&self, params: &Value) -> Result<Value, ConnectorError> {
        Ok(values_to_params(&self.recipe.checked_values(params)?))
    }

    /// The filled URL template, when the recipe reads a feed.
    fn addresses(&self, params: &Value) -> crate::SourceAddresses {
        let feed = match self.recipe.backend {
            Backend::Feed => self
                .recipe
                .checked_values(params)
                .and_then(|values| self.recipe.url_for(&values))
                .ok(),
            Backend::Json(_) | Backend::Html(_) => None,
        };
        crate::SourceAddresses { feed, page: None }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let recipe = &self.recipe;
        let mut values = recipe.checked_values(params)?;
        let mut new_params = None;
        if let Some(resolve) = &recipe.resolve
            && !values.contains_key(&resolve.param)
        {
            let found = recipe.resolve(http, resolve, &values).await?;
            values.insert(resolve.param.clone(), found);
            new_params = Some(values_to_params(&values));
        }
        let url = recipe.url_for(&values)?;
        let mut poll = match &recipe.backend {
            Backend::Feed => {
                feed::poll_request(http, recipe.request(url, http::ACCEPT_FEEDS), state).await?
            }
            Backend::Json(spec) => {
                json_connector::poll_request(
                    http,
                    recipe.request(url, "application/json"),
                    spec,
                    state,
                )
                .await?
            }
            Backend::Html(spec) => {
                html_connector::poll_request(
                    http,
                    recipe.request(url, html_connector::ACCEPT_HTML),
                    spec,
                    state,
                )
                .await?
            }
        };
        // A 301 of the document does not change the recipe's parameters: the template
        // makes the URL.
        poll.new_params = new_params;
        recipe.postprocess(&mut poll);
        Ok(poll)
    }
}

/// The built-in recipes, parsed once per process.
pub fn embedded() -> &'static [Recipe] {
    static RECIPES: OnceLock<Vec<Recipe>> = OnceLock::new();
    RECIPES.get_or_init(|| {
        EMBEDDED
            .iter()
            .filter_map(|(file, text)| Recipe::parse(file, text).ok())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "example"
title = "Example"
example = "example.org/~ana"
url = "https://example.org/{user}/feed?shelf={shelf}"
patterns = ['^example\.org/~(?P<user>[a-z]+)$']

[[params]]
name = "user"
help = "user"
pattern = '^[a-z]+$'
reserved = ["admin"]

[[params]]
name = "shelf"
default = "read"
pattern = '^[a-z-]+$'
"#;

    #[track_caller]
    fn error_of(text: &str) -> RecipeError {
        Recipe::parse("bad.toml", text).unwrap_err()
    }

    #[test]
    fn a_good_recipe_recognizes_validates_and_renders() {
        let recipe = Recipe::parse("good.toml", GOOD).unwrap();
        let params = recipe
            .recognize("https://www.Example.org/~ana#top")
            .unwrap();
        assert_eq!(params, serde_json::json!({"user": "ana"}));
        let values = recipe.checked_values(&params).unwrap();
        assert_eq!(
            recipe.url_for(&values).unwrap().as_str(),
            "https://example.org/ana/feed?shelf=read"
        );
        assert!(recipe.recognize("example.org/~admin").is_none());
        assert!(
            recipe
                .recognize("evil.example/?u=example.org/~ana")
                .is_none()
        );
        assert!(recipe.recognize("example.org/~Ana").is_none());
        assert!(
            recipe
                .checked_values(&serde_json::json!({"user": "ana/../x"}))
                .is_err()
        );
    }

    #[test]
    fn values_are_percent_encoded() {
        let values = BTreeMap::from([("a".to_owned(), "x y/?&#@".to_owned())]);
        assert_eq!(
            render("https://h.example/{a}", &values).unwrap(),
            "https://h.example/x%20y%2F%3F%26%23%40"
        );
    }

    #[test]
    fn malformed_recipes_name_their_file_and_key() {
        let cases: &[(&str, &str)] = &[
            ("name = \"x\"\ntitle = [", "(syntax)"),
            (
                &GOOD.replace("name = \"example\"", "name = \"Bad Name\""),
                "name",
            ),
            (&GOOD.replace("title = \"Example\"\n", ""), "title"),
            (
                &GOOD.replace("https://example.org/{user}", "ftp://example.org/{user}"),
                "url",
            ),
            (&GOOD.replace("{shelf}", "{nope}"), "url"),
            (
                &GOOD.replace("(?P<user>[a-z]+)$", "(?P<user>[a-z+)$"),
                "patterns[0]",
            ),
            (&GOOD.replace("(?P<user>", "(?P<who>"), "patterns[0]"),
            (
                &GOOD.replace("pattern = '^[a-z-]+$'", "pattern = 5"),
                "params[1].pattern",
            ),
            (
                &GOOD.replace("default = \"read\"", "default = \"READ\""),
                "params[1].default",
            ),
            (&format!("favourite = 1\n{GOOD}"), "favourite"),
            (&format!("item_kind = \"poem\"\n{GOOD}"), "item_kind"),
            (
                &format!("{GOOD}\n[headers]\nAuthorization = \"x\"\n"),
                "headers.Authorization",
            ),
            (
                &format!(
                    "{GOOD}\n[resolve]\nparam = \"user\"\nurl = \"https://e.example/{{user}}\"\nregex = '(?P<user>x)'\n"
                ),
                "resolve.url",
            ),
            (
                &format!("{GOOD}\n[[extract]]\nkey = \"r\"\nregex = 'x'\n"),
                "extract[0].regex",
            ),
        ];
        for (text, key) in cases {
            let err = error_of(text);
            assert_eq!(err.file, "bad.toml");
            assert_eq!(&err.key, key, "{err}");
            assert!(err.to_string().contains("bad.toml"), "{err}");
        }
    }

    #[test]
    fn every_embedded_recipe_parses() {
        for (file, text) in EMBEDDED {
            if let Err(err) = Recipe::parse(file, text) {
                panic!("{err}");
            }
        }
    }

    #[test]
    fn normalized_inputs() {
        assert_eq!(
            normalize_input("HTTPS://WWW.YouTube.com/@Ana?x=1#y").unwrap(),
            "youtube.com/@Ana?x=1"
        );
        assert_eq!(
            normalize_input("m.reddit.com/r/x").unwrap(),
            "reddit.com/r/x"
        );
        assert!(normalize_input("a b").is_none());
        assert!(normalize_input(&"a".repeat(5000)).is_none());
    }
}
