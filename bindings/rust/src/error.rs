//! The crate's error type: an ABI status, the library's message for it, and
//! for a version mismatch the expected and actual stream versions.

use std::ffi::{CStr, CString};
use std::fmt;

use crate::sys;

/// What went wrong: one variant per negative `est_status` of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    VersionMismatch,
    Closed,
    Io,
    Corruption,
    Busy,
    Unsupported,
    NoMemory,
    Internal,
    /// An aggregate save appended its events but could not apply them:
    /// reload the aggregate.
    AppliedPartially,
    /// `Store::cancel` stopped a compaction or verify; the store is as it was.
    Cancelled,
    /// A negative status this binding does not know (a newer library).
    Unknown(i32),
}

impl ErrorKind {
    /// The kind of a negative status.
    pub fn from_status(status: i32) -> ErrorKind {
        match status {
            sys::EST_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::EST_ERR_NOT_FOUND => ErrorKind::NotFound,
            sys::EST_ERR_VERSION_MISMATCH => ErrorKind::VersionMismatch,
            sys::EST_ERR_CLOSED => ErrorKind::Closed,
            sys::EST_ERR_IO => ErrorKind::Io,
            sys::EST_ERR_CORRUPTION => ErrorKind::Corruption,
            sys::EST_ERR_BUSY => ErrorKind::Busy,
            sys::EST_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::EST_ERR_NO_MEMORY => ErrorKind::NoMemory,
            sys::EST_ERR_INTERNAL => ErrorKind::Internal,
            sys::EST_ERR_APPLIED_PARTIALLY => ErrorKind::AppliedPartially,
            sys::EST_ERR_CANCELLED => ErrorKind::Cancelled,
            other => ErrorKind::Unknown(other),
        }
    }

    /// The ABI status of this kind.
    pub fn status(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => sys::EST_ERR_INVALID_ARGUMENT,
            ErrorKind::NotFound => sys::EST_ERR_NOT_FOUND,
            ErrorKind::VersionMismatch => sys::EST_ERR_VERSION_MISMATCH,
            ErrorKind::Closed => sys::EST_ERR_CLOSED,
            ErrorKind::Io => sys::EST_ERR_IO,
            ErrorKind::Corruption => sys::EST_ERR_CORRUPTION,
            ErrorKind::Busy => sys::EST_ERR_BUSY,
            ErrorKind::Unsupported => sys::EST_ERR_UNSUPPORTED,
            ErrorKind::NoMemory => sys::EST_ERR_NO_MEMORY,
            ErrorKind::Internal => sys::EST_ERR_INTERNAL,
            ErrorKind::AppliedPartially => sys::EST_ERR_APPLIED_PARTIALLY,
            ErrorKind::Cancelled => sys::EST_ERR_CANCELLED,
            ErrorKind::Unknown(s) => s,
        }
    }
}

/// An error from the library (or from this binding's own checks, such as a
/// string holding NUL, which it reports as the library would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    versions: Option<(i64, i64)>,
    stream: Option<String>,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), versions: None, stream: None }
    }

    /// The error for `status` (< 0) just returned by a call: reads the
    /// calling thread's est_last_error(). Must be called before any other
    /// est_* call on this thread.
    pub(crate) fn last(status: i32) -> Error {
        // SAFETY: est_last_error never returns NULL; the text is valid until
        // the next est_* call on this thread, and is copied here.
        let message = unsafe { CStr::from_ptr(sys::est_last_error()) }.to_string_lossy().into_owned();
        Error::new(ErrorKind::from_status(status), message)
    }

    pub(crate) fn with_versions(mut self, expected: i64, actual: i64) -> Error {
        self.versions = Some((expected, actual));
        self
    }

    pub(crate) fn with_stream(mut self, stream: String) -> Error {
        self.stream = Some(stream);
        self
    }

    /// For a transaction's version mismatch: the stream of the failing append.
    pub fn stream_id(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The ABI status (`EST_ERR_*`).
    pub fn status(&self) -> i32 {
        self.kind.status()
    }

    /// The status's name, e.g. "EST_ERR_NOT_FOUND".
    pub fn status_name(&self) -> &'static str {
        status_name(self.status())
    }

    /// The library's message (est_last_error() at the time of the failure).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a version mismatch: the version the caller expected.
    pub fn expected_version(&self) -> Option<i64> {
        self.versions.map(|v| v.0)
    }

    /// For a version mismatch: the stream's actual version.
    pub fn actual_version(&self) -> Option<i64> {
        self.versions.map(|v| v.1)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status_name(), self.message)?;
        if let Some((expected, actual)) = self.versions {
            write!(f, " (expected version {expected}, actual {actual})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The name of any status ("EST_OK", "EST_ERR_NOT_FOUND", ..., "EST_UNKNOWN").
pub fn status_name(status: i32) -> &'static str {
    // SAFETY: never NULL, static storage, ASCII.
    unsafe { CStr::from_ptr(sys::est_status_name(status)) }.to_str().unwrap_or("EST_UNKNOWN")
}

/// Ok for EST_OK (and EST_END, which callers that can see it test first),
/// else the error with this thread's message.
#[inline]
pub(crate) fn check(status: i32) -> Result<(), Error> {
    if status >= 0 {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

/// From a callback the library called: leaves `message` for the library
/// (est_set_error) and returns `status`, which the callback then returns.
pub(crate) fn fail(status: sys::est_status, message: &str) -> sys::est_status {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a valid C string, copied by the library.
    unsafe { sys::est_set_error(text.as_ptr()) };
    status
}

/// "panicked: MESSAGE" for a panic caught in a callback.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
