//! Adding and managing sources: recognize what a person pasted, discover feeds, preview,
//! store, and wake the scheduler. Used by the web pages and the CLI; never renders.

use std::sync::Arc;

use connectors::{Http, Registry};

use crate::scheduler::SchedulerHandle;
use crate::store::Store;

#[derive(Clone)]
pub struct Sources {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub http: Arc<dyn Http>,
    pub scheduler: SchedulerHandle,
}

impl Sources {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        http: Arc<dyn Http>,
        scheduler: SchedulerHandle,
    ) -> Sources {
        Sources {
            store,
            registry,
            http,
            scheduler,
        }
    }
}
