//! OPML 2.0 out (a user's sources) and in (a subscription list to import).
//!
//! Every source goes out, each outline with its connector kind, parameters and schedule
//! in attributes of the [`TRIBUTARY_NS`] namespace (`tributary:kind`, `tributary:params`
//! as JSON, `tributary:schedule` when not the default), plus `xmlUrl` when the source
//! reads a feed and `htmlUrl` when it has a page, for other readers. Reading takes those
//! attributes when present and otherwise recognizes `xmlUrl` as before. Reading is
//! defensive: no DTD is processed (a DOCTYPE refuses the file), nesting, outline count,
//! size and parameter text are capped, parameters go through their connector's
//! `validate`, and every URL is checked before it becomes a source. Pure: no IO.

use quick_xml::Writer;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use url::Url;

use super::uri::uri_text;
use super::{rfc822, xml_text};
use crate::config::FetchConfig;
use crate::fetch::guard::{GuardPolicy, check_url};
use crate::schedule::parse_schedule;

/// The namespace of Tributary's outline attributes. Bound to the `tributary` prefix on
/// the root of every exported file; any prefix bound to it is read.
pub const TRIBUTARY_NS: &str = "https://tributary.dev/ns/opml/1";
/// Longest `tributary:params` text read (JSON).
pub const MAX_PARAMS_CHARS: usize = 8 * 1024;

/// Largest OPML file accepted, in bytes.
pub const MAX_OPML_BYTES: usize = 1024 * 1024;
/// Outlines nested deeper than this are skipped (subscription lists use one or two levels).
pub const MAX_OPML_DEPTH: usize = 16;
/// Outline elements read at most; the rest of the file is ignored with a message.
pub const MAX_OPML_OUTLINES: usize = 2_000;

/// URLs in a report are cut to this many characters.
const MAX_SHOWN_URL_CHARS: usize = 200;
/// Source titles taken from an OPML file are cut to this many characters.
const MAX_TITLE_CHARS: usize = 200;

/// One source in an exported list.
#[derive(Clone, Debug, PartialEq)]
pub struct OpmlSource {
    pub title: String,
    pub kind: String,
    pub params: serde_json::Value,
    /// Normalized cron text; empty for the default schedule.
    pub schedule: String,
    /// The feed the source reads, when it is one other readers can use.
    pub xml_url: Option<String>,
    /// The page showing the same activity.
    pub html_url: Option<String>,
}

/// One subscription read from an OPML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlEntry {
    pub title: String,
    pub xml_url: Option<String>,
    /// The page (`htmlUrl`), read for outlines without `xmlUrl`.
    pub html_url: Option<String>,
    /// What the `tributary:` attributes say, when the outline has them.
    pub source: Option<SourceSpec>,
}

/// A source as Tributary wrote it: untrusted text until [`plan`] checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    pub kind: String,
    /// JSON text.
    pub params: String,
    pub schedule: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("the file is larger than {MAX_OPML_BYTES} bytes")]
    TooLarge,
    #[error("the file has a DOCTYPE declaration, which is not accepted (entity expansion attacks)")]
    Doctype,
    #[error("the file is not well-formed XML: {0}")]
    Xml(String),
    #[error("the file is not OPML (no <opml> root element)")]
    NotOpml,
}

