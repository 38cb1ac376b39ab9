//! Small readers over untrusted ActivityStreams JSON: a property may be missing, a string,
//! an object or an array of either, and none of these helpers panics on any of them.

use serde_json::Value;
use url::Url;

/// The addresses that mean "everyone" in `to` / `cc`.
const PUBLIC_ADDRESSES: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

/// Every value of a property, whether it holds one value or an array.
pub fn values<'a>(doc: &'a Value, key: &str) -> Vec<&'a Value> {
    match doc.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    }
}

/// The `type` names of an object (a string or an array), without an `as:` prefix.
pub fn types(doc: &Value) -> Vec<&str> {
    values(doc, "type")
        .into_iter()
        .filter_map(Value::as_str)
        .map(|name| name.strip_prefix("as:").unwrap_or(name))
        .collect()
}

pub fn has_type(doc: &Value, name: &str) -> bool {
    types(doc).contains(&name)
}

/// A string property.
pub fn string<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// The id of a value that is either a link (a string) or an object with an `id`.
pub fn id_of(value: &Value) -> Option<&str> {
    match value {
        Value::String(id) => Some(id),
        Value::Object(_) => string(value, "id"),
        _ => None,
    }
}

/// The first id-like value of a property (`"actor": "…"`, `"actor": {"id": …}` or an array).
pub fn first_id<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    values(doc, key).into_iter().find_map(id_of)
}

/// An absolute http(s) URL, or nothing.
pub fn http_url(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some()).then_some(url)
}

/// The URL of a link-ish value: a string, a `Link` (`href`) or an object (`url`, `id`).
pub fn link_url(value: &Value) -> Option<Url> {
    match value {
        Value::String(text) => http_url(text),
        Value::Object(_) => string(value, "href")
            .and_then(http_url)
            .or_else(|| values(value, "url").into_iter().find_map(link_url)),
        _ => None,
    }
}

/// Whether `to` or `cc` of a document names the public collection.
pub fn addressed_to_public(doc: &Value) -> bool {
    ["to", "cc"].iter().any(|key| {
        values(doc, key)
            .into_iter()
            .filter_map(id_of)
            .any(|address| PUBLIC_ADDRESSES.contains(&address))
    })
}

/// Whether a document has any addressing at all.
pub fn has_addressing(doc: &Value) -> bool {
    ["to", "cc", "bto", "bcc", "audience"]
        .iter()
        .any(|key| !values(doc, key).is_empty())
}

/// A natural-language property: `key` as a string, else the first value of `keyMap`.
pub fn language_string<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    string(doc, key)
        .filter(|text| !text.trim().is_empty())
        .or_else(|| {
            doc.get(format!("{key}Map"))
                .and_then(Value::as_object)
                .and_then(|map| map.values().find_map(Value::as_str))
        })
}

/// An unsigned integer property that fits in `u32` (`width`, `height`).
pub fn small_number(doc: &Value, key: &str) -> Option<u32> {
    doc.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Plain text of a short HTML string (content warnings, names): tags dropped, the common
/// entities decoded, whitespace collapsed, at most `max_chars` characters.
pub fn plain_text(html: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(html.len().min(max_chars * 4));
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max_chars)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_are_read_from_a_string_or_an_array() {
        assert_eq!(types(&json!({"type": "Note"})), vec!["Note"]);
        assert_eq!(
            types(&json!({"type": ["as:Create", "Other", 3]})),
            vec!["Create", "Other"]
        );
        assert!(types(&json!({"type": {"x": 1}})).is_empty());
        assert!(types(&json!("Note")).is_empty());
    }

    #[test]
    fn public_addressing_accepts_the_three_spellings_in_strings_or_arrays() {
        for public in PUBLIC_ADDRESSES {
            assert!(addressed_to_public(&json!({ "to": public })));
            assert!(addressed_to_public(
                &json!({ "cc": ["https://a.example/f", public] })
            ));
        }
        assert!(!addressed_to_public(
            &json!({ "to": ["https://a.example/users/a/followers"] })
        ));
        assert!(!addressed_to_public(&json!({ "to": 7 })));
    }

    #[test]
    fn plain_text_strips_tags_and_entities() {
        assert_eq!(
            plain_text("<p>spoilers &amp; <b>more</b></p>", 100),
            "spoilers & more"
        );
        assert_eq!(plain_text("ééééé", 3), "ééé");
        assert_eq!(plain_text("a < b", 10), "a");
    }
}
