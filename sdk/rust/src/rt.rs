//! The guest side of one call (ABI.md, "One call"): the memory exports, input decoding, the
//! per-instance output buffer, error reporting and the batch condition handler. The
//! `condition!`, `datasource!` and `action!` macros export thin wrappers around these.

use crate::host;
use crate::json::{self, Node, Value};
use crate::types::*;
use std::alloc::{alloc, dealloc, Layout};

/// Per-instance buffers, reused so a steady-state call allocates nothing for the plumbing.
/// The host calls one instance from one thread at a time and WebAssembly has no threads
/// here, so plain mutable statics are sound as long as no handler re-enters another.
struct State {
    /// The last output. It must stay valid until the next call (ABI "One call", step 3).
    out: Vec<u8>,
    /// The parse tape of the current input.
    nodes: Vec<Node>,
    panic_hook: bool,
}

static mut STATE: State = State { out: Vec::new(), nodes: Vec::new(), panic_hook: false };

/// The ABI version marker: its presence is the declaration.
#[no_mangle]
pub extern "C" fn wayline_abi_version_1() {}

/// Blocks for the host carry an 8-byte alignment so the host may write any data into them.
const ALLOC_ALIGN: usize = 8;

fn layout(size: u32) -> Option<Layout> {
    // A zero-size allocation is not allowed by the global allocator; serve it with one byte.
    Layout::from_size_align((size as usize).max(1), ALLOC_ALIGN).ok()
}

/// Allocates `size` bytes for the host to write into; 0 when out of memory.
#[no_mangle]
pub extern "C" fn wayline_alloc(size: u32) -> u32 {
    match layout(size) {
        // SAFETY: the layout has a non-zero size.
        Some(l) => unsafe { alloc(l) as usize as u32 },
        None => 0,
    }
}

/// Gives back a block from `wayline_alloc` (with the size it was asked for).
#[no_mangle]
pub extern "C" fn wayline_free(ptr: u32, size: u32) {
    if let (true, Some(l)) = (ptr != 0, layout(size)) {
        // SAFETY: the host returns a block it got from wayline_alloc with the same size.
        unsafe { dealloc(ptr as usize as *mut u8, l) }
    }
}

/// Sends panic messages to the plugin's log before the abort traps the instance, so
/// `wayline plugin test` shows why a plugin trapped.
fn install_panic_hook(st: &mut State) {
    if !st.panic_hook {
        st.panic_hook = true;
        std::panic::set_hook(Box::new(|info| host::log(host::Level::Error, &format!("plugin panicked: {}", info))));
    }
}

/// Runs one call: `run` decodes the input and writes the output; the outcome becomes the packed
/// return value, or an error report and 0.
fn handle<F>(ptr: u32, len: u32, run: F) -> u64
where
    F: FnOnce(&[u8], &mut Vec<Node>, &mut Vec<u8>) -> Result<(), Error>,
{
    // SAFETY: one call at a time on one thread (see State).
    let st = unsafe { &mut STATE };
    install_panic_hook(st);
    let input: &[u8] = if ptr == 0 {
        &[] // from_raw_parts needs a non-null pointer even for no bytes
    } else {
        // SAFETY: the host wrote `len` bytes at `ptr`, in a block it got from wayline_alloc.
        unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
    };
    st.out.clear();
    match run(input, &mut st.nodes, &mut st.out) {
        Ok(()) => ((st.out.as_ptr() as usize as u64) << 32) | st.out.len() as u64,
        Err(e) => {
            host::report_error(e.code as i32, &e.message);
            0
        }
    }
}

/// Parses the input, which must be a JSON object, into `nodes`.
fn parse<'a>(input: &'a [u8], nodes: &'a mut Vec<Node>) -> Result<Value<'a>, Error> {
    let src = json::parse_bytes(input, nodes).map_err(|e| Error::invalid_input(e.to_string()))?;
    let nodes: &'a [Node] = nodes;
    let root = Value::root_of(src, nodes);
    if !root.is_object() {
        return Err(Error::invalid_input("input is not a JSON object"));
    }
    Ok(root)
}

