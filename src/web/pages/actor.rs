//! The instance actor: an ActivityPub `Application` whose key signs Tributary's reads of
//! servers that refuse unsigned requests. WebFinger names it (`pages/federation.rs`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::federation::INSTANCE_USER;
use crate::federation::documents::ACTIVITY_JSON;
use crate::web::AppState;
use crate::web::error::AppError;

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
