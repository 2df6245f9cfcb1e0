//! Two libssl functions the `openssl` crate does not expose, bound by hand on the libssl that
//! `openssl-sys` already links. With `pki/ocsp_ffi.rs`, the only modules that may use `unsafe`.
//!
//! Why: a TLS 1.3 server sends its session tickets after the handshake, so they are read while
//! a long poll waits. OpenSSL's state machine allocates a 16 KB record write buffer to handle
//! them, and `SSL_MODE_RELEASE_BUFFERS` frees that buffer only after a later write, which a
//! waiting poll never makes: 16 KB per waiting session (massif, docs/performance.md).
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_void};

use foreign_types::ForeignTypeRef;
use openssl::ssl::SslRef;

extern "C" {
    // int SSL_has_pending(const SSL *s);
    fn SSL_has_pending(s: *const c_void) -> c_int;
    // int SSL_free_buffers(SSL *ssl);
    fn SSL_free_buffers(ssl: *mut c_void) -> c_int;
}

/// Frees the connection's record buffers if they hold nothing, read or unwritten; OpenSSL
/// allocates them again when the next record comes or goes. True if it freed them.
pub fn free_idle_buffers(ssl: &SslRef) -> bool {
    let ptr = ssl.as_ptr().cast::<c_void>();
    // SAFETY: `ptr` is the live SSL behind `ssl` for the duration of the calls, and the caller
    // holds the stream exclusively, so no other call runs on it meanwhile (an SslRef is an
    // opaque cell: OpenSSL may change it through a shared reference). SSL_has_pending reports
    // any received byte, processed or not, and SSL_free_buffers itself refuses while a write
    // is pending; so nothing still in use is freed, also on OpenSSL builds older than the fix
    // for CVE-2024-4741 (which made SSL_free_buffers refuse a buffer holding a received record).
    unsafe { SSL_has_pending(ptr) == 0 && SSL_free_buffers(ptr) == 1 }
}
