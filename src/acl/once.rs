//! A map of values computed at most once per key, however many tasks ask at the same time.
//!
//! The ACL of one page needs the restrictions of each of its ancestors, and thousands of
//! pages share ancestors; the crawl asks for them concurrently. The first task to ask for
//! a key fetches it while the others wait for that one answer, so each ancestor's
//! restrictions (each space's permissions, each group's members) are fetched once per sync.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// Values by key, each computed once.
pub(super) struct OnceMap<V> {
    cells: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for OnceMap<V> {
    fn default() -> Self {
        OnceMap { cells: Mutex::new(HashMap::new()) }
    }
}

impl<V: Clone> OnceMap<V> {
    fn cell(&self, key: &str) -> Arc<OnceCell<V>> {
        let mut cells = self.cells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cells.entry(key.to_string()).or_default().clone()
    }

    /// The value of `key`, computed by `init` if nobody has yet (concurrent callers wait for
    /// the first one's answer instead of computing their own).
    pub(super) async fn get_or_init<F, Fut>(&self, key: &str, init: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        self.cell(key).get_or_init(init).await.clone()
    }

    /// Records a value that came along with something else (a listing's expansion), unless
    /// the key has one already.
    pub(super) fn offer(&self, key: &str, value: V) {
        let _ = self.cell(key).set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_askers_share_one_computation() {
        let map: Arc<OnceMap<usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (map, runs) = (map.clone(), runs.clone());
                tokio::spawn(async move {
                    map.get_or_init("page-1", || async {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 100
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 100);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        map.offer("page-1", 7);
        assert_eq!(map.get_or_init("page-1", || async { 8 }).await, 100, "an offer never replaces");
        map.offer("page-2", 7);
        assert_eq!(map.get_or_init("page-2", || async { 8 }).await, 7);
    }
}