/// The OPML document listing `sources`.
pub fn opml(
    title: &str,
    owner_name: &str,
    created: chrono::DateTime<chrono::Utc>,
    sources: &[OpmlSource],
) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    let result = writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .and_then(|()| {
            writer
                .create_element("opml")
                .with_attribute(("version", "2.0"))
                .with_attribute(("xmlns:tributary", TRIBUTARY_NS))
                .write_inner_content(|writer| {
                    writer
                        .create_element("head")
                        .write_inner_content(|writer| {
                            writer
                                .create_element("title")
                                .write_text_content(BytesText::new(&xml_text(title)))?;
                            writer
                                .create_element("dateCreated")
                                .write_text_content(BytesText::new(&rfc822(created)))?;
                            writer
                                .create_element("ownerName")
                                .write_text_content(BytesText::new(&xml_text(owner_name)))?;
                            Ok(())
                        })?;
                    writer
                        .create_element("body")
                        .write_inner_content(|writer| {
                            for source in sources {
                                outline_element(writer, source)?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                })?;
            Ok(())
        });
    result.expect("writing XML to a Vec cannot fail");
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    bytes
}

/// One `<outline>`: the labels and addresses other readers use, then Tributary's own.
fn outline_element(writer: &mut Writer<Vec<u8>>, source: &OpmlSource) -> std::io::Result<()> {
    let xml_url = source
        .xml_url
        .as_deref()
        .map(|url| xml_text(&uri_text(url)).into_owned());
    let html_url = source
        .html_url
        .as_deref()
        .map(|url| xml_text(&uri_text(url)).into_owned());
    let title = xml_text(source.title.trim());
    // OPML 2.0 requires `text`; an untitled source is labelled by its address or kind.
    let text = [
        Some(title.as_ref()),
        xml_url.as_deref(),
        html_url.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|text| !text.is_empty())
    .unwrap_or(&source.kind)
    .to_owned();
    let params = serde_json::to_string(&source.params).expect("a JSON value always serializes");
    let mut element = writer
        .create_element("outline")
        .with_attribute(("text", text.as_str()));
    if !title.is_empty() {
        element = element.with_attribute(("title", title.as_ref()));
    }
    if let Some(url) = &xml_url {
        element = element
            .with_attribute(("type", "rss"))
            .with_attribute(("xmlUrl", url.as_str()));
    } else if let Some(url) = &html_url {
        element = element
            .with_attribute(("type", "link"))
            .with_attribute(("url", url.as_str()));
    }
    if let Some(url) = &html_url {
        element = element.with_attribute(("htmlUrl", url.as_str()));
    }
    element = element
        .with_attribute(("category", xml_text(&source.kind).as_ref()))
        .with_attribute(("tributary:kind", xml_text(&source.kind).as_ref()))
        .with_attribute(("tributary:params", xml_text(&params).as_ref()));
    if !source.schedule.is_empty() {
        element =
            element.with_attribute(("tributary:schedule", xml_text(&source.schedule).as_ref()));
    }
    element.write_empty()?;
    Ok(())
}

/// Reads the subscriptions of an OPML file, in document order, with a message for
/// everything skipped. An outline is a subscription when it has `xmlUrl`,
/// `tributary:kind` or `htmlUrl`, or when it has none of them and no outline inside it
/// (then [`plan`] refuses it with the reason): only folders are left out. Runs in time
/// linear in the input.
pub fn parse(bytes: &[u8]) -> Result<(Vec<OpmlEntry>, Vec<String>), OpmlError> {
    if bytes.len() > MAX_OPML_BYTES {
        return Err(OpmlError::TooLarge);
    }
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut n_outlines = 0usize;
    let mut n_too_deep = 0usize;
    // Open outlines with nothing to subscribe to: (depth, the outline, seen a child).
    // One that closes without a child outline was a subscription without an address,
    // not a folder.
    let mut open_empty: Vec<(usize, OpmlEntry, bool)> = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|err| OpmlError::Xml(err.to_string()))?;
        match event {
            Event::DocType(_) => return Err(OpmlError::Doctype),
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                let name = start.local_name();
                if !seen_root {
                    if name.into_inner() != "opml" {
                        return Err(OpmlError::NotOpml);
                    }
                    seen_root = true;
                }
                if name.into_inner() == "outline" {
                    for (_, _, has_child) in open_empty.iter_mut() {
                        *has_child = true;
                    }
                    n_outlines += 1;
                    if n_outlines > MAX_OPML_OUTLINES {
                        warnings.push(format!(
                            "only the first {MAX_OPML_OUTLINES} outlines were read; the rest of the file was ignored"
                        ));
                        break;
                    }
                    // `depth` counts the open elements around this one: opml, body, then
                    // outlines.
                    if depth > MAX_OPML_DEPTH + 2 {
                        n_too_deep += 1;
                    } else if let Some(entry) = outline(&reader, start, &mut warnings) {
                        let is_empty_outline = entry.source.is_none()
                            && entry.xml_url.is_none()
                            && entry.html_url.is_none();
                        match (is_empty_outline, is_empty) {
                            (true, false) => open_empty.push((depth, entry, false)),
                            _ => entries.push(entry),
                        }
                    }
                }
                if !is_empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if open_empty.last().is_some_and(|(at, _, _)| *at == depth)
                    && let Some((_, entry, has_child)) = open_empty.pop()
                    && !has_child
                {
                    entries.push(entry);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err(OpmlError::NotOpml);
    }
    if n_too_deep > 0 {
        warnings.push(format!(
            "skipped {n_too_deep} outlines nested more than {MAX_OPML_DEPTH} levels deep"
        ));
    }
    Ok((entries, warnings))
}

/// A subscription from an OPML file that passed every check, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedSource {
    /// What the report calls it: its address, or its kind and parameters.
    pub url: String,
    pub title: String,
    pub kind: String,
    pub params: serde_json::Value,
    /// Normalized cron text; empty for the default schedule.
    pub schedule: String,
}

/// What an import did: sources added, already present, refused (with the reason), and
/// messages about the file itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: Vec<String>,
    pub already_present: Vec<String>,
    /// `(url, reason)`.
    pub refused: Vec<(String, String)>,
    pub messages: Vec<String>,
}

