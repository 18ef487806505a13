//! UUIDs and the "type_uuid" text form of stream and aggregate IDs.

use std::ffi::{CStr, CString};
use std::fmt;

use crate::error::{check, Error, ErrorKind, Result};
use crate::sys;

/// A 16-byte UUID, as the ABI's est_uuid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// A random (version 4) UUID from the kernel's generator.
    pub fn v4() -> Result<Uuid> {
        let mut u = sys::est_uuid::default();
        // SAFETY: a valid out pointer.
        check(unsafe { sys::est_uuid_v4(&mut u) })?;
        Ok(Uuid(u.bytes))
    }

    /// A time-ordered (version 7) UUID, strictly increasing in this process.
    pub fn v7() -> Result<Uuid> {
        let mut u = sys::est_uuid::default();
        // SAFETY: a valid out pointer.
        check(unsafe { sys::est_uuid_v7(&mut u) })?;
        Ok(Uuid(u.bytes))
    }

    pub(crate) fn raw(&self) -> sys::est_uuid {
        sys::est_uuid { bytes: self.0 }
    }
}

impl fmt::Display for Uuid {
    /// Canonical lower-case, hyphenated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A Rust string as a C string; an interior NUL is the error the library
/// gives for a bad argument.
pub(crate) fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("{what}: contains NUL")))
}

/// "type_uuid" for a type name and a UUID (est_id_format).
pub fn format_id(type_name: &str, uuid: &Uuid) -> Result<String> {
    let t = c_string("type", type_name)?;
    let mut buf = [0 as std::os::raw::c_char; sys::EST_ID_MAX_LEN];
    // SAFETY: valid pointers; buf_len is the buffer's size.
    check(unsafe { sys::est_id_format(t.as_ptr(), &uuid.raw(), buf.as_mut_ptr(), buf.len()) })?;
    // SAFETY: the library wrote a NUL-terminated string into buf.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned())
}

/// The type name and UUID of a "type_uuid" ID (est_id_parse).
pub fn parse_id(text: &str) -> Result<(String, Uuid)> {
    let t = c_string("text", text)?;
    let mut type_buf = [0 as std::os::raw::c_char; sys::EST_TYPE_MAX_LEN + 1];
    let mut u = sys::est_uuid::default();
    // SAFETY: valid pointers; type_buf_len is the buffer's size.
    check(unsafe { sys::est_id_parse(t.as_ptr(), type_buf.as_mut_ptr(), type_buf.len(), &mut u) })?;
    // SAFETY: NUL-terminated on success.
    let type_name = unsafe { CStr::from_ptr(type_buf.as_ptr()) }.to_string_lossy().into_owned();
    Ok((type_name, Uuid(u.bytes)))
}
