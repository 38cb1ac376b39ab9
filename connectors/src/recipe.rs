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
use serde::{Deserialize, Serialize};
use url::Url;

use crate::http::{self, FetchRequest};
use crate::item::{Content, ItemKind, Media, RawItem};
use crate::protocol::html::HtmlSpec;
use crate::protocol::{ItemSpec, feed, html as html_connector, json as json_connector};
use crate::{
    ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState, SourceAddresses,
    TypedConnector,
};

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
    Json(Box<json_connector::JsonSpec>),
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

/// A recipe file as written. serde refuses unknown keys and wrong types, and names the
/// key; [`Recipe::parse`] checks what serde cannot (regexes, templates, names).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    name: String,
    title: String,
    #[serde(default)]
    description: String,
    example: String,
    url: String,
    #[serde(default)]
    connector: BackendName,
    item_kind: Option<ItemKind>,
    schedule: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    params: Vec<ParamFile>,
    #[serde(default)]
    patterns: Vec<String>,
    resolve: Option<ResolveFile>,
    #[serde(default)]
    extract: Vec<ExtractFile>,
    json: Option<ItemSpec>,
    html: Option<ItemSpec>,
    #[serde(default)]
    image_from_content: bool,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BackendName {
    #[default]
    Feed,
    Json,
    Html,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamFile {
    name: String,
    #[serde(default)]
    help: String,
    #[serde(default = "yes")]
    required: bool,
    default: Option<String>,
    pattern: String,
    #[serde(default)]
    reserved: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveFile {
    param: String,
    url: String,
    regex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractFile {
    key: String,
    #[serde(default)]
    from: ExtractFrom,
    regex: String,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ExtractFrom {
    #[default]
    Title,
    Content,
}

/// Makes the errors of one file.
struct Problems<'a> {
    file: &'a str,
}

impl Problems<'_> {
    fn at(&self, key: impl Into<String>, message: impl Into<String>) -> RecipeError {
        RecipeError {
            file: self.file.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// serde's refusal, at the key it is about. serde names a missing or unknown key in
    /// its message, with the path of the table that holds it.
    fn of_serde(&self, err: serde_path_to_error::Error<toml::de::Error>) -> RecipeError {
        let path = err.path().to_string();
        let message = err.into_inner().message().to_owned();
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        let key = match (named, path.as_str()) {
            (Some(field), "." | "") => field.to_owned(),
            (Some(field), table) if table != field && !table.ends_with(&format!(".{field}")) => {
                format!("{table}.{field}")
            }
            (_, table) => table.to_owned(),
        };
        let message = if message.starts_with("missing field") {
            "is missing".to_owned()
        } else if message.starts_with("unknown field") {
            let known = message
                .split_once(", expected ")
                .map_or("", |(_, known)| known);
            format!(
                "unknown key; known keys: {}",
                known.trim_start_matches("one of ")
            )
        } else {
            message
        };
        self.at(key, message)
    }

    fn nonempty(&self, key: &str, text: String) -> Result<String, RecipeError> {
        if text.trim().is_empty() {
            return Err(self.at(key, "is missing"));
        }
        Ok(text)
    }

    fn regex(&self, key: &str, source: &str) -> Result<Regex, RecipeError> {
        if source.chars().count() > MAX_REGEX_CHARS {
            return Err(self.at(key, format!("longer than {MAX_REGEX_CHARS} characters")));
        }
        regex::RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| {
                self.at(
                    key,
                    format!("not a valid regex: {}", err.to_string().replace('\n', " ")),
                )
            })
    }
}

impl Recipe {
    /// Parses one recipe file. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Recipe, RecipeError> {
        let problems = Problems { file };
        if text.len() > MAX_RECIPE_BYTES {
            return Err(problems.at("(file)", format!("larger than {MAX_RECIPE_BYTES} bytes")));
        }
        let document = toml::Deserializer::parse(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = err.message().to_owned();
            problems.at(
                "(syntax)",
                match line {
                    Some(line) => format!("line {line}: {message}"),
                    None => message,
                },
            )
        })?;
        let written: RecipeFile =
            serde_path_to_error::deserialize(document).map_err(|err| problems.of_serde(err))?;
        problems.recipe(written)
    }
}

impl Problems<'_> {
    /// The recipe `written` says, with every value serde cannot check checked.
    fn recipe(&self, written: RecipeFile) -> Result<Recipe, RecipeError> {
        if !is_name(&written.name) {
            return Err(self.at(
                "name",
                "must be 1–40 lower-case letters, digits, `_` or `-`, starting with a letter",
            ));
        }
        let title = self.nonempty("title", written.title)?;
        let example = self.nonempty("example", written.example)?;
        let url = self.nonempty("url", written.url)?;
        let names = template_names(&url).map_err(|why| self.at("url", why))?;
        let probe: BTreeMap<String, String> =
            names.iter().map(|n| (n.clone(), "x".to_owned())).collect();
        match render(&url, &probe).and_then(|u| Url::parse(&u).ok()) {
            Some(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(self.at(
                    "url",
                    "must be an http or https URL template such as https://site.example/{user}/rss",
                ));
            }
        }
        for key in written.headers.keys() {
            if key.eq_ignore_ascii_case("authorization") || key.eq_ignore_ascii_case("cookie") {
                return Err(self.at(format!("headers.{key}"), "recipes may not send credentials"));
            }
        }
        let params = written
            .params
            .into_iter()
            .enumerate()
            .map(|(idx, param)| self.param(idx, param))
            .collect::<Result<Vec<_>, _>>()?;
        let declares = |name: &str| params.iter().any(|p| p.name == name);
        if let Some(name) = names.iter().find(|name| !declares(name)) {
            return Err(self.at(
                "url",
                format!("uses {{{name}}}, which no [[params]] entry declares"),
            ));
        }
        let mut patterns = Vec::new();
        for (idx, source) in written.patterns.iter().enumerate() {
            let key = format!("patterns[{idx}]");
            // Anchored whatever the author wrote: a pattern matches the whole input,
            // never a URL that merely contains a known one.
            let regex = self.regex(&key, &anchored(source))?;
            if let Some(capture) = regex.capture_names().flatten().find(|c| !declares(c)) {
                return Err(self.at(
                    &key,
                    format!("captures `{capture}`, which is not a parameter"),
                ));
            }
            patterns.push(regex);
        }
        let resolve = match written.resolve {
            None => None,
            Some(resolve) => {
                if !declares(&resolve.param) {
                    return Err(self.at(
                        "resolve.param",
                        format!("`{}` is not a parameter", resolve.param),
                    ));
                }
                let used =
                    template_names(&resolve.url).map_err(|why| self.at("resolve.url", why))?;
                if let Some(used) = used.iter().find(|u| **u == resolve.param || !declares(u)) {
                    return Err(self.at(
                        "resolve.url",
                        format!("uses {{{used}}}, which it cannot know yet"),
                    ));
                }
                let regex = self.regex("resolve.regex", &resolve.regex)?;
                if !regex.capture_names().flatten().any(|c| c == resolve.param) {
                    return Err(self.at(
                        "resolve.regex",
                        format!("needs a capture named `{}`", resolve.param),
                    ));
                }
                Some(Resolve {
                    param: resolve.param,
                    url: resolve.url,
                    regex,
                })
            }
        };
        let mut extract = Vec::new();
        for (idx, written) in written.extract.into_iter().enumerate() {
            let key = format!("extract[{idx}].regex");
            let regex = self.regex(&key, &written.regex)?;
            if !regex.capture_names().flatten().any(|c| c == "value") {
                return Err(self.at(key, "needs a capture named `value`"));
            }
            extract.push(Extract {
                key: self.nonempty(&format!("extract[{idx}].key"), written.key)?,
                from_content: matches!(written.from, ExtractFrom::Content),
                regex,
            });
        }
        let backend = match (written.connector, written.json, written.html) {
            (BackendName::Feed, None, None) => Backend::Feed,
            (BackendName::Json, Some(spec), None) => Backend::Json(Box::new(self.json_spec(spec)?)),
            (BackendName::Html, None, Some(spec)) => Backend::Html(self.html_spec(spec)?),
            (BackendName::Json, None, _) => {
                return Err(self.at("json", "a json recipe needs a [json] table of pointers"));
            }
            (BackendName::Html, _, None) => {
                return Err(self.at("html", "an html recipe needs an [html] table of selectors"));
            }
            (_, Some(_), _) => return Err(self.at("json", "only for connector = \"json\"")),
            (_, _, Some(_)) => return Err(self.at("html", "only for connector = \"html\"")),
        };
        Ok(Recipe {
            file: self.file.to_owned(),
            name: leak(written.name),
            title: leak(title),
            description: leak(written.description),
            example: leak(example),
            url,
            backend,
            item_kind: written.item_kind,
            schedule: written.schedule.map(leak),
            headers: written.headers.into_iter().collect(),
            params,
            patterns,
            resolve,
            extract,
            image_from_content: written.image_from_content,
        })
    }

    fn param(&self, idx: usize, written: ParamFile) -> Result<RecipeParam, RecipeError> {
        let key = |name: &str| format!("params[{idx}].{name}");
        if !is_name(&written.name) {
            return Err(self.at(key("name"), "must be lower-case letters, digits or `_`"));
        }
        let source = self.nonempty(&key("pattern"), written.pattern)?;
        let pattern = self.regex(&key("pattern"), &anchored(&source))?;
        if let Some(default) = &written.default
            && !pattern.is_match(default)
        {
            return Err(self.at(key("default"), "does not match the parameter's pattern"));
        }
        Ok(RecipeParam {
            name: leak(written.name),
            help: leak(written.help),
            required: written.required,
            default: written.default,
            pattern,
            reserved: written
                .reserved
                .iter()
                .map(|word| word.to_ascii_lowercase())
                .collect(),
        })
    }

    /// A `[json]` table: the spec of a json source, whose address is the recipe's `url`.
    fn json_spec(&self, spec: ItemSpec) -> Result<ItemSpec, RecipeError> {
        self.without_url("json", &spec)?;
        spec.checked()
            .map_err(|err| self.at("json", err.to_string()))
    }

    /// An `[html]` table: the selectors of an html source.
    fn html_spec(&self, spec: ItemSpec) -> Result<HtmlSpec, RecipeError> {
        self.without_url("html", &spec)?;
        HtmlSpec::compile(&spec).map_err(|err| self.at("html", err.to_string()))
    }

    fn without_url(&self, table: &str, spec: &ItemSpec) -> Result<(), RecipeError> {
        match spec.url {
            Some(_) => Err(self.at(
                format!("{table}.url"),
                "the address is the recipe's own `url`",
            )),
            None => Ok(()),
        }
    }
}