/// The signature of a condition handler: `fn(&ConditionInput) -> Result<ConditionOutput, Error>`.
pub type ConditionFn = fn(&ConditionInput<'_>) -> Result<ConditionOutput, Error>;
/// The signature of a data-source handler.
pub type DatasourceFn = fn(&DatasourceInput<'_>) -> Result<DatasourceOutput, Error>;
/// The signature of an action handler.
pub type ActionFn = fn(&ActionInput<'_>) -> Result<ActionOutput, Error>;

pub fn condition(ptr: u32, len: u32, f: ConditionFn) -> u64 {
    handle(ptr, len, |input, nodes, out| run_condition(input, nodes, out, f))
}

pub fn condition_batch(ptr: u32, len: u32, f: ConditionFn) -> u64 {
    handle(ptr, len, |input, nodes, out| run_condition_batch(input, nodes, out, f))
}

pub fn datasource(ptr: u32, len: u32, f: DatasourceFn) -> u64 {
    handle(ptr, len, |input, nodes, out| {
        f(&DatasourceInput::from_value(parse(input, nodes)?)?)?.write_to(out);
        Ok(())
    })
}

pub fn action(ptr: u32, len: u32, f: ActionFn) -> u64 {
    handle(ptr, len, |input, nodes, out| {
        f(&ActionInput::from_value(parse(input, nodes)?)?)?.write_to(out);
        Ok(())
    })
}

fn run_condition(input: &[u8], nodes: &mut Vec<Node>, out: &mut Vec<u8>, f: ConditionFn) -> Result<(), Error> {
    let root = parse(input, nodes)?;
    f(&ConditionInput::from_parts(root, root)?)?.write_to(out);
    Ok(())
}

/// The batch handler: shared fields once, one result (or error) per item, in order. An item
/// that fails does not fail the batch; only an input that is not a batch does.
fn run_condition_batch(input: &[u8], nodes: &mut Vec<Node>, out: &mut Vec<u8>, f: ConditionFn) -> Result<(), Error> {
    let root = parse(input, nodes)?;
    let items = root.get("items");
    if !items.is_array() {
        return Err(Error::invalid_input("batch input has no items array"));
    }
    out.extend_from_slice(b"{\"results\":[");
    for (i, item) in items.elements().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let r = if item.is_object() {
            ConditionInput::from_parts(root, item).and_then(|input| f(&input))
        } else {
            Err(Error::invalid_input(format!("items[{}] is not an object", i)))
        };
        match r {
            Ok(o) => o.write_to(out),
            Err(e) => {
                out.extend_from_slice(b"{\"error\":{\"code\":");
                json::write_i64(out, e.code as i64);
                out.extend_from_slice(b",\"message\":");
                json::write_str(out, &e.message);
                out.extend_from_slice(b"}}");
            }
        }
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: ConditionFn, batch: bool, input: &str) -> Result<String, (i32, String)> {
        let (mut nodes, mut out) = (Vec::new(), Vec::new());
        let r = if batch {
            run_condition_batch(input.as_bytes(), &mut nodes, &mut out, f)
        } else {
            run_condition(input.as_bytes(), &mut nodes, &mut out, f)
        };
        r.map(|_| String::from_utf8(out).unwrap()).map_err(|e| (e.code as i32, e.message))
    }

    fn over_min(i: &ConditionInput) -> Result<ConditionOutput, Error> {
        let min = i.config.get("min").as_f64().ok_or_else(|| Error::invalid_config("min"))?;
        let p = i.profile.attributes.get("points").as_f64().unwrap_or(0.0);
        Ok(ConditionOutput::with_reason(p >= min, format!("{} ok", i.event.type_)))
    }

    #[test]
    fn condition_decodes_input_and_reports_errors() {
        let out = run(over_min, false, r#"{"abi":1,"config":{"min":100},"event":{"type":"b\"uy"},"profile":{"attributes":{"points":150}}}"#);
        assert_eq!(out.unwrap(), r#"{"result":true,"reason":"b\"uy ok"}"#);
        assert_eq!(run(over_min, false, r#"{"config":{}}"#).unwrap_err().0, 2);
        assert_eq!(run(over_min, false, "{not json").unwrap_err().0, 1);
        assert_eq!(run(over_min, false, "[1]").unwrap_err().0, 1);
        assert_eq!(run(over_min, false, r#"{"config":{"min":1},"profile":[]}"#).unwrap_err().0, 1);
    }

    #[test]
    fn batch_keeps_item_errors_in_place() {
        let out = run(
            over_min,
            true,
            r#"{"config":{"min":100},"items":[{"profile":{"attributes":{"points":1}}},{"profile":3},{"profile":{"attributes":{"points":100}}}]}"#,
        );
        assert_eq!(
            out.unwrap(),
            r#"{"results":[{"result":false,"reason":" ok"},{"error":{"code":1,"message":"profile must be an object"}},{"result":true,"reason":" ok"}]}"#
        );
        assert_eq!(run(over_min, true, r#"{"config":{}}"#).unwrap_err().0, 1);
    }
}
