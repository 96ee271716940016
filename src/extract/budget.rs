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
//! A file downloaded to disk ([`crate::extract::spool`]) holds buffers, not itself, while it
//! downloads: a fixed slice of the budget is set aside for those buffers, one slot each
//! ([`DownloadBudget::stream`]), and what is made from the file takes its share once it is
//! downloaded. Only downloads that have a request slot of the Confluence client hold buffers
//! (at most `min(concurrent_downloads, max_concurrent_requests)`), so that is all the slice
//! is sized for — at most half of the budget.
//!
//! A share is counted in KiB (a tokio semaphore counts in `u32`) and never more than the whole
//! budget, so a file larger than the budget is still downloaded — alone. A share is taken
//! whole, never grown: a task waits for a share holding none ([`Share::release`]), since two
//! half-done downloads each waiting for what the other holds would wait forever. A file whose
//! size is not listed goes to disk; where no disk can be used it takes what it may become at
//! most (the download size cap, or the whole budget), and gives back what it did not use once
//! it is downloaded.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::spool::SPOOLING_MEMORY;

const KIB: u64 = 1024;

/// The budget shared by every download of one sync.
#[derive(Debug, Clone)]
pub(crate) struct DownloadBudget {
    permits: Arc<Semaphore>,
    total_kib: u32,
    /// The slots of downloads to disk, each [`SPOOLING_MEMORY`] of the set-aside slice.
    streams: Arc<Semaphore>,
}

/// A download to disk's slot, given back when dropped.
pub(crate) type StreamSlot = Option<OwnedSemaphorePermit>;

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Share {
    /// `None` once released ([`Share::release`]), or if the semaphore were closed, which it
    /// never is.
    permit: Option<OwnedSemaphorePermit>,
}

impl DownloadBudget {
    /// A budget of `bytes` (at least 1 KiB), of which the buffers of up to `streams`
    /// downloads to disk at once are set aside (at most half of it, at least one).
    pub(crate) fn new(bytes: u64, streams: usize) -> DownloadBudget {
        let set_aside = (streams as u64).saturating_mul(SPOOLING_MEMORY).min(bytes / 2);
        let streams = (set_aside / SPOOLING_MEMORY).max(1) as usize;
        let total_kib = ((bytes - set_aside) / KIB).clamp(1, u64::from(u32::MAX >> 3)) as u32;
        DownloadBudget {
            permits: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
            streams: Arc::new(Semaphore::new(streams)),
        }
    }

    /// Waits for a download to disk's slot, and takes it. A task waiting for it holds no
    /// share, and one holding it waits for nothing but the Confluence client.
    pub(crate) async fn stream(&self) -> StreamSlot {
        self.streams.clone().acquire_owned().await.ok()
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

    /// Gives back all of this share: a task about to wait for another one holds nothing
    /// while it waits, so that waiters never keep from each other what they wait for.
    pub(crate) fn release(&mut self) {
        self.permit = None;
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
        let budget = DownloadBudget::new(10 * KIB, 0);
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
        let budget = DownloadBudget::new(10 * KIB, 0);
        let big = budget.take(1 << 30).await;
        assert_eq!((big.kib(), budget.available_kib()), (10, 0));
    }

    #[tokio::test]
    async fn the_buffers_of_downloads_to_disk_are_set_aside() {
        let mib = SPOOLING_MEMORY;
        let budget = DownloadBudget::new(64 * mib, 10);
        assert_eq!(budget.available_kib(), 54 * 1024, "ten slots of buffers set aside");
        assert_eq!(budget.streams.available_permits(), 10);
        let slot = budget.stream().await;
        assert_eq!(budget.streams.available_permits(), 9);
        drop(slot);
        let crowded = DownloadBudget::new(64 * mib, 256);
        assert_eq!(
            (crowded.available_kib(), crowded.streams.available_permits()),
            (32 * 1024, 32),
            "half at most"
        );
        let tiny = DownloadBudget::new(mib, 10);
        assert_eq!(tiny.streams.available_permits(), 1, "always one");
    }

    #[tokio::test]
    async fn a_share_gives_back_what_it_did_not_use() {
        let budget = DownloadBudget::new(10 * KIB, 0);
        let mut share = budget.take(8 * KIB).await;
        share.shrink_to(3 * KIB + 1);
        assert_eq!((share.kib(), budget.available_kib()), (4, 6));
        share.shrink_to(0);
        assert_eq!((share.kib(), budget.available_kib()), (1, 9));
        share.shrink_to(5 * KIB);
        assert_eq!(share.kib(), 1, "a share never grows");
        share.release();
        assert_eq!((share.kib(), budget.available_kib()), (0, 10));
    }
}
