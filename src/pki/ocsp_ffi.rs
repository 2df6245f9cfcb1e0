//! The two OCSP nonce functions that neither the `openssl` crate nor `openssl-sys` expose,
//! bound by hand on the libcrypto that `openssl-sys` already links. With
//! `means/smart_id/tls_ffi.rs`, the only modules in the crate that may use `unsafe`.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_uchar, c_void};

use foreign_types::ForeignTypeRef;
use openssl::ocsp::{OcspBasicResponseRef, OcspRequestRef};

extern "C" {
    // int OCSP_request_add1_nonce(OCSP_REQUEST *req, unsigned char *val, int len);
    fn OCSP_request_add1_nonce(req: *mut c_void, val: *mut c_uchar, len: c_int) -> c_int;
    // int OCSP_check_nonce(OCSP_REQUEST *req, OCSP_BASICRESP *bs);
    fn OCSP_check_nonce(req: *mut c_void, bs: *mut c_void) -> c_int;
}

/// Adds a fresh random nonce (16 bytes, drawn by OpenSSL) to the request.
pub fn add_nonce(req: &mut OcspRequestRef) -> bool {
    // SAFETY: `req.as_ptr()` is a valid, live OCSP_REQUEST borrowed mutably for the call. A
    // null `val` with a non-positive `len` makes OpenSSL generate the nonce itself; it copies
    // what it needs and keeps no pointer of ours.
    unsafe { OCSP_request_add1_nonce(req.as_ptr().cast(), std::ptr::null_mut(), -1) == 1 }
}

/// How the response's nonce compares with the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Both present and equal.
    Match,
    /// The request had one, the response none.
    Absent,
    /// Present and different, or any other inconsistency.
    Mismatch,
}

pub fn check_nonce(req: &OcspRequestRef, resp: &OcspBasicResponseRef) -> NonceCheck {
    // SAFETY: both pointers come from live references for the duration of the call;
    // OCSP_check_nonce only reads the two structures (its C signature lacks `const`).
    let r = unsafe { OCSP_check_nonce(req.as_ptr().cast(), resp.as_ptr().cast()) };
    // 1: equal; -1: only in the request; 0: different; 2/3: we always send one, so the other
    // values mean something is off.
    match r {
        1 => NonceCheck::Match,
        -1 => NonceCheck::Absent,
        _ => NonceCheck::Mismatch,
    }
}
