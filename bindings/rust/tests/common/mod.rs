// Helpers shared by the integration tests: stores on `memory:` and on a
// `file:` store in a fresh temporary directory (removed on drop).
#![allow(dead_code)]

use std::path::PathBuf;

use estoria::{format_id, Store, StoreOptions, Uuid};

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("estoria-rust-{tag}-{}-{}", std::process::id(), Uuid::v4().unwrap()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store of each kind: ("memory", store, None) and ("file", store, dir).
pub fn stores(tag: &str) -> Vec<(&'static str, Store, Option<TempDir>)> {
    let mem = Store::open("memory:", &StoreOptions::default()).expect("memory store");
    let dir = TempDir::new(tag);
    let file = Store::open(&format!("file:{}", dir.0.display()), &StoreOptions::default()).expect("file store");
    vec![("memory", mem, None), ("file", file, Some(dir))]
}

pub fn stream(t: &str) -> String {
    format_id(t, &Uuid::v7().unwrap()).unwrap()
}
