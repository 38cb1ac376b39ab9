//! Atom 1.0 (RFC 4287) documents of a stream and of an item's comments, written with
//! quick-xml's writer, with RFC 4685 threading and RFC 5005 paging. Pure: no IO.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{
    ExportComment, ExportItem, FeedMeta, HISTORY_NS, THREAD_NS, entry_updated, rfc3339, xml_text,
};

type XmlWriter = Writer<Vec<u8>>;

/// A stream's feed document: feed metadata, paging links and one entry per item, in the
/// order given.
pub fn atom(meta: &FeedMeta, entries: &[ExportItem]) -> Vec<u8> {
    write_document(|writer| {
        writer
            .create_element("feed")
            .with_attributes(namespaces())
            .write_inner_content(|writer| {
                feed_head(writer, meta)?;
                for entry in entries {
                    item_entry(writer, meta, entry)?;
                }
                Ok(())
            })?;
        Ok(())
    })
}

/// The comments on one item, oldest first, each `thr:in-reply-to` the item's entry.
pub fn comments_atom(meta: &FeedMeta, entry: &ExportItem, comments: &[ExportComment]) -> Vec<u8> {
    let site = &meta.site;
    let item_tag = site.item_tag(entry.item.id);
    let item_page = site.item_page(entry.item.id);
    write_document(|writer| {
        writer
            .create_element("feed")
            .with_attributes(namespaces())
            .write_inner_content(|writer| {
                feed_head(writer, meta)?;
                for comment in comments {
                    let permalink = format!("{item_page}#c{}", comment.id.0);
                    writer.create_element("entry").write_inner_content(|writer| {
                        text_element(writer, "id", &site.comment_tag(comment.id))?;
                        let title = format!("Comment by {}", comment.author_name);
                        text_element(writer, "title", &title)?;
                        link(writer, "alternate", &permalink, Some("text/html"))?;
                        writer
                            .create_element("thr:in-reply-to")
                            .with_attribute(("ref", item_tag.as_str()))
                            .with_attribute(("href", item_page.as_str()))
                            .with_attribute(("type", "text/html"))
                            .write_empty()?;
                        person(writer, "author", &comment.author_name, &comment.author_url)?;
                        text_element(writer, "published", &rfc3339(comment.created_at))?;
                        let updated = comment.edited_at.unwrap_or(comment.created_at);
                        text_element(writer, "updated", &rfc3339(updated))?;
                        writer
                            .create_element("content")
                            .with_attribute(("type", "text"))
                            .write_text_content(BytesText::new(&xml_text(&comment.body)))?;
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
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
    text_element(writer, "id", &meta.id)?;
    text_element(writer, "title", &meta.title)?;
    text_element(writer, "updated", &rfc3339(meta.updated))?;
    link(writer, "self", &meta.self_url, Some("application/atom+xml"))?;
    link(writer, "alternate", &meta.alternate_url, Some("text/html"))?;
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
    text_element(writer, "icon", &meta.icon_url)?;
    Ok(())
}

fn item_entry(writer: &mut XmlWriter, meta: &FeedMeta, entry: &ExportItem) -> io::Result<()> {
    let site = &meta.site;
    let item = &entry.item;
    let item_page = site.item_page(item.id);
    let n_comments = entry.n_comments.to_string();
    writer.create_element("entry").write_inner_content(|writer| {
        text_element(writer, "id", &site.item_tag(item.id))?;
        writer
            .create_element("title")
            .with_attribute(("type", "text"))
            .write_text_content(BytesText::new(&xml_text(&item.title)))?;
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
            .with_attribute(("href", site.comments_feed(item.id).as_str()))
            .with_attribute(("thr:count", n_comments.as_str()))
            .write_empty()?;
        for media in &item.media {
            let mut element = writer
                .create_element("link")
                .with_attribute(("rel", "enclosure"))
                .with_attribute(("href", media.url.as_str()));
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
        writer
            .create_element("content")
            .with_attribute(("type", "html"))
            .write_text_content(BytesText::new(&xml_text(item.content.as_str())))?;
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
        .with_attribute(("href", xml_text(href).as_ref()));
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
            text_element(writer, "uri", url)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// RFC 4287 §3.1.1 wants `type/subtype`; anything else is left out rather than invalid.
fn is_media_type(text: &str) -> bool {
    text.split_once('/').is_some_and(|(kind, sub)| {
        !kind.is_empty() && !sub.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}