/// Checks every entry and recognizes its connector: `guard` is the fetcher's SSRF check
/// (private addresses). Entries repeated in the file count as already present.
pub fn plan(
    entries: &[OpmlEntry],
    registry: &connectors::Registry,
    guard: &dyn Fn(&Url) -> Result<(), String>,
    report: &mut ImportReport,
) -> Vec<PlannedSource> {
    let mut planned: Vec<PlannedSource> = Vec::new();
    for entry in entries {
        let checked = match (&entry.source, &entry.xml_url, &entry.html_url) {
            (Some(spec), _, _) => plan_spec(entry, spec, registry, guard),
            (None, Some(_), _) => plan_url(entry, registry, guard),
            (None, None, Some(page)) => Err((
                shown_text(page),
                "the outline has no xmlUrl, only a page address (htmlUrl); the import looks \
                 for the feeds of such pages"
                    .to_owned(),
            )),
            (None, None, None) => Err((
                shown_outline(entry),
                "the outline has no xmlUrl, htmlUrl or tributary:kind, so there is nothing to \
                 subscribe to"
                    .to_owned(),
            )),
        };
        let source = match checked {
            Ok(source) => source,
            Err((shown, reason)) => {
                report.refused.push((shown, reason));
                continue;
            }
        };
        if planned
            .iter()
            .any(|p| p.kind == source.kind && p.params == source.params)
        {
            report.already_present.push(source.url);
            continue;
        }
        planned.push(source);
    }
    planned
}

/// A refused outline: what the report shows of it, and why.
type Refusal = (String, String);

/// An outline from another reader: its `xmlUrl`, recognized as if it had been pasted.
fn plan_url(
    entry: &OpmlEntry,
    registry: &connectors::Registry,
    guard: &dyn Fn(&Url) -> Result<(), String>,
) -> Result<PlannedSource, Refusal> {
    let xml_url = entry.xml_url.as_deref().unwrap_or_default();
    let shown = shown_text(xml_url);
    let url = check_import_url(xml_url)
        .and_then(|url| guard(&url).map(|()| url))
        .map_err(|reason| (shown.clone(), reason))?;
    let Some((connector, params)) = registry.recognize(url.as_str()) else {
        return Err((shown, "no connector recognizes this URL".to_owned()));
    };
    let params = connector
        .validate(&params)
        .map_err(|err| (shown.clone(), err.to_string()))?;
    Ok(PlannedSource {
        url: url.to_string(),
        title: clamped_title(&entry.title),
        kind: connector.kind().to_owned(),
        params,
        schedule: String::new(),
    })
}

