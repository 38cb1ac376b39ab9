//! URI references as exports write them: every character RFC 3986 does not allow where it
//! stands is percent-encoded, so feed validators and strict readers accept them. Pure.
//!
//! Stored URLs went through the WHATWG parser, which leaves `[`, `]`, `^`, `|` (and in
//! queries and fragments `{`, `}`, `` ` ``) as they came; RFC 3986 §2 allows none of them
//! outside an IP-literal host, and RFC 3987 (IRIs, `atomUri`) allows no more ASCII than
//! RFC 3986 does.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character RFC 3986 forbids in its position percent-encoded as UTF-8:
/// brackets outside an IP-literal host, a second `#`, a `%` that starts no `%XX`, spaces,
/// controls, `"<>\^`{|}` and every non-ASCII character. Characters it allows, including
/// existing `%XX` escapes, are kept, so an already valid URI comes back unchanged.
pub fn uri_text(text: &str) -> Cow<'_, str> {
    let (head, rest) = split_authority(text);
    if is_clean_tail(rest) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(head);
    let mut seen_fragment = false;
    let bytes = rest.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let kept = match byte {
            b'#' if !seen_fragment => {
                seen_fragment = true;
                true
            }
            b'%' => is_escape_at(bytes, index),
            _ => is_tail_byte(byte),
        };
        if kept {
            out.push(byte as char);
        } else {
            write!(out, "%{byte:02X}").expect("writing to a String cannot fail");
        }
        index += 1;
    }
    Cow::Owned(out)
}

/// Splits `scheme://authority` (kept as it is when it is valid) from the rest. A head that
/// RFC 3986 would not accept is left in the rest, where it gets encoded.
fn split_authority(text: &str) -> (&str, &str) {
    let Some(colon) = text.find(':') else {
        return ("", text);
    };
    let scheme = &text[..colon];
    let is_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !is_scheme {
        return ("", text);
    }
    let after = &text[colon + 1..];
    let Some(authority) = after.strip_prefix("//") else {
        return (&text[..=colon], after);
    };
    let end = authority.find(['/', '?', '#']).unwrap_or(authority.len());
    let authority_text = &authority[..end];
    let head_len = colon + 3 + end;
    if is_authority(authority_text) {
        (&text[..head_len], &text[head_len..])
    } else {
        (&text[..colon + 3], &text[colon + 3..])
    }
}

/// `userinfo@host:port` with only the characters RFC 3986 §3.2 allows, brackets only
/// around an IP-literal host.
fn is_authority(authority: &str) -> bool {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let user = &authority[..authority.len() - host_port.len()];
    let (host, port) = match host_port.strip_prefix('[') {
        Some(inside) => match inside.split_once(']') {
            Some((literal, port)) => {
                let ok = literal
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
                if !ok {
                    return false;
                }
                ("", port)
            }
            None => return false,
        },
        None => match host_port.rsplit_once(':') {
            Some((host, _)) => (host, &host_port[host.len()..]),
            None => (host_port, ""),
        },
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && user.bytes().all(|b| b == b'@' || b == b':' || is_plain(b))
        && host.bytes().all(is_plain)
}

fn is_clean_tail(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    let mut n_hashes = 0;
    bytes.iter().enumerate().all(|(index, &byte)| match byte {
        b'#' => {
            n_hashes += 1;
            n_hashes == 1
        }
        b'%' => is_escape_at(bytes, index),
        _ => is_tail_byte(byte),
    })
}

fn is_escape_at(bytes: &[u8], index: usize) -> bool {
    bytes.len() > index + 2
        && bytes[index + 1].is_ascii_hexdigit()
        && bytes[index + 2].is_ascii_hexdigit()
}

/// Path, query and fragment characters (RFC 3986 §3.3–3.5: pchar, `/` and `?`).
fn is_tail_byte(byte: u8) -> bool {
    is_plain(byte) || matches!(byte, b':' | b'@' | b'/' | b'?')
}

/// Unreserved and sub-delims (RFC 3986 §2.2, §2.3).
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(uri_text(input), expected);
    }

    #[test]
    fn valid_uris_are_unchanged() {
        check(
            "https://a.example/p?q=1&r=%20#f",
            "https://a.example/p?q=1&r=%20#f",
        );
        check("tag:t.example,2026:item/5", "tag:t.example,2026:item/5");
        check("http://[::1]:8080/x", "http://[::1]:8080/x");
        assert!(matches!(uri_text("https://a.example/"), Cow::Borrowed(_)));
    }

    #[test]
    fn brackets_outside_the_host_are_encoded() {
        check(
            "https://a.example/a[1]?b[]=2",
            "https://a.example/a%5B1%5D?b%5B%5D=2",
        );
    }

    #[test]
    fn forbidden_ascii_is_encoded() {
        check(
            "https://a.example/^|{}\\ \"<>`",
            "https://a.example/%5E%7C%7B%7D%5C%20%22%3C%3E%60",
        );
    }

    #[test]
    fn second_hash_and_lone_percent_are_encoded() {
        check("https://a.example/#a#b", "https://a.example/#a%23b");
        check("https://a.example/100%", "https://a.example/100%25");
    }

    #[test]
    fn non_ascii_is_encoded_as_utf8() {
        check("https://a.example/é", "https://a.example/%C3%A9");
    }
}
