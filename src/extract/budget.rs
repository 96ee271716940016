//! The byte budget of attachment content (`service.max_download_memory`).
//!
//! `concurrent_downloads` caps how many files are fetched at once, not how large they are:
//! 50 downloads of 8 MiB files, each then copied into text or base64, held half a GiB. Every
//! download therefore first takes its share of one budget — what the file and the document
//! built from it will hold at most — and the document carries that share through the sink:
//! its queue (whose own byte bound it then does not take), its batch and the `_bulk` request
//! in flight, until Elasticsearch has answered (an item sent again keeps it). Memory then
//! follows the budget, whatever the files' sizes.
//!
//! A share is counted in KiB (a tokio semaphore counts in `u32`) and never more than the whole
//! budget, so a file larger than the budget is still downloaded — alone. A share is taken
//! whole before the download starts, never grown while it runs: two half-done downloads
//! each waiting for what the other holds would wait forever. A file whose size is not listed
//! takes what it may become at most (the download size cap, or the whole budget), and gives
//! back what it did not use once it is downloaded.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const KIB: u64 = 1024;

/// The budget shared by every download of one sync.
#[derive(Debug, Clone)]
pub(crate) struct DownloadBudget {
    permits: Arc<Semaphore>,
    total_kib: u32,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Share {
    /// `None` only if the semaphore were closed, which it never is.
    permit: Option<OwnedSemaphorePermit>,
}

impl DownloadBudget {
    /// A budget of `bytes` (at least 1 KiB).
    pub(crate) fn new(bytes: u64) -> DownloadBudget {
        let total_kib = (bytes / KIB).clamp(1, u64::from(u32::MAX >> 3)) as u32;
        DownloadBudget { permits: Arc::new(Semaphore::new(total_kib as usize)), total_kib }
    }

    /// The KiB that `bytes` take: rounded up, at least 1, at most the whole budget.
    fn kib(&self, bytes: u64) -> u32 {
        bytes.div_ceil(KIB).clamp(1, u64::from(self.total_kib)) as u32
    }

    /// Waits until `bytes` (clamped to the whole budget) are free, and takes them.
    pub(crate) async fn take(&self, bytes: u64) -> Share {
        Share { permit: self.permits.clone().acquire_many_owned(self.kib(bytes)).await.ok() }
    }

    /// KiB free now (tests).
    #[cfg(test)]
    pub(crate) fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Share {
    /// Gives back what this share holds beyond `bytes` (it keeps at least 1 KiB).
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = bytes.div_ceil(KIB).max(1);
        if let Some(permit) = &mut self.permit {
            let held = permit.num_permits() as u64;
            if keep < held {
                drop(permit.split((held - keep) as usize));
            }
        }
    }

    /// KiB held.
    pub fn kib(&self) -> usize {
        self.permit.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn shares_wait_for_the_budget_and_come_back_when_dropped() {
        let budget = DownloadBudget::new(10 * KIB);
        let first = budget.take(6 * KIB).await;
        let second = budget.take(4 * KIB - 100).await;
        assert_eq!((first.kib(), second.kib(), budget.available_kib()), (6, 4, 0));
        let waiting = tokio::time::timeout(Duration::from_millis(30), budget.take(1)).await;
        assert!(waiting.is_err(), "the budget holds");
        drop(first);
        assert_eq!(budget.available_kib(), 6);
    }

    #[tokio::test]
    async fn a_file_over_the_budget_takes_all_of_it_and_goes_alone() {
        let budget = DownloadBudget::new(10 * KIB);
        let big = budget.take(1 << 30).await;
        assert_eq!((big.kib(), budget.available_kib()), (10, 0));
    }

    #[tokio::test]
    async fn a_share_gives_back_what_it_did_not_use() {
        let budget = DownloadBudget::new(10 * KIB);
        let mut share = budget.take(8 * KIB).await;
        share.shrink_to(3 * KIB + 1);
        assert_eq!((share.kib(), budget.available_kib()), (4, 6));
        share.shrink_to(0);
        assert_eq!((share.kib(), budget.available_kib()), (1, 9));
        share.shrink_to(5 * KIB);
        assert_eq!(share.kib(), 1, "a share never grows");
    }
}
