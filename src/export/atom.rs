//! Atom 1.0 (RFC 4287) documents of a stream, of an item's comments and of a user's
//! notifications, written with
//! quick-xml's writer, with RFC 4685 threading and RFC 5005 paging. Pure: no IO.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, BytesText, Event};

use super::uri::uri_text;
use super::{
    ExportComment, ExportItem, FeedMeta, HISTORY_NS, NotificationEntry, THREAD_NS, entry_title,
    entry_updated, rfc3339, xml_text,
};

type XmlWriter = Writer<Vec<u8>>;

/// A stream's feed document: feed metadata, paging links and one entry per item, in the
/// order given.
pub fn atom(meta: &FeedMeta, entries: &[ExportItem]) -> Vec<u8> {
    feed_document(meta, |writer| {
        for entry in entries {
            item_entry(writer, meta, entry)?;
        }
        Ok(())
    })
}

/// A `<feed>` with its namespaces and head, then what `entries` writes.
fn feed_document(
    meta: &FeedMeta,
    entries: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> Vec<u8> {
    write_document(|writer| {
        writer
            .create_element("feed")
            .with_attributes(namespaces())
            .write_inner_content(|writer| {
                feed_head(writer, meta)?;
                entries(writer)
            })?;
        Ok(())
    })
}

/// The comments on one item, oldest first, each `thr:in-reply-to` the item's entry.
pub fn comments_atom(meta: &FeedMeta, entry: &ExportItem, comments: &[ExportComment]) -> Vec<u8> {
    let site = &meta.site;
    let item_tag = site.item_tag(entry.item.id);
    let item_page = site.item_page(entry.item.id);
    feed_document(meta, |writer| {
        for comment in comments {
            let permalink = format!("{item_page}#c{}", comment.id.0);
            writer
                .create_element("entry")
                .write_inner_content(|writer| {
                    text_element(writer, "id", &site.comment_tag(comment.id))?;
                    let title = format!("Comment by {}", comment.author_name);
                    text_element(writer, "title", &title)?;
                    link(writer, "alternate", &permalink, Some("text/html"))?;
                    writer
                        .create_element("thr:in-reply-to")
                        .with_attribute(("ref", uri_text(&item_tag).as_ref()))
                        .with_attribute(("href", uri_text(&item_page).as_ref()))
                        .with_attribute(("type", "text/html"))
                        .write_empty()?;
                    person(writer, "author", &comment.author_name, &comment.author_url)?;
                    text_element(writer, "published", &rfc3339(comment.created_at))?;
                    let updated = comment.edited_at.unwrap_or(comment.created_at);
                    text_element(writer, "updated", &rfc3339(updated))?;
                    if !xml_text(&comment.body).trim().is_empty() {
                        writer
                            .create_element("content")
                            .with_attribute(("type", "text"))
                            .write_text_content(BytesText::new(&xml_text(&comment.body)))?;
                    }
                    Ok(())
                })?;
        }
        Ok(())
    })
}

/// A user's notifications, newest first (the private feed of `/notifications`).
pub fn notifications_atom(meta: &FeedMeta, entries: &[NotificationEntry]) -> Vec<u8> {
    feed_document(meta, |writer| {
        for entry in entries {
            writer
                .create_element("entry")
                .write_inner_content(|writer| {
                    text_element(writer, "id", &uri_text(&entry.id))?;
                    text_element(writer, "title", &entry.title)?;
                    link(writer, "alternate", &entry.link, Some("text/html"))?;
                    if !entry.author_name.is_empty() {
                        person(writer, "author", &entry.author_name, &entry.author_url)?;
                    }
                    text_element(writer, "updated", &rfc3339(entry.updated))?;
                    if !xml_text(&entry.text).trim().is_empty() {
                        writer
                            .create_element("content")
                            .with_attribute(("type", "text"))
                            .write_text_content(BytesText::new(&xml_text(&entry.text)))?;
                    }
                    Ok(())
                })?;
        }
        Ok(())
    })
}

fn write_document(body: impl FnOnce(&mut XmlWriter) -> io::Result<()>) -> Vec<u8> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .and_then(|()| body(&mut writer))
        .expect("writing XML to a Vec cannot fail");
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    bytes
}

