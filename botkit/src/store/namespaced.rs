//! The store handle a plugin gets: typed key-value access confined to one namespace.
//!
//! A plugin's context hands out a [`NamespacedStore`] whose namespace is the plugin's name,
//! so a plugin can neither read nor clobber another plugin's state, and it works with its own
//! Rust types instead of JSON. The handle is a cheap clone (`Arc` inside); conversion errors
//! come back as [`StoreError::Codec`] naming the key, never as panics.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Store, StoreError};

/// How many times [`NamespacedStore::update`] retries a lost compare-and-swap race before
/// giving up with [`StoreError::Conflict`].
const UPDATE_ATTEMPTS: u32 = 16;

/// Typed key-value access to one namespace of a [`Store`].
///
/// It deliberately does not expose the store behind it: holding a handle grants its
/// namespace and nothing else.
#[derive(Clone)]
pub struct NamespacedStore {
    store: Arc<dyn Store>,
    namespace: Arc<str>,
}

impl NamespacedStore {
    /// A handle on `namespace` of `store`.
    pub fn new(store: Arc<dyn Store>, namespace: impl Into<String>) -> Self {
        Self {
            store,
            namespace: Arc::from(namespace.into()),
        }
    }

    /// The namespace this handle reads and writes.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The value of `key`, decoded as `T`; `None` if not set.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.get_value(key).await? {
            Some(v) => decode(key, v).map(Some),
            None => Ok(None),
        }
    }

    /// The value of `key` as JSON; `None` if not set.
    pub async fn get_value(&self, key: &str) -> Result<Option<Value>, StoreError> {
        self.store.kv_get(&self.namespace, key).await
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub async fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let json = encode(key, value)?;
        self.store.kv_put(&self.namespace, key, json).await
    }

    /// Removes `key`; whether it was set.
    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.store.kv_delete(&self.namespace, key).await
    }

    /// The keys starting with `prefix` (`""` for all), sorted.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.kv_keys(&self.namespace, prefix).await
    }

    /// Atomically replaces the value of `key` with `f(current)` and returns the new value.
    /// If another writer changes the key in between, `f` runs again on the fresher value;
    /// after 16 lost races the update fails with the transient [`StoreError::Conflict`].
    pub async fn update<T, F>(&self, key: &str, mut f: F) -> Result<T, StoreError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> T,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_value(key).await?;
            let typed = match &current {
                Some(v) => Some(decode(key, v.clone())?),
                None => None,
            };
            let next = f(typed);
            let json = encode(key, &next)?;
            if self
                .store
                .kv_compare_and_swap(&self.namespace, key, current.as_ref(), Some(json))
                .await?
            {
                return Ok(next);
            }
        }
        Err(StoreError::Conflict {
            what: format!("key `{key}` in namespace `{}`", self.namespace),
        })
    }
}

impl fmt::Debug for NamespacedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespacedStore")
            .field("backend", &self.store.backend())
            .field("namespace", &self.namespace)
            .finish()
    }
}

fn decode<T: DeserializeOwned>(key: &str, v: Value) -> Result<T, StoreError> {
    serde_json::from_value(v).map_err(|e| StoreError::Codec {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize + ?Sized>(key: &str, v: &T) -> Result<Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::Codec {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::store::MemoryStore;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Quote {
        by: String,
        text: String,
        score: i32,
    }

    fn handles() -> (NamespacedStore, NamespacedStore) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        (
            NamespacedStore::new(store.clone(), "quotes"),
            NamespacedStore::new(store, "markov"),
        )
    }

    #[tokio::test]
    async fn typed_values_round_trip() {
        let (quotes, _) = handles();
        let q = Quote {
            by: "alice".into(),
            text: "ça va? 🙂".into(),
            score: -3,
        };
        quotes.put("q:1", &q).await.unwrap();
        assert_eq!(quotes.get::<Quote>("q:1").await.unwrap(), Some(q));
        assert_eq!(quotes.get::<Quote>("q:2").await.unwrap(), None);
        assert_eq!(quotes.keys("q:").await.unwrap(), vec!["q:1"]);
        assert!(quotes.delete("q:1").await.unwrap());
        assert_eq!(quotes.get::<Quote>("q:1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn plugins_do_not_see_each_other() {
        let (quotes, markov) = handles();
        quotes.put("shared", &1).await.unwrap();
        markov.put("shared", &2).await.unwrap();
        assert_eq!(quotes.get::<i32>("shared").await.unwrap(), Some(1));
        assert_eq!(markov.get::<i32>("shared").await.unwrap(), Some(2));
        assert!(markov.delete("shared").await.unwrap());
        assert_eq!(quotes.get::<i32>("shared").await.unwrap(), Some(1));
        assert_eq!(markov.keys("").await.unwrap(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn wrong_type_is_a_codec_error_naming_the_key() {
        let (quotes, _) = handles();
        quotes.put("n", "not a number").await.unwrap();
        let err = quotes.get::<u32>("n").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Codec { key, .. } if key == "n"),
            "{err}"
        );
        assert!(err.to_string().contains("`n`"));
    }

    #[tokio::test]
    async fn non_string_map_keys_are_a_codec_error() {
        let (quotes, _) = handles();
        let mut m = BTreeMap::new();
        m.insert((1, 2), "x");
        let err = quotes.put("m", &m).await.unwrap_err();
        assert!(matches!(err, StoreError::Codec { .. }), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn update_applies_function_atomically() {
        let (quotes, _) = handles();
        let v = quotes
            .update("count", |c: Option<u64>| c.unwrap_or(0) + 1)
            .await
            .unwrap();
        assert_eq!(v, 1);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let q = quotes.clone();
                tokio::spawn(async move {
                    q.update("count", |c: Option<u64>| c.unwrap_or(0) + 1)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(quotes.get::<u64>("count").await.unwrap(), Some(21));
    }

    #[tokio::test]
    async fn empty_key_is_refused() {
        let (quotes, _) = handles();
        let err = quotes.put("", &1).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    }
}
