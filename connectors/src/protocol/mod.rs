//! Protocol connectors: formats shared by many sites.

pub mod activitypub;
pub mod discover;
pub mod feed;
pub mod html;
pub mod json;

use serde_json::Value;
use url::Url;

use crate::http::{FetchRequest, FetchResponse};
use crate::item::RawItem;
use crate::{ConnectorError, Http, Poll, PollState};

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

/// One document of a generic connector: sent with the stored validators (a 304 keeps
/// `state`), capped at `max_bytes` unless the request says less, any other status
/// classified, and the body turned into items by `map`.
pub(crate) async fn poll_document(
    http: &dyn Http,
    request: FetchRequest,
    max_bytes: usize,
    state: &PollState,
    map: impl FnOnce(&FetchResponse) -> Result<(Vec<RawItem>, Vec<String>), ConnectorError>,
) -> Result<Poll, ConnectorError> {
    let mut request = request.with_validators(state.validators.clone());
    request.max_bytes = Some(request.max_bytes.unwrap_or(max_bytes));
    let response = http.get(request).await?;
    if response.status == 304 {
        return Ok(Poll {
            not_modified: true,
            state: state.clone(),
            hint: response.hint,
            ..Poll::default()
        });
    }
    let response = response.check_status()?;
    let (items, warnings) = map(&response)?;
    Ok(Poll {
        items,
        warnings,
        state: PollState {
            validators: response.validators.clone(),
            cursor: None,
        },
        hint: response.hint,
        base_url: Some(response.final_url.clone()),
        ..Poll::default()
    })
}
