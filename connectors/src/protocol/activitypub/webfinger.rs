//! WebFinger (RFC 7033): `acct:user@host` → the actor's URL, and the links some servers
//! give beside it (the profile page, an Atom feed).

use serde_json::Value;
use url::Url;

use super::json::{http_url, string, values};

/// `Accept` for WebFinger answers.
pub const ACCEPT_JRD: &str = "application/jrd+json, application/json;q=0.9";
/// The OStatus / Diaspora link to a person's public Atom feed.
const UPDATES_FROM: &str = "http://schemas.google.com/g/2010#updates-from";

/// What a WebFinger document says about an account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    /// The `self` link with an ActivityStreams media type.
    pub actor: Option<Url>,
    /// The profile page (`http://webfinger.net/rel/profile-page`).
    pub profile: Option<Url>,
    /// A public Atom feed of the account's posts (`updates-from`).
    pub feed: Option<Url>,
}

/// The WebFinger URL for `user@host` over `scheme`.
pub fn url_for(scheme: &str, user: &str, host: &str) -> Option<Url> {
    let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger")).ok()?;
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{user}@{host}"));
    Some(url)
}

/// Reads a JRD. Links must be absolute http(s) URLs; anything else is skipped.
pub fn parse(bytes: &[u8]) -> Result<Resolved, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
    if !doc.is_object() {
        return Err("the WebFinger answer is not a JSON object".to_owned());
    }
    let mut resolved = Resolved::default();
    for link in values(&doc, "links") {
        let rel = string(link, "rel").unwrap_or("");
        let media_type = string(link, "type").unwrap_or("");
        let Some(href) = string(link, "href").and_then(http_url) else {
            continue;
        };
        if rel == "self" && is_activity_type(media_type) && resolved.actor.is_none() {
            resolved.actor = Some(href);
        } else if rel == "http://webfinger.net/rel/profile-page" && resolved.profile.is_none() {
            resolved.profile = Some(href);
        } else if rel == UPDATES_FROM && resolved.feed.is_none() {
            resolved.feed = Some(href);
        }
    }
    Ok(resolved)
}

/// `application/activity+json`, or `application/ld+json` (with any profile).
pub fn is_activity_type(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/activity+json" || essence == "application/ld+json"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_link_with_an_activity_type_is_the_actor() {
        let jrd = br#"{"subject":"acct:ana@social.example","links":[
            {"rel":"http://webfinger.net/rel/profile-page","type":"text/html","href":"https://social.example/@ana"},
            {"rel":"self","type":"text/html","href":"https://social.example/not-this"},
            {"rel":"self","type":"application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"","href":"https://social.example/users/ana"},
            {"rel":"http://schemas.google.com/g/2010#updates-from","type":"application/atom+xml","href":"https://social.example/public/ana.atom"}]}"#;
        let resolved = parse(jrd).unwrap();
        assert_eq!(
            resolved.actor.unwrap().as_str(),
            "https://social.example/users/ana"
        );
        assert_eq!(
            resolved.profile.unwrap().as_str(),
            "https://social.example/@ana"
        );
        assert_eq!(
            resolved.feed.unwrap().as_str(),
            "https://social.example/public/ana.atom"
        );
    }

    #[test]
    fn junk_is_an_error_or_empty_never_a_panic() {
        assert!(parse(b"<xml/>").is_err());
        assert!(parse(b"[]").is_err());
        assert_eq!(
            parse(br#"{"links":[1,{"rel":"self","href":"javascript:x"}]}"#).unwrap(),
            Resolved::default()
        );
    }

    #[test]
    fn url_escapes_the_resource() {
        let url = url_for("https", "ana", "social.example").unwrap();
        assert_eq!(
            url.as_str(),
            "https://social.example/.well-known/webfinger?resource=acct%3Aana%40social.example"
        );
    }

    #[test]
    fn corpus_webfinger_documents_parse() {
        let dir = std::env::var_os("TRIBUTARY_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/corpus"
                ))
            })
            .join("activitypub/pleroma-rebased/webfinger");
        // The corpus is always beside the repository (or named by TRIBUTARY_CORPUS): a
        // missing folder is a broken checkout, not a reason to pass.
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| {
            panic!(
                "cannot read the WebFinger corpus {} (set TRIBUTARY_CORPUS): {err}",
                dir.display()
            )
        });
        let mut n_actors = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(resolved) = parse(&bytes) {
                n_actors += usize::from(resolved.actor.is_some());
            }
        }
        assert!(n_actors > 0, "no actor found in {}", dir.display());
    }
}
