//! Projection checkpoints (the header's experimental est_checkpoint_*):
//! how far a projection has handled the store's global order, kept in the
//! store itself, with Estoria's checkpoint store semantics: last write wins,
//! the store stamps `updated_at_ns` on every save (also at an unchanged
//! position), `NotFound` when there is none (to load and to delete). IDs
//! are Estoria's `name_vN`. `Transaction::checkpoint` commits a save with
//! a transaction's appends.

use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{check, Result};
use crate::id::c_string;
use crate::store::Store;
use crate::sys;

/// A projection's checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The global position the projection has handled through.
    pub position: i64,
    /// When the store last saved it (unix ns, the store's clock).
    pub updated_at_ns: i64,
}

impl Store {
    /// Saves `position` (>= 0) as the checkpoint of `projection_id`.
    pub fn save_checkpoint(&self, projection_id: &str, position: i64) -> Result<()> {
        let id = c_string("projection_id", projection_id)?;
        // SAFETY: valid handle and C string.
        check(unsafe { sys::est_checkpoint_save(self.raw(), id.as_ptr(), position) })
    }

    /// The checkpoint of `projection_id`; `ErrorKind::NotFound` when none.
    pub fn load_checkpoint(&self, projection_id: &str) -> Result<Checkpoint> {
        let id = c_string("projection_id", projection_id)?;
        let mut c = Checkpoint { position: 0, updated_at_ns: 0 };
        // SAFETY: valid handle, C string and out pointers.
        check(unsafe { sys::est_checkpoint_load(self.raw(), id.as_ptr(), &mut c.position, &mut c.updated_at_ns) })?;
        Ok(c)
    }

    /// Deletes the checkpoint of `projection_id`; `ErrorKind::NotFound` when none.
    pub fn delete_checkpoint(&self, projection_id: &str) -> Result<()> {
        let id = c_string("projection_id", projection_id)?;
        // SAFETY: valid handle and C string.
        check(unsafe { sys::est_checkpoint_delete(self.raw(), id.as_ptr()) })
    }

    /// Every checkpoint of the store, in ascending ID order.
    pub fn list_checkpoints(&self) -> Result<Vec<(String, Checkpoint)>> {
        unsafe extern "C" fn visit(user: *mut c_void, id: *const c_char, position: i64, updated_at_ns: i64) -> i32 {
            // A panic must not unwind into C: it becomes an error status.
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: `user` is the Vec below, alive for the call; `id`
                // is a NUL-terminated string valid during the call.
                let all = unsafe { &mut *(user as *mut Vec<(String, Checkpoint)>) };
                let id = unsafe { CStr::from_ptr(id) }.to_string_lossy().into_owned();
                all.push((id, Checkpoint { position, updated_at_ns }));
                sys::EST_OK
            }))
            .unwrap_or(sys::EST_ERR_INTERNAL)
        }
        let mut all: Vec<(String, Checkpoint)> = Vec::new();
        // SAFETY: valid handle; the callback and its user pointer live
        // through the call, which keeps neither.
        check(unsafe { sys::est_checkpoint_list(self.raw(), Some(visit), &mut all as *mut _ as *mut c_void) })?;
        Ok(all)
    }
}
