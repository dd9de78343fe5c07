//! The Rust guest SDK for Wayline plugins (ABI v1, see `sdk/ABI.md`).
//!
//! A plugin is a `cdylib` built for `wasm32-wasi` that writes one function per kind and
//! exports it with a macro:
//!
//! ```ignore
//! use wayline::{ConditionInput, ConditionOutput, Error};
//!
//! fn vip(input: &ConditionInput) -> Result<ConditionOutput, Error> {
//!     let spent = input.profile.attributes.get("spent").as_f64().unwrap_or(0.0);
//!     Ok(ConditionOutput::with_reason(spent >= 1000.0, format!("spent {}", spent)))
//! }
//!
//! wayline::condition!(vip);
//! ```
//!
//! The SDK owns the rest of the ABI: the `memory`, `wayline_alloc`, `wayline_free` and version
//! exports, decoding the input (a malformed one is reported as `invalid_input`), the output
//! buffer kept until the next call, error reports, and `wayline_condition_batch` on top of the
//! one-item function. It depends on nothing but `std`: JSON is handled by [`json`].

pub mod host;
pub mod json;
mod types;

#[doc(hidden)]
pub mod rt;

pub use host::{HostError, HttpRequest, HttpResponse, Level};
pub use json::{Json, Kind, Value};
pub use types::*;

/// Logging to the plugin's log, shown by `wayline plugin test` and in the node's log.
pub mod log {
    use crate::host::{self, Level};

    pub fn debug(msg: &str) {
        host::log(Level::Debug, msg)
    }
    pub fn info(msg: &str) {
        host::log(Level::Info, msg)
    }
    pub fn warn(msg: &str) {
        host::log(Level::Warn, msg)
    }
    pub fn error(msg: &str) {
        host::log(Level::Error, msg)
    }
}

/// Exports a condition: `wayline::condition!(my_fn)` where
/// `fn my_fn(input: &ConditionInput) -> Result<ConditionOutput, Error>`.
/// Also exports the batch handler, which calls `my_fn` once per item.
#[macro_export]
macro_rules! condition {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn wayline_condition(ptr: u32, len: u32) -> u64 {
            $crate::rt::condition(ptr, len, $f)
        }
        #[no_mangle]
        pub extern "C" fn wayline_condition_batch(ptr: u32, len: u32) -> u64 {
            $crate::rt::condition_batch(ptr, len, $f)
        }
    };
}

/// Exports a data source: `wayline::datasource!(my_fn)` where
/// `fn my_fn(input: &DatasourceInput) -> Result<DatasourceOutput, Error>`.
#[macro_export]
macro_rules! datasource {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn wayline_datasource(ptr: u32, len: u32) -> u64 {
            $crate::rt::datasource(ptr, len, $f)
        }
    };
}

/// Exports an action: `wayline::action!(my_fn)` where
/// `fn my_fn(input: &ActionInput) -> Result<ActionOutput, Error>`.
#[macro_export]
macro_rules! action {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn wayline_action(ptr: u32, len: u32) -> u64 {
            $crate::rt::action(ptr, len, $f)
        }
    };
}
