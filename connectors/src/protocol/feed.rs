//! The `feed` connector: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed from bytes.

use crate::{Connector, ConnectorError, ConnectorInfo, Http, Poll, PollState};

pub struct FeedConnector;

#[async_trait::async_trait]
impl Connector for FeedConnector {
    fn kind(&self) -> &'static str {
        "feed"
    }

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "feed",
            title: "Feed",
            description: "RSS, Atom or JSON Feed",
            params: Vec::new(),
            default_schedule: None,
            can_backfill: true,
            example_input: "https://blog.example/feed.xml",
        }
    }

    fn recognize(&self, _input: &str) -> Option<serde_json::Value> {
        None
    }

    fn validate(&self, params: &serde_json::Value) -> Result<serde_json::Value, ConnectorError> {
        Ok(params.clone())
    }

    async fn poll(
        &self,
        _http: &dyn Http,
        _params: &serde_json::Value,
        _state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        Err(ConnectorError::Unsupported("not yet".into()))
    }
}
