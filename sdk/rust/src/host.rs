//! The host functions of the `wayline` import module, wrapped as ordinary Rust functions.
//!
//! Functions that return bytes leave them in the host's per-instance result slot and return
//! their length; [`take`] allocates exactly that much and copies them out, so callers just get
//! a `Vec<u8>`. Outside WebAssembly (unit tests on the build machine) the imports are replaced
//! by stubs that answer "not found", so plugin logic can be tested natively.

use crate::json::{Document, Json};
use std::fmt;

#[cfg(target_arch = "wasm32")]
mod sys {
    #[link(wasm_import_module = "wayline")]
    extern "C" {
        pub fn log(level: i32, ptr: *const u8, len: usize);
        pub fn error(code: i32, ptr: *const u8, len: usize);
        pub fn now_unix_nano() -> i64;
        pub fn config_get(key_ptr: *const u8, key_len: usize) -> i32;
        pub fn secret_get(name_ptr: *const u8, name_len: usize) -> i32;
        pub fn kv_get(key_ptr: *const u8, key_len: usize) -> i32;
        pub fn kv_set(key_ptr: *const u8, key_len: usize, val_ptr: *const u8, val_len: usize) -> i32;
        pub fn kv_delete(key_ptr: *const u8, key_len: usize) -> i32;
        pub fn http_request(req_ptr: *const u8, req_len: usize) -> i32;
        pub fn take_result(dst_ptr: *mut u8, cap: usize) -> i32;
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod sys {
    //! Native stubs for unit tests: nothing stored, nothing allowed.
    pub unsafe fn log(_: i32, _: *const u8, _: usize) {}
    pub unsafe fn error(_: i32, _: *const u8, _: usize) {}
    pub unsafe fn now_unix_nano() -> i64 {
        0
    }
    pub unsafe fn config_get(_: *const u8, _: usize) -> i32 {
        -1
    }
    pub unsafe fn secret_get(_: *const u8, _: usize) -> i32 {
        -1
    }
    pub unsafe fn kv_get(_: *const u8, _: usize) -> i32 {
        -1
    }
    pub unsafe fn kv_set(_: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
        0
    }
    pub unsafe fn kv_delete(_: *const u8, _: usize) -> i32 {
        0
    }
    pub unsafe fn http_request(_: *const u8, _: usize) -> i32 {
        -2
    }
    pub unsafe fn take_result(_: *mut u8, _: usize) -> i32 {
        0
    }
}

/// A negative status from a host function (ABI "Host status codes").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// -1: no such key, secret or config entry.
    NotFound,
    /// -2: not allowed (host not in `allowedHosts`, address refused).
    Denied,
    /// -3: a limit was reached.
    Limit,
    /// -4: the operation failed; the host's message.
    Failed(String),
    /// -5: bad arguments.
    Invalid,
    /// -6: not available to this kind of call (a store write from a data source).
    Unavailable,
    /// A status this SDK does not know (a newer host).
    Unknown(i32),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NotFound => f.write_str("not found"),
            HostError::Denied => f.write_str("denied"),
            HostError::Limit => f.write_str("limit reached"),
            HostError::Failed(m) if m.is_empty() => f.write_str("failed"),
            HostError::Failed(m) => write!(f, "failed: {}", m),
            HostError::Invalid => f.write_str("invalid arguments"),
            HostError::Unavailable => f.write_str("unavailable to this kind of call"),
            HostError::Unknown(s) => write!(f, "host status {}", s),
        }
    }
}

impl std::error::Error for HostError {}

/// The most of a `failed` message we copy out: the status is returned instead of its length.
const FAILED_MESSAGE_CAP: usize = 4096;

fn status(s: i32) -> HostError {
    match s {
        -1 => HostError::NotFound,
        -2 => HostError::Denied,
        -3 => HostError::Limit,
        -4 => HostError::Failed(String::from_utf8_lossy(&take(FAILED_MESSAGE_CAP)).into_owned()),
        -5 => HostError::Invalid,
        -6 => HostError::Unavailable,
        other => HostError::Unknown(other),
    }
}

/// Copies at most `n` bytes out of the result slot (and clears it).
fn take(n: usize) -> Vec<u8> {
    let mut v = Vec::<u8>::with_capacity(n);
    // SAFETY: the host writes at most `n` bytes into the spare capacity and says how many.
    unsafe {
        let got = sys::take_result(v.as_mut_ptr(), n);
        v.set_len((got.max(0) as usize).min(n));
    }
    v
}

/// Turns a "length or status" return into the bytes, `None` for not_found, or the error.
fn bytes_result(r: i32) -> Result<Option<Vec<u8>>, HostError> {
    match r {
        n if n >= 0 => Ok(Some(take(n as usize))),
        -1 => Ok(None),
        s => Err(status(s)),
    }
}