fn namespaces() -> [(&'static str, &'static str); 3] {
    [
        ("xmlns", super::ATOM_NS),
        ("xmlns:thr", THREAD_NS),
        ("xmlns:fh", HISTORY_NS),
    ]
}

fn feed_head(writer: &mut XmlWriter, meta: &FeedMeta) -> io::Result<()> {
    text_element(writer, "id", &uri_text(&meta.id))?;
    text_element(writer, "title", &meta.title)?;
    text_element(writer, "updated", &rfc3339(meta.updated))?;
    link(writer, "self", &meta.self_url, Some("application/atom+xml"))?;
    link(writer, "alternate", &meta.alternate_url, Some("text/html"))?;
    if let Some(hub) = &meta.hub {
        link(writer, "hub", hub, None)?;
    }
    if let Some(url) = &meta.paging.current {
        link(writer, "current", url, Some("application/atom+xml"))?;
    }
    if let Some(url) = &meta.paging.prev_archive {
        link(writer, "prev-archive", url, Some("application/atom+xml"))?;
    }
    if let Some(url) = &meta.paging.next_archive {
        link(writer, "next-archive", url, Some("application/atom+xml"))?;
    }
    if meta.paging.is_archive {
        writer.create_element("fh:archive").write_empty()?;
    }
    person(writer, "author", &meta.author_name, &meta.author_url)?;
    writer
        .create_element("generator")
        .with_attribute(("version", env!("CARGO_PKG_VERSION")))
        .write_text_content(BytesText::new("Tributary"))?;
    text_element(writer, "icon", &uri_text(&meta.icon_url))?;
    Ok(())
}

fn item_entry(writer: &mut XmlWriter, meta: &FeedMeta, entry: &ExportItem) -> io::Result<()> {
    let site = &meta.site;
    let item = &entry.item;
    let item_page = site.item_page(item.id);
    let n_comments = entry.n_comments.to_string();
    writer
        .create_element("entry")
        .write_inner_content(|writer| {
            text_element(writer, "id", &uri_text(&site.item_tag(item.id)))?;
            writer
                .create_element("title")
                .with_attribute(("type", "text"))
                .write_text_content(BytesText::new(&entry_title(item)))?;
            match &item.url {
                Some(url) => {
                    link(writer, "alternate", url.as_str(), None)?;
                    link(writer, "related", &item_page, Some("text/html"))?;
                }
                None => link(writer, "alternate", &item_page, Some("text/html"))?,
            }
            writer
                .create_element("link")
                .with_attribute(("rel", "replies"))
                .with_attribute(("type", "application/atom+xml"))
                .with_attribute(("href", uri_text(&site.comments_feed(item.id)).as_ref()))
                .with_attribute(("thr:count", n_comments.as_str()))
                .write_empty()?;
            for media in &item.media {
                let mut element = writer
                    .create_element("link")
                    .with_attribute(("rel", "enclosure"))
                    .with_attribute(("href", uri_text(media.url.as_str()).as_ref()));
                if let Some(media_type) = media.media_type.as_deref().filter(|t| is_media_type(t)) {
                    element = element.with_attribute(("type", xml_text(media_type).as_ref()));
                }
                if let Some(length) = media.length {
                    element = element.with_attribute(("length", length.to_string().as_str()));
                }
                element.write_empty()?;
            }
            let author = item
                .author_name
                .as_deref()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or(&item.user_name);
            person(writer, "author", author, "")?;
            text_element(writer, "published", &rfc3339(item.published_at))?;
            text_element(writer, "updated", &rfc3339(entry_updated(item)))?;
            for tag in item.tags.iter().filter(|tag| !tag.trim().is_empty()) {
                writer
                    .create_element("category")
                    .with_attribute(("term", xml_text(tag).as_ref()))
                    .write_empty()?;
            }
            // The HTML goes in CDATA sections: escaping every `<`, `>`, `"` and `&` as
            // text made the content a quarter larger. A `]]>` in it is split across two.
            // An empty body is left out: the alternate link stands for it (RFC 4287
            // §4.1.1), and validators flag an empty `content`.
            let html = xml_text(item.content.as_str());
            if !html.trim().is_empty() {
                writer
                    .create_element("content")
                    .with_attribute(("type", "html"))
                    .write_inner_content(|writer| {
                        for section in BytesCData::escaped(&html) {
                            writer.write_event(Event::CData(section))?;
                        }
                        Ok(())
                    })?;
            }
            text_element(writer, "thr:total", &n_comments)?;
            Ok(())
        })?;
    Ok(())
}