/// An outline Tributary wrote: kind, parameters and schedule as they were, each checked
/// as if typed into the advanced form (the kind must exist, its connector validates the
/// parameters), and every address the source would fetch through the same URL checks as
/// an `xmlUrl`.
fn plan_spec(
    entry: &OpmlEntry,
    spec: &SourceSpec,
    registry: &connectors::Registry,
    guard: &dyn Fn(&Url) -> Result<(), String>,
) -> Result<PlannedSource, Refusal> {
    let mut shown = shown_text(&format!("{} {}", spec.kind, spec.params));
    let connector = registry.get(&spec.kind).ok_or_else(|| {
        (
            shown.clone(),
            format!("this instance has no `{}` connector", spec.kind),
        )
    })?;
    if spec.params.chars().count() > MAX_PARAMS_CHARS {
        return Err((
            shown,
            format!("the parameters are longer than {MAX_PARAMS_CHARS} characters"),
        ));
    }
    let params: serde_json::Value = serde_json::from_str(&spec.params).map_err(|err| {
        (
            shown.clone(),
            format!("the parameters are not JSON ({err})"),
        )
    })?;
    if !params.is_object() {
        return Err((shown, "the parameters are not a JSON object".to_owned()));
    }
    let params = connector
        .validate(&params)
        .map_err(|err| (shown.clone(), err.to_string()))?;
    let addresses = connector.addresses(&params);
    let url_param = params
        .get("url")
        .and_then(|url| url.as_str())
        .map(str::to_owned);
    let fetched = url_param
        .iter()
        .cloned()
        .chain(addresses.feed.iter().map(|url| url.to_string()));
    for url in fetched {
        check_import_url(&url)
            .and_then(|url| guard(&url))
            .map_err(|reason| (shown_text(&url), reason))?;
    }
    let schedule = if spec.schedule.trim().is_empty() {
        String::new()
    } else {
        parse_schedule(&spec.schedule)
            .map_err(|why| (shown.clone(), format!("the schedule is not valid: {why}")))?
    };
    if let Some(url) = url_param.or_else(|| addresses.feed.map(String::from)) {
        shown = shown_text(&url);
    }
    Ok(PlannedSource {
        url: shown,
        title: clamped_title(&entry.title),
        kind: connector.kind().to_owned(),
        params,
        schedule,
    })
}

/// Text from the file as a report shows it: XML-safe and cut short.
pub fn shown_text(text: &str) -> String {
    xml_text(text).chars().take(MAX_SHOWN_URL_CHARS).collect()
}

/// What a report calls an outline without any address: its title in quotes.
fn shown_outline(entry: &OpmlEntry) -> String {
    if entry.title.is_empty() {
        "an outline without a title".to_owned()
    } else {
        shown_text(&format!("“{}”", entry.title))
    }
}

/// A title from the file, cut to what a source keeps.
pub fn clamped_title(title: &str) -> String {
    title.chars().take(MAX_TITLE_CHARS).collect()
}

/// The fetcher's SSRF check (`fetch::guard`, pure) under these fetch settings, for
/// [`plan`]: private addresses are refused unless the settings allow them.
pub fn ssrf_guard(
    fetch: &FetchConfig,
) -> Result<impl Fn(&Url) -> Result<(), String> + use<>, String> {
    let policy = GuardPolicy::new(fetch.allow_private_networks, &fetch.allowed_private_origins)?;
    Ok(move |url: &Url| check_url(url, &policy).map_err(|err| err.to_string()))
}

/// Whether an imported URL may become a source: http or https, not a local name, and
/// (checked by the caller's SSRF guard) not a private address.
pub fn check_import_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|err| format!("not a URL ({err})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the {}: scheme is not allowed (only http and https)",
            url.scheme()
        ));
    }
    match url.host_str() {
        None => Err("the URL has no host".to_owned()),
        Some(host) if host == "localhost" || host.ends_with(".localhost") => {
            Err(format!("{host} is this machine"))
        }
        Some(_) => Ok(url),
    }
}

