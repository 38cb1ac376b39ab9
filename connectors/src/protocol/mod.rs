//! Protocol connectors: formats shared by many sites.

pub mod activitypub;
pub mod discover;
pub mod feed;
pub mod html;
pub mod json;

use serde_json::Value;
use url::Url;

use crate::ConnectorError;

/// The `"url"` parameter of the generic connectors: a full http or https address.
pub(crate) fn http_url_param(params: &Value) -> Result<Url, ConnectorError> {
    let raw = params
        .get("url")
        .and_then(Value::as_str)
        .map(str::trim)
        .ok_or_else(|| ConnectorError::Unsupported("needs a \"url\"".into()))?;
    let url = Url::parse(raw).map_err(|err| {
        ConnectorError::Unsupported(format!("\"{raw}\" is not a full web address ({err})"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConnectorError::Unsupported(format!(
            "\"{raw}\" is not an http or https address"
        )));
    }
    Ok(url)
}