fn text_element(writer: &mut XmlWriter, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

fn link(writer: &mut XmlWriter, rel: &str, href: &str, media_type: Option<&str>) -> io::Result<()> {
    let mut element = writer
        .create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("href", xml_text(&uri_text(href)).as_ref()));
    if let Some(media_type) = media_type {
        element = element.with_attribute(("type", media_type));
    }
    element.write_empty()?;
    Ok(())
}

fn person(writer: &mut XmlWriter, role: &str, name: &str, url: &str) -> io::Result<()> {
    writer.create_element(role).write_inner_content(|writer| {
        text_element(writer, "name", name)?;
        if !url.is_empty() {
            text_element(writer, "uri", &uri_text(url))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// RFC 4287 §3.1.1 wants `type/subtype`; anything else is left out rather than invalid.
fn is_media_type(text: &str) -> bool {
    text.split_once('/').is_some_and(|(kind, sub)| {
        !kind.is_empty()
            && !sub.is_empty()
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::export::{Block, Format, Owner, Site, StreamKind, stream_meta};
    use crate::model::{Item, ItemId, ItemKind, SafeHtml, SourceId, UserId};

    fn item(id: i64, title: &str, html: &str) -> ExportItem {
        ExportItem {
            item: Item {
                id: ItemId(id),
                user_id: UserId(1),
                user_name: "ana".into(),
                user_avatar: None,
                source_icon: None,
                source_id: SourceId(1),
                source_kind: "feed".into(),
                source_title: String::new(),
                external_id: id.to_string(),
                url: None,
                title: title.into(),
                author_name: Some("A\u{0}na".into()),
                content: SafeHtml::assume_sanitized(html.into()),
                summary_text: String::new(),
                kind: ItemKind::Note,
                media: Vec::new(),
                tags: vec!["x<y".into(), String::new()],
                extra: serde_json::Map::new(),
                published_at: Utc::now(),
                updated_at: None,
                fetched_at: Utc::now(),
                bumped_at: Utc::now(),
                visibility: Default::default(),
                own_visibility: Default::default(),
            },
            n_comments: 2,
        }
    }

    /// The subscription document of ana's stream in `format`, with `n_archive_pages`
    /// archive pages before it.
    fn stream_doc(
        format: Format,
        display_name: &str,
        n_archive_pages: u64,
        entries: &[ExportItem],
    ) -> Vec<u8> {
        let site = Site::new("https://t.example");
        let owner = Owner {
            name: "ana",
            display_name,
            created_at: Utc::now(),
        };
        let block = Block {
            offset: 0,
            limit: 50,
            page: None,
            n_archive_pages,
        };
        let meta = stream_meta(
            &site,
            owner,
            StreamKind::User,
            format,
            &block,
            entries,
            "/i.svg",
        );
        format.render(&meta, entries)
    }

    #[track_caller]
    fn check_titles(entries: &[ExportItem], expected: &[&str]) {
        for format in [Format::Atom, Format::Rss, Format::Json] {
            let bytes = stream_doc(format, "Ana \u{1b}", 0, entries);
            let feed = feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|err| {
                panic!("{format:?}: {err}\n{}", String::from_utf8_lossy(&bytes))
            });
            let titles: Vec<String> = feed
                .entries
                .iter()
                .map(|e| {
                    e.title
                        .as_ref()
                        .map(|t| t.content.clone())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(titles, expected, "{format:?}");
        }
    }

    #[test]
    fn hostile_titles_stay_well_formed() {
        check_titles(
            &[
                item(1, "<script>alert(1)</script>", "<p>]]></p>"),
                item(2, "a ]]> b", "<![CDATA[ x ]]>"),
                item(
                    3,
                    "bell\u{7} esc\u{1b} nul\u{0} \u{FFFE}end",
                    "\u{1}<b>x</b>",
                ),
            ],
            &["<script>alert(1)</script>", "a ]]> b", "bell esc nul end"],
        );
    }

    /// Content is written as CDATA sections; a `]]>` inside is split, and every reader
    /// gets back the HTML that was stored.
    #[test]
    fn content_in_cdata_reads_back_exactly() {
        let html = [
            "<p>]]></p>",
            "<![CDATA[ x ]]>",
            "a]]]]>b]]>>",
            "<a href=\"https://x.example/?a=1&amp;b=2\">&lt;tag&gt; &amp; \"q\"</a>",
            "\u{1}<b>x</b>",
        ];
        let entries: Vec<ExportItem> = html
            .iter()
            .enumerate()
            .map(|(n, html)| item(n as i64 + 1, "t", html))
            .collect();
        let bytes = stream_doc(Format::Atom, "Ana", 0, &entries);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("<content type=\"html\"><![CDATA[<p>]]]]><![CDATA[></p>]]></content>"),
            "{text}"
        );
        let feed = feed_rs::parser::Builder::new()
            .sanitize_content(false)
            .build()
            .parse(&bytes[..])
            .unwrap();
        let contents: Vec<String> = feed
            .entries
            .iter()
            .map(|e| {
                e.content
                    .as_ref()
                    .and_then(|c| c.body.clone())
                    .unwrap_or_default()
            })
            .collect();
        let expected: Vec<String> = html.iter().map(|h| h.replace('\u{1}', "")).collect();
        assert_eq!(contents, expected);
    }

    #[test]
    fn empty_content_is_left_out_and_untitled_entries_are_titled_from_their_text() {
        let entries = [item(1, "", "<p>Only  a\nbody</p>"), item(2, "", "")];
        let text = String::from_utf8(stream_doc(Format::Atom, "Ana", 0, &entries)).unwrap();
        assert_eq!(text.matches("<content").count(), 1, "{text}");
        assert!(
            text.contains("<title type=\"text\">Only a body</title>"),
            "{text}"
        );
        assert!(
            text.contains("<title type=\"text\">A note by Ana</title>"),
            "{text}"
        );
        let rss = String::from_utf8(stream_doc(Format::Rss, "Ana", 0, &entries)).unwrap();
        assert_eq!(rss.matches("<description>").count(), 2, "{rss}");
    }

    #[test]
    fn entry_carries_thread_count_and_replies_link() {
        let entries = [item(5, "t", "")];
        let text = String::from_utf8(stream_doc(Format::Atom, "", 2, &entries)).unwrap();
        assert!(text.contains("<thr:total>2</thr:total>"), "{text}");
        assert!(
            text.contains("href=\"https://t.example/e/5/comments.atom\" thr:count=\"2\""),
            "{text}"
        );
        assert!(
            text.contains("rel=\"prev-archive\" href=\"https://t.example/ana/feed.atom?page=2\""),
            "{text}"
        );
        assert!(
            text.contains("<id>tag:t.example,2026:item/5</id>"),
            "{text}"
        );
    }
}
