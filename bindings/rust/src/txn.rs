//! Transactions: appends to several streams, each with its own expectation,
//! committed all or nothing (the header's experimental est_txn_*).
//!
//! Ownership and threads: a `Transaction` owns its handle and frees it on
//! drop (uncommitted appends are dropped). It holds copies of what was
//! appended, never the caller's batches. It does not borrow the `Store`:
//! closing the store makes it return `Closed`. Send, not Sync.
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>() {}
//! shared::<estoria::Transaction>();
//! ```

use std::ptr::{self, NonNull};

use crate::error::{check, Error, Result};
use crate::id::c_string;
use crate::store::{AppendOptions, AppendResult, Batch, Store};
use crate::sys::{self, SizedStruct};

/// A transaction (see the module's documentation). `Store::transaction`
/// starts one.
pub struct Transaction {
    raw: NonNull<sys::est_txn>,
    // What each append asked for, to describe a mismatch.
    appends: Vec<(String, AppendOptions)>,
}

// SAFETY: one thread at a time per transaction (the ABI's rule); moving it
// to another thread is that.
unsafe impl Send for Transaction {}

impl Store {
    /// Starts an empty transaction on this store.
    pub fn transaction(&self) -> Result<Transaction> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle and out pointer.
        check(unsafe { sys::est_txn_new(self.raw(), &mut raw) })?;
        Ok(Transaction { raw: NonNull::new(raw).expect("est_txn_new returned EST_OK with NULL"), appends: Vec::new() })
    }
}

impl Transaction {
    /// Adds an append of `batch` to `stream_id` with `options` (as
    /// `Store::append`'s). The batch
    /// is copied at once and may be changed or dropped right away. Nothing
    /// is checked against the store before `commit`; a later append to the
    /// same stream sees the earlier ones (expect the version they leave).
    pub fn append(&mut self, stream_id: &str, batch: &Batch, options: &AppendOptions) -> Result<()> {
        let id = c_string("stream_id", stream_id)?;
        let o = options.raw();
        // SAFETY: valid handles and pointers; the library copies the batch's
        // events and leaves it unchanged (Batch is not Sync: no other thread
        // uses it now).
        check(unsafe { sys::est_txn_append(self.raw.as_ptr(), id.as_ptr(), batch.raw.as_ptr(), &o) })?;
        self.appends.push((stream_id.to_owned(), *options));
        Ok(())
    }

    /// Adds a save of `projection_id`'s checkpoint at `position`: saved only
    /// if the transaction commits, with its appends (a projection's output
    /// and its progress together). A transaction may hold only saves.
    pub fn checkpoint(&mut self, projection_id: &str, position: i64) -> Result<()> {
        let id = c_string("projection_id", projection_id)?;
        // SAFETY: valid handle and C string.
        check(unsafe { sys::est_txn_checkpoint(self.raw.as_ptr(), id.as_ptr(), position) })
    }

    /// The number of appends not yet committed.
    pub fn len(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::est_txn_size(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Commits: every expectation holds and every append is written, or
    /// none is. One result per append, in the order they were added (an
    /// append whose events were all already there, a retry, says
    /// `duplicate`). On success the transaction is empty again and may be
    /// reused. A failed expectation is `VersionMismatch`, whose message
    /// names the stream and whose versions are that append's expected and
    /// the stream's actual; the transaction keeps its appends then.
    pub fn commit(&mut self) -> Result<Vec<AppendResult>> {
        let n = self.len();
        let mut raw = vec![sys::est_append_result::init(); n];
        // SAFETY: valid handle; raw holds n results, as many as appends.
        let s = unsafe {
            sys::est_txn_commit(self.raw.as_ptr(), if n == 0 { ptr::null_mut() } else { raw.as_mut_ptr() }, n)
        };
        if s == sys::EST_OK {
            self.appends.clear();
            return Ok(raw.iter().map(AppendResult::from_raw).collect());
        }
        let e = Error::last(s);
        if s == sys::EST_ERR_VERSION_MISMATCH {
            // The library's message names "append I to stream S: ".
            let index = e
                .message()
                .find("append ")
                .and_then(|at| e.message()[at + "append ".len()..].split(' ').next())
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|&i| i < n.min(self.appends.len()));
            if let Some(i) = index {
                let stream = self.appends[i].0.clone();
                return Err(e.with_versions(self.appends[i].1.expected(), raw[i].actual_version).with_stream(stream));
            }
        }
        Err(e)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::est_txn_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("appends", &self.appends.len()).finish()
    }
}
