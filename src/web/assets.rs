//! Static files embedded in the binary (the style sheet, the one page script, the icon), served at `/static/{hash}/{name}` with a content
//! hash in the URL so they can be cached for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// (name, content type, bytes); the service icons of `web/services.rs` follow these.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("static/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("static/icon.svg"),
    ),
];

/// Every embedded file: `FILES`, then the service icons (SVG).
static ALL: LazyLock<Vec<(&'static str, &'static str, &'static [u8])>> = LazyLock::new(|| {
    let icons = super::services::ICONS
        .iter()
        .map(|(name, bytes)| (*name, "image/svg+xml", *bytes));
    FILES.iter().copied().chain(icons).collect()
});

static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ALL.iter()
        .map(|(_, _, bytes)| {
            let digest = Sha256::digest(bytes);
            hex::encode(&digest[..6])
        })
        .collect()
});

/// The URL of an embedded file; changes whenever its content does.
pub fn url(name: &str) -> String {
    match ALL.iter().position(|(file, _, _)| *file == name) {
        Some(idx) => format!("/static/{}/{name}", HASHES[idx]),
        None => format!("/static/missing/{name}"),
    }
}

pub async fn static_get(Path((hash, name)): Path<(String, String)>) -> Response {
    let Some(idx) = ALL.iter().position(|(file, _, _)| *file == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, content_type, bytes) = ALL[idx];
    // An old hash still gets the current file, but not for keeps.
    let cache = if hash == HASHES[idx] {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    /// The value of `--{name}` in the first rule after `after` in the stylesheet.
    fn variable(css: &str, after: &str, name: &str) -> String {
        let from = css.find(after).expect("the rule exists");
        let needle = format!("--{name}: ");
        let at = from + css[from..].find(&needle).expect("the variable is set") + needle.len();
        css[at..at + 7].to_owned()
    }

    /// WCAG 2 contrast ratio of two `#rrggbb` colours.
    fn contrast(a: &str, b: &str) -> f64 {
        let luminance = |hex: &str| {
            let channel = |at: usize| {
                let c = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).expect("hex")) / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
        };
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn card_buttons_meet_wcag_aa_in_both_themes() {
        // See: #19. Like and Hide (accent text on the card) were 4.3:1.
        let css = include_str!("static/style.css");
        for theme in [":root", "prefers-color-scheme: dark"] {
            let accent = variable(css, theme, "accent");
            let card = variable(css, theme, "card");
            let ratio = contrast(&accent, &card);
            assert!(ratio >= 4.5, "{theme}: {accent} on {card} is {ratio:.2}:1");
        }
    }
}