fn unit_result(r: i32) -> Result<(), HostError> {
    if r >= 0 {
        Ok(())
    } else {
        Err(status(r))
    }
}

/// Log levels of the `log` import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Writes a line to the plugin's log (shown by `wayline plugin test`). The host caps its length.
pub fn log(level: Level, msg: &str) {
    // SAFETY: a valid slice for the duration of the call.
    unsafe { sys::log(level as i32, msg.as_ptr(), msg.len()) }
}

/// Reports that this call failed. The SDK calls it for the errors handlers return.
pub(crate) fn report_error(code: i32, msg: &str) {
    // SAFETY: a valid slice for the duration of the call.
    unsafe { sys::error(code, msg.as_ptr(), msg.len()) }
}

/// The host's wall clock in nanoseconds since 1970 (UTC). Prefer the input's `now` in
/// conditions: it is the evaluation's logical time, which keeps replays deterministic.
pub fn now_unix_nano() -> i64 {
    // SAFETY: no arguments.
    unsafe { sys::now_unix_nano() }
}

/// The JSON text of one top-level key of this call's `config`; `Ok(None)` when absent.
/// Handlers already have the whole config in their input; this serves helper code without it.
pub fn config_get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
    // SAFETY: a valid slice for the duration of the call.
    bytes_result(unsafe { sys::config_get(key.as_ptr(), key.len()) })
}

/// A secret set on the plugin installation; `Ok(None)` when not set. Never log it.
pub fn secret_get(name: &str) -> Result<Option<String>, HostError> {
    // SAFETY: a valid slice for the duration of the call.
    let r = bytes_result(unsafe { sys::secret_get(name.as_ptr(), name.len()) })?;
    Ok(r.map(|b| String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())))
}

/// The value stored under `key` in this plugin's key-value store; `Ok(None)` when absent.
pub fn kv_get(key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
    // SAFETY: a valid slice for the duration of the call.
    bytes_result(unsafe { sys::kv_get(key.as_ptr(), key.len()) })
}

/// Stores a value (keys up to 512 bytes, values up to 64 KiB). Data sources get `Unavailable`.
pub fn kv_set(key: &[u8], value: &[u8]) -> Result<(), HostError> {
    // SAFETY: valid slices for the duration of the call.
    unit_result(unsafe { sys::kv_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) })
}

/// Deletes a key. Data sources get `Unavailable`.
pub fn kv_delete(key: &[u8]) -> Result<(), HostError> {
    // SAFETY: a valid slice for the duration of the call.
    unit_result(unsafe { sys::kv_delete(key.as_ptr(), key.len()) })
}

/// An outbound HTTP request, made by the host's client (only to the manifest's `allowedHosts`).
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body as text; the ABI carries bodies as JSON strings.
    pub body: String,
}

impl HttpRequest {
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest { method: "GET".into(), url: url.into(), ..Default::default() }
    }

    pub fn post(url: impl Into<String>, body: impl Into<String>) -> HttpRequest {
        HttpRequest { method: "POST".into(), url: url.into(), body: body.into(), ..Default::default() }
    }

    /// Adds a header; for chaining.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn to_json(&self) -> Json {
        let headers = Json::Object(self.headers.iter().map(|(k, v)| (k.clone(), Json::from(v.as_str()))).collect());
        Json::object()
            .with("method", self.method.as_str())
            .with("url", self.url.as_str())
            .with("headers", headers)
            .with("body", self.body.as_str())
    }
}

/// The response to an [`HttpRequest`]. Any status is a response; check [`HttpResponse::status`].
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends a request through the host. Network errors and timeouts are `Failed` (map them to
/// [`crate::Error::upstream`] so actions are retried).
pub fn http_request(req: &HttpRequest) -> Result<HttpResponse, HostError> {
    let mut buf = Vec::new();
    req.to_json().write_to(&mut buf);
    // SAFETY: a valid slice for the duration of the call.
    let r = unsafe { sys::http_request(buf.as_ptr(), buf.len()) };
    let bytes = match bytes_result(r)? {
        Some(b) => b,
        None => return Err(HostError::NotFound),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| HostError::Failed("response JSON is not UTF-8".into()))?;
    let doc = Document::parse(text).map_err(|e| HostError::Failed(format!("response JSON: {}", e)))?;
    let root = doc.root();
    Ok(HttpResponse {
        status: root.get("status").as_i64().unwrap_or(0) as u16,
        headers: root
            .get("headers")
            .entries()
            .map(|(k, v)| (k.into_owned(), v.as_str().unwrap_or_default().into_owned()))
            .collect(),
        body: root.get("body").as_str().unwrap_or_default().into_owned(),
    })
}
