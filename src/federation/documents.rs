//! Placeholder until the documents module lands.
#![allow(dead_code, unused_variables)]

use serde_json::{Value, json};

use crate::model::Item;

pub fn create(item: &Item, base: &str) -> Value {
    json!({"id": format!("{base}/e/{}#create", item.id), "type": "Create"})
}

pub fn update(item: &Item, base: &str) -> Value {
    json!({"id": format!("{base}/e/{}#update", item.id), "type": "Update"})
}

pub fn delete(item: &Item, base: &str) -> Value {
    json!({"id": format!("{base}/e/{}#delete", item.id), "type": "Delete"})
}