impl Recipe {
    /// Parameters from pasted text, when a pattern matches.
    pub fn recognize(&self, input: &str) -> Option<RecipeParams> {
        let normalized = normalize_input(input)?;
        self.patterns.iter().find_map(|pattern| {
            let captures = pattern.captures(&normalized)?;
            let params = RecipeParams(
                pattern
                    .capture_names()
                    .flatten()
                    .filter_map(|name| {
                        let value = captures.name(name)?.as_str().to_owned();
                        Some((name.to_owned(), ParamText(Some(value))))
                    })
                    .collect(),
            );
            self.checked_values(&params).is_ok().then_some(params)
        })
    }

    /// Checked parameter values (defaults filled). The resolve parameter may be missing.
    fn checked_values(
        &self,
        params: &RecipeParams,
    ) -> Result<BTreeMap<String, String>, ConnectorError> {
        if let Some(unknown) = params
            .0
            .keys()
            .find(|key| !self.params.iter().any(|p| p.name == *key))
        {
            let known: Vec<String> = self
                .params
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect();
            return Err(ConnectorError::Unsupported(format!(
                "unknown parameter `{unknown}`; {} takes {}",
                self.title,
                known.join(", ")
            )));
        }
        let mut values = BTreeMap::new();
        for param in &self.params {
            let given = params.0.get(param.name).and_then(|text| text.0.clone());
            match given.or_else(|| param.default.clone()) {
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
                        "{} needs `{}`: {}",
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
                "{} needs `{}` or what finds it",
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

/// The parameters of a recipe's source: text by name. Which names a recipe takes is only
/// known when it is read, so the check against them is [`Recipe::checked_values`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecipeParams(pub BTreeMap<String, ParamText>);

impl RecipeParams {
    fn of(values: BTreeMap<String, String>) -> RecipeParams {
        RecipeParams(
            values
                .into_iter()
                .map(|(name, value)| (name, ParamText(Some(value))))
                .collect(),
        )
    }
}

/// One value: text, or a number read as text; empty text and null are none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ParamText(pub Option<String>);

impl<'de> Deserialize<'de> for ParamText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ParamText, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Number(serde_json::Number),
            Nothing(()),
        }
        let text = match Written::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom("must be text"))?
        {
            Written::Text(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
            Written::Number(number) => Some(number.to_string()),
            Written::Nothing(()) => None,
        };
        Ok(ParamText(text))
    }
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

#[async_trait::async_trait]
impl TypedConnector for RecipeConnector {
    type Params = RecipeParams;

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

    fn recognize(&self, input: &str) -> Option<RecipeParams> {
        self.recipe.recognize(input)
    }

    fn check(&self, params: RecipeParams) -> Result<RecipeParams, ConnectorError> {
        Ok(RecipeParams::of(self.recipe.checked_values(&params)?))
    }

    /// The filled URL template, when the recipe reads a feed.
    fn addresses(&self, params: &RecipeParams) -> SourceAddresses {
        let feed = match self.recipe.backend {
            Backend::Feed => self
                .recipe
                .checked_values(params)
                .and_then(|values| self.recipe.url_for(&values))
                .ok(),
            Backend::Json(_) | Backend::Html(_) => None,
        };
        SourceAddresses { feed, page: None }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &RecipeParams,
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
            new_params = serde_json::to_value(&values).ok();
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
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            serde_json::json!({"user": "ana"})
        );
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
        let traversal = crate::params::read(&serde_json::json!({"user": "ana/../x"})).unwrap();
        assert!(recipe.checked_values(&traversal).is_err());
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

    const JSON_RECIPE: &str = r#"
name = "zine"
title = "Zine"
example = "zine.example/~ana"
url = "https://zine.example/{user}.json"
connector = "json"
patterns = ['^zine\.example/~(?P<user>[a-z]+)$']

[[params]]
name = "user"
pattern = '^[a-z]+$'

[json]
items = "/posts"
id = "/id"
"#;

    // See: #16
    #[test]
    fn issue16_recipe_tables_are_read_with_serde_and_name_the_key() {
        Recipe::parse("zine.toml", JSON_RECIPE).unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                &JSON_RECIPE.replace("id = \"/id\"", "id = \"/id\"\ntitel = \"/t\""),
                "json.titel",
                "unknown key; known keys: `url`, `items`, `id`",
            ),
            (
                &JSON_RECIPE.replace(
                    "items = \"/posts\"",
                    "items = \"/posts\"\nurl = \"https://x.example/\"",
                ),
                "json.url",
                "the recipe's own `url`",
            ),
            (
                &JSON_RECIPE.replace("id = \"/id\"", "id = \"/id\"\nkind = \"poem\""),
                "json.kind",
                "not a kind of item",
            ),
            (
                &JSON_RECIPE.replace("pattern = '^[a-z]+$'", "pattern = '^[a-z]+$'\ncolour = 1"),
                "params[0].colour",
                "unknown key; known keys: `name`, `help`",
            ),
            (
                &JSON_RECIPE.replace(
                    "pattern = '^[a-z]+$'",
                    "pattern = '^[a-z]+$'\nrequired = \"yes\"",
                ),
                "params[0].required",
                "invalid type",
            ),
            (
                &format!(
                    "{JSON_RECIPE}\n[[extract]]\nkey = \"r\"\nfrom = \"body\"\nregex = '(?P<value>x)'\n"
                ),
                "extract[0].from",
                "unknown variant `body`",
            ),
            (
                &JSON_RECIPE.replace("title = \"Zine\"\n", ""),
                "title",
                "is missing",
            ),
        ];
        for (text, key, message) in cases {
            let err = Recipe::parse("zine.toml", text).unwrap_err();
            assert_eq!(
                (err.file.as_str(), err.key.as_str()),
                ("zine.toml", *key),
                "{err}"
            );
            assert!(err.message.contains(message), "{err}");
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
