//! Typed parameters: the [`TypedConnector`] trait a connector implements with its own
//! `Params` struct, and the one adapter that makes every such connector a
//! [`Connector`](crate::Connector). Reading parameters (from a form, the CLI or the
//! store) is serde's job here; this module turns serde's refusals into sentences that
//! name the parameter. Pure: no IO.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use crate::{
    Connector, ConnectorError, ConnectorInfo, Http, ParamInfo, Poll, PollState, SourceAddresses,
};

/// A connector whose parameters are a typed struct. Its `Params` is read with serde
/// (`#[serde(deny_unknown_fields)]`, so a misspelt key is refused by name) and then put
/// in canonical form by [`TypedConnector::check`]; every other method sees only checked
/// parameters. The blanket `impl Connector` below is the only way one reaches the app.
#[async_trait::async_trait]
pub trait TypedConnector: Send + Sync + 'static {
    type Params: Serialize + DeserializeOwned + Send + Sync;

    /// Label, parameters with help text, default schedule; its `kind` is the stable name
    /// stored in `sources.kind`.
    fn info(&self) -> ConnectorInfo;
    /// The stable name (`info().kind`); connectors override it to skip building the info.
    fn kind(&self) -> &'static str {
        self.info().kind
    }
    /// Parameters from something a person pasted, when this connector understands it.
    /// Pure: no network.
    fn recognize(&self, input: &str) -> Option<Self::Params>;
    /// Checks values serde cannot (a user name's shape, a selector) and returns the
    /// canonical form that is stored. Runs on every poll too: stored data is input.
    fn check(&self, params: Self::Params) -> Result<Self::Params, ConnectorError>;
    /// What other feed readers can use of a source with these parameters (OPML).
    fn addresses(&self, params: &Self::Params) -> SourceAddresses {
        let _ = params;
        SourceAddresses::default()
    }
    /// Fetches what changed since `state`.
    async fn poll(
        &self,
        http: &dyn Http,
        params: &Self::Params,
        state: &PollState,
    ) -> Result<Poll, ConnectorError>;
    /// Fetches one older page named by a previous [`Poll::next_page`].
    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &Self::Params,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let _ = (http, params, page);
        Err(ConnectorError::Unsupported(format!(
            "the {} connector cannot walk history",
            TypedConnector::kind(self)
        )))
    }
    /// Whether one stored item still exists upstream; `Unknown` unless the connector
    /// knows how to ask.
    async fn recheck(
        &self,
        http: &dyn Http,
        params: &Self::Params,
        item: &crate::ItemRef,
    ) -> Result<crate::Recheck, ConnectorError> {
        let _ = (http, params, item);
        Ok(crate::Recheck::Unknown)
    }
}

#[async_trait::async_trait]
impl<C: TypedConnector> Connector for C {
    fn kind(&self) -> &'static str {
        TypedConnector::kind(self)
    }

    fn info(&self) -> ConnectorInfo {
        TypedConnector::info(self)
    }

    fn recognize(&self, input: &str) -> Option<Value> {
        let params = TypedConnector::recognize(self, input)?;
        serde_json::to_value(params).ok()
    }

    fn validate(&self, params: &Value) -> Result<Value, ConnectorError> {
        let checked = checked(self, params)?;
        serde_json::to_value(checked).map_err(|err| {
            ConnectorError::Unsupported(format!("cannot store the parameters: {err}"))
        })
    }

    fn addresses(&self, params: &Value) -> SourceAddresses {
        checked(self, params)
            .map(|params| TypedConnector::addresses(self, &params))
            .unwrap_or_default()
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let params = checked(self, params)?;
        TypedConnector::poll(self, http, &params, state).await
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &Value,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let params = checked(self, params)?;
        TypedConnector::poll_page(self, http, &params, page).await
    }

    async fn recheck(
        &self,
        http: &dyn Http,
        params: &Value,
        item: &crate::ItemRef,
    ) -> Result<crate::Recheck, ConnectorError> {
        let params = checked(self, params)?;
        TypedConnector::recheck(self, http, &params, item).await
    }
}

fn checked<C: TypedConnector>(connector: &C, params: &Value) -> Result<C::Params, ConnectorError> {
    connector.check(read(params)?)
}

/// Reads parameters (or a page token) into `T`; a refusal names the key it is about:
/// "unknown parameter `foo`; this connector takes `user`", "`user` must be a string".
pub fn read<T: DeserializeOwned>(params: &Value) -> Result<T, ConnectorError> {
    if !params.is_object() {
        return Err(ConnectorError::Unsupported(
            "the parameters must be a set of names and values".into(),
        ));
    }
    serde_path_to_error::deserialize(params).map_err(|err| {
        let key = err.path().to_string();
        ConnectorError::Unsupported(in_words(&key, &err.into_inner().to_string()))
    })
}