fn outline(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    warnings: &mut Vec<String>,
) -> Option<OpmlEntry> {
    let mut title = String::new();
    let mut text = String::new();
    let mut xml_url = None;
    let mut html_url = None;
    let mut kind = None;
    let mut params = String::new();
    let mut schedule = String::new();
    for attribute in start.attributes().with_checks(false) {
        let Ok(attribute) = attribute else {
            warnings.push("skipped an outline with a malformed attribute".to_owned());
            return None;
        };
        let Ok(value) = attribute.normalized_value(XmlVersion::Implicit1_0) else {
            warnings.push("skipped an outline with an unknown entity in an attribute".to_owned());
            return None;
        };
        let (namespace, local) = reader.resolver().resolve_attribute(attribute.key);
        let ours = namespace == ResolveResult::Bound(Namespace(TRIBUTARY_NS));
        match (ours, local.into_inner()) {
            (true, "kind") => kind = Some(value.trim().to_owned()),
            (true, "params") => params = value.into_owned(),
            (true, "schedule") => schedule = value.into_owned(),
            (false, "title") => title = value.into_owned(),
            (false, "text") => text = value.into_owned(),
            (false, "xmlUrl" | "xmlurl") => xml_url = Some(value.trim().to_owned()),
            (false, "htmlUrl" | "htmlurl") => html_url = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let xml_url = xml_url.filter(|url| !url.is_empty());
    let html_url = html_url.filter(|url| !url.is_empty());
    let source = kind.map(|kind| SourceSpec {
        kind,
        params,
        schedule,
    });
    // Tributary writes `title` only for titled sources; `text` is then just a label.
    let title = match &source {
        Some(_) => title,
        None if title.trim().is_empty() => text,
        None => title,
    };
    Some(OpmlEntry {
        title: title.trim().to_owned(),
        xml_url,
        html_url,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_urls(input: &str, expected: &[&str]) {
        let (entries, _) = parse(input.as_bytes()).unwrap();
        let urls: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.xml_url.as_deref())
            .collect();
        assert_eq!(urls, expected);
    }

    #[test]
    fn nested_folders_are_read() {
        check_urls(
            r#"<opml version="2.0"><head/><body><outline text="f"><outline text="a" xmlUrl="https://a.example/feed"/></outline><outline xmlUrl="https://b.example/&amp;x"/></body></opml>"#,
            &["https://a.example/feed", "https://b.example/&x"],
        );
    }

    #[test]
    fn outlines_without_an_address_are_kept_for_the_report_but_folders_are_not() {
        let input = r#"<opml version="2.0"><body><outline text="folder"><outline text="bare"/><outline text="page" htmlUrl="https://p.example/"/><outline text="open"></outline></outline></body></opml>"#;
        let (entries, _) = parse(input.as_bytes()).unwrap();
        let titles: Vec<&str> = entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["bare", "page", "open"]);
        assert_eq!(entries[1].html_url.as_deref(), Some("https://p.example/"));
    }

    #[test]
    fn doctype_is_refused() {
        let input = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body><outline xmlUrl="&lol;"/></body></opml>"#;
        assert_eq!(parse(input.as_bytes()), Err(OpmlError::Doctype));
    }

    #[test]
    fn export_reads_back() {
        let sources = [OpmlSource {
            title: "A & B <c>".into(),
            kind: "json".into(),
            params: serde_json::json!({ "url": "https://a.example/x.json?x=1&y=2", "title": "/t\"" }),
            schedule: "0 */5 * * * *".into(),
            xml_url: None,
            html_url: Some("https://a.example/".into()),
        }];
        let bytes = opml("ana", "ana", chrono::Utc::now(), &sources);
        let (entries, warnings) = parse(&bytes).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            entries,
            [OpmlEntry {
                title: "A & B <c>".into(),
                xml_url: None,
                html_url: Some("https://a.example/".into()),
                source: Some(SourceSpec {
                    kind: "json".into(),
                    params: sources[0].params.to_string(),
                    schedule: "0 */5 * * * *".into(),
                }),
            }]
        );
    }

    #[test]
    fn tributary_attributes_are_read_under_any_prefix() {
        let input = r#"<opml version="2.0" xmlns:t="https://tributary.dev/ns/opml/1" xmlns:x="https://other.example/"><body><outline text="a" t:kind="github" t:params="{&quot;user&quot;:&quot;octocat&quot;}"/><outline text="b" x:kind="github" xmlUrl="https://b.example/feed"/></body></opml>"#;
        let (entries, _) = parse(input.as_bytes()).unwrap();
        assert_eq!(entries[0].source.as_ref().unwrap().kind, "github");
        assert_eq!(entries[1].source, None);
    }

    #[test]
    fn non_http_urls_are_refused() {
        assert!(check_import_url("javascript:alert(1)").is_err());
        assert!(check_import_url("file:///etc/passwd").is_err());
        assert!(check_import_url("http://localhost/feed").is_err());
        assert!(check_import_url("https://blog.example/feed").is_ok());
    }
}
