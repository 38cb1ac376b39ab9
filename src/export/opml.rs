//! OPML 2.0 out (a user's sources) and in (a subscription list to import). Reading is
//! defensive: no DTD is processed (a DOCTYPE refuses the file), nesting, outline count and
//! size are capped, and every URL is checked before it becomes a source. Pure: no IO.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::{Reader, XmlVersion};
use url::Url;

use super::{rfc822, xml_text};
use crate::config::FetchConfig;
use crate::fetch::guard::{GuardPolicy, check_url};

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlSource {
    pub title: String,
    pub kind: String,
    pub xml_url: String,
}

/// One subscription read from an OPML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlEntry {
    pub title: String,
    pub xml_url: String,
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
                                let text = if source.title.trim().is_empty() {
                                    &source.xml_url
                                } else {
                                    &source.title
                                };
                                writer
                                    .create_element("outline")
                                    .with_attribute(("type", "rss"))
                                    .with_attribute(("text", xml_text(text).as_ref()))
                                    .with_attribute(("title", xml_text(text).as_ref()))
                                    .with_attribute(("xmlUrl", xml_text(&source.xml_url).as_ref()))
                                    .with_attribute(("category", xml_text(&source.kind).as_ref()))
                                    .write_empty()?;
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

/// Reads the subscriptions (outlines with `xmlUrl`) of an OPML file, in document order,
/// with a message for everything skipped. Runs in time linear in the input.
pub fn parse(bytes: &[u8]) -> Result<(Vec<OpmlEntry>, Vec<String>), OpmlError> {
    if bytes.len() > MAX_OPML_BYTES {
        return Err(OpmlError::TooLarge);
    }
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut n_outlines = 0usize;
    let mut n_too_deep = 0usize;
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
                    } else if let Some(entry) = outline(start, &mut warnings) {
                        entries.push(entry);
                    }
                }
                if !is_empty {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
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
    pub url: String,
    pub title: String,
    pub kind: String,
    pub params: serde_json::Value,
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
        let shown = xml_text(&entry.xml_url)
            .chars()
            .take(MAX_SHOWN_URL_CHARS)
            .collect::<String>();
        let url = match check_import_url(&entry.xml_url).and_then(|url| guard(&url).map(|()| url)) {
            Ok(url) => url,
            Err(reason) => {
                report.refused.push((shown, reason));
                continue;
            }
        };
        let Some((connector, params)) = registry.recognize(url.as_str()) else {
            report
                .refused
                .push((shown, "no connector recognizes this URL".to_owned()));
            continue;
        };
        let params = match connector.validate(&params) {
            Ok(params) => params,
            Err(err) => {
                report.refused.push((shown, err.to_string()));
                continue;
            }
        };
        let kind = connector.kind().to_owned();
        if planned.iter().any(|p| p.kind == kind && p.params == params) {
            report.already_present.push(shown);
            continue;
        }
        planned.push(PlannedSource {
            url: url.to_string(),
            title: entry.title.chars().take(MAX_TITLE_CHARS).collect(),
            kind,
            params,
        });
    }
    planned
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

fn outline(start: &BytesStart<'_>, warnings: &mut Vec<String>) -> Option<OpmlEntry> {
    let mut title = String::new();
    let mut text = String::new();
    let mut xml_url = None;
    for attribute in start.attributes().with_checks(false) {
        let Ok(attribute) = attribute else {
            warnings.push("skipped an outline with a malformed attribute".to_owned());
            return None;
        };
        let Ok(value) = attribute.normalized_value(XmlVersion::Implicit1_0) else {
            warnings.push("skipped an outline with an unknown entity in an attribute".to_owned());
            return None;
        };
        match attribute.key.local_name().into_inner() {
            "title" => title = value.into_owned(),
            "text" => text = value.into_owned(),
            "xmlUrl" | "xmlurl" => xml_url = Some(value.into_owned()),
            _ => {}
        }
    }
    let xml_url = xml_url?.trim().to_owned();
    if xml_url.is_empty() {
        return None;
    }
    let title = if title.trim().is_empty() { text } else { title };
    Some(OpmlEntry {
        title: title.trim().to_owned(),
        xml_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_urls(input: &str, expected: &[&str]) {
        let (entries, _) = parse(input.as_bytes()).unwrap();
        let urls: Vec<&str> = entries.iter().map(|e| e.xml_url.as_str()).collect();
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
    fn doctype_is_refused() {
        let input = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body><outline xmlUrl="&lol;"/></body></opml>"#;
        assert_eq!(parse(input.as_bytes()), Err(OpmlError::Doctype));
    }

    #[test]
    fn export_reads_back() {
        let sources = [OpmlSource {
            title: "A & B <c>".into(),
            kind: "feed".into(),
            xml_url: "https://a.example/feed?x=1&y=2".into(),
        }];
        let bytes = opml("ana", "ana", chrono::Utc::now(), &sources);
        let (entries, warnings) = parse(&bytes).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            entries,
            [OpmlEntry {
                title: "A & B <c>".into(),
                xml_url: sources[0].xml_url.clone()
            }]
        );
    }

    #[test]
    fn non_http_urls_are_refused() {
        assert!(check_import_url("javascript:alert(1)").is_err());
        assert!(check_import_url("file:///etc/passwd").is_err());
        assert!(check_import_url("http://localhost/feed").is_err());
        assert!(check_import_url("https://blog.example/feed").is_ok());
    }
}