/// serde's message about `key` (`.` for the whole object) as a sentence about a parameter.
fn in_words(key: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let rest = rest
            .replacen(", expected one of ", "; this connector takes ", 1)
            .replacen(", expected ", "; this connector takes ", 1)
            .replacen(", there are no fields", "; this connector takes none", 1);
        return format!("unknown parameter {rest}");
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("needs the parameter {field}");
    }
    if key == "." || key.is_empty() {
        return message.to_owned();
    }
    let wrong = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((found, expected)) = wrong.and_then(|text| text.split_once(", expected ")) {
        return format!("`{key}` must be {expected}, not {found}");
    }
    if message.starts_with("must ") || message.starts_with("is ") {
        return format!("`{key}` {message}");
    }
    format!("`{key}`: {message}")
}

/// A parameter a person must give.
pub fn required(name: &'static str, help: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        help,
        required: true,
    }
}

/// A parameter a person may leave out.
pub fn optional(name: &'static str, help: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        help,
        required: false,
    }
}

/// An absolute http or https address with a host, without its fragment (which is never
/// sent). Read from text; a refusal says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HttpUrl(pub Url);

impl HttpUrl {
    pub fn parse(raw: &str) -> Result<HttpUrl, String> {
        let raw = raw.trim();
        let mut url = Url::parse(raw).map_err(|err| {
            format!("must be a full web address such as https://blog.example/feed.xml, not \"{raw}\" ({err})")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(format!(
                "must be an http or https address, not \"{raw}\": sources are read over the web only"
            ));
        }
        url.set_fragment(None);
        Ok(HttpUrl(url))
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HttpUrl, D::Error> {
        let raw = String::deserialize(deserializer)?;
        HttpUrl::parse(&raw).map_err(D::Error::custom)
    }
}

/// Deserializers for values people type: the CLI's `--param` and HTML forms send text,
/// JSON sends numbers and booleans; both mean the same.
pub mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(u64),
        Text(String),
    }

    /// A positive whole number, as a number or as text (`"22656"`).
    pub fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let number = match NumberOrText::deserialize(deserializer)
            .map_err(|_| D::Error::custom("must be a positive whole number"))?
        {
            NumberOrText::Number(number) => Some(number),
            NumberOrText::Text(text) => text.trim().parse().ok(),
        };
        number
            .filter(|number| *number > 0)
            .ok_or_else(|| D::Error::custom("must be a positive whole number"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum SwitchValue {
        Switch(bool),
        Text(String),
        Nothing(()),
    }

    /// A switch: `true`/`false`, as JSON or as text; empty text and null are off.
    pub fn switch<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        match SwitchValue::deserialize(deserializer)
            .map_err(|_| D::Error::custom("must be true or false"))?
        {
            SwitchValue::Switch(on) => Ok(on),
            SwitchValue::Text(text) if text == "true" => Ok(true),
            SwitchValue::Text(text) if text == "false" || text.is_empty() => Ok(false),
            SwitchValue::Nothing(()) => Ok(false),
            SwitchValue::Text(_) => Err(D::Error::custom("must be true or false")),
        }
    }

    /// A kind of item by name (`note`, `photo`…); empty text and null are none.
    pub fn kind<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<crate::ItemKind>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(name) if name.trim().is_empty() => Ok(None),
            Some(name) => crate::ItemKind::parse(name.trim())
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("`{name}` is not a kind of item"))),
        }
    }

    /// Trimmed text; empty text and null are none.
    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty()))
    }

    /// Whether a switch is off, so that the stored form leaves it out.
    pub fn is_off(on: &bool) -> bool {
        !*on
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        user: String,
        #[serde(default, deserialize_with = "lenient::positive")]
        id: u64,
        #[serde(default, deserialize_with = "lenient::switch")]
        replies: bool,
    }

    #[track_caller]
    fn check(params: Value, expected: &str) {
        let err = read::<Example>(&params).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        check(
            json!({"user": "a", "foo": 1}),
            "unknown parameter `foo`; this connector takes `user`, `id`, `replies`",
        );
    }

    #[test]
    fn missing_keys_are_named() {
        check(json!({}), "needs the parameter `user`");
    }

    #[test]
    fn wrong_types_name_the_key() {
        check(
            json!({"user": 5}),
            "`user` must be a string, not integer `5`",
        );
        check(
            json!({"user": "a", "id": "x"}),
            "`id` must be a positive whole number",
        );
        check(
            json!({"user": "a", "replies": "yes"}),
            "`replies` must be true or false",
        );
        check(json!([1]), "must be a set of names and values");
    }

    #[test]
    fn text_means_the_same_as_json() {
        let read: Example = read(&json!({"user": "a", "id": "22", "replies": "true"})).unwrap();
        assert_eq!((read.id, read.replies), (22, true));
        let read: Example = read_ok(json!({"user": "a", "id": 22, "replies": null}));
        assert_eq!((read.id, read.replies), (22, false));
    }

    fn read_ok(params: Value) -> Example {
        read(&params).unwrap()
    }
}
