//! The instance actor: an ActivityPub `Application` whose key signs Tributary's reads of
//! servers that refuse unsigned requests, and the WebFinger answer that names it.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::web::AppState;
use crate::web::error::AppError;

/// The media type of ActivityPub documents.
const ACTIVITY_JSON: &str = "application/activity+json";
/// The user part of the instance actor's handle.
const INSTANCE_USER: &str = "actor";

/// `GET /actor`: the `Application` actor with its public key.
pub async fn actor_get(State(state): State<AppState>) -> Result<Response, AppError> {
    let key = state.instance_key.get().await.map_err(AppError::Internal)?;
    let base = state.config.base_url();
    let id = format!("{base}/actor");
    let body = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Application",
        "preferredUsername": INSTANCE_USER,
        "name": "Tributary",
        "url": format!("{base}/"),
        "inbox": format!("{base}/actor/inbox"),
        "outbox": format!("{base}/actor/outbox"),
        "manuallyApprovesFollowers": true,
        "publicKey": {
            "id": crate::instance_key::key_id(&base),
            "owner": id,
            "publicKeyPem": key.public_pem(),
        },
    });
    Ok(([(header::CONTENT_TYPE, ACTIVITY_JSON)], body.to_string()).into_response())
}

#[derive(serde::Deserialize)]
pub struct WebfingerQuery {
    #[serde(default)]
    resource: String,
}

/// `GET /.well-known/webfinger?resource=acct:actor@host`: only the instance actor.
pub async fn webfinger_get(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, AppError> {
    let base = state.config.base_url();
    let host = url::Url::parse(&base)
        .ok()
        .and_then(|url| connectors::protocol::activitypub::target::authority(&url))
        .unwrap_or_default();
    let subject = format!("acct:{INSTANCE_USER}@{host}");
    if query.resource != subject && query.resource != format!("{base}/actor") {
        return Err(AppError::NotFound);
    }
    let body = json!({
        "subject": subject,
        "aliases": [format!("{base}/actor")],
        "links": [{ "rel": "self", "type": ACTIVITY_JSON, "href": format!("{base}/actor") }],
    });
    Ok((
        [(header::CONTENT_TYPE, "application/jrd+json")],
        body.to_string(),
    )
        .into_response())
}
