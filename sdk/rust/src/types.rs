//! The inputs and outputs of each kind (ABI.md, "Kinds and their JSON") and the error type.
//!
//! Inputs borrow from the parsed input: strings are `Cow`s that allocate only when the JSON
//! had escapes, and open-ended parts (`config`, `event.data`, `profile.attributes`, `vars`,
//! `params`, `payload`) stay [`Value`]s to be read lazily. Fields the ABI adds later are
//! reachable through each struct's `raw`.

use crate::json::{self, Json, Kind, Value};
use std::borrow::Cow;
use std::fmt;

/// The error codes of the `error` import. Append-only, like the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input was not what the plugin expects. Not retried.
    InvalidInput = 1,
    /// The config is wrong. Not retried.
    InvalidConfig = 2,
    /// A system the plugin called failed. Actions are retried with backoff.
    Upstream = 3,
    /// A bug in the plugin. Not retried.
    Internal = 4,
    /// The upstream refused the request for good. Actions are dead-lettered.
    Rejected = 5,
}

impl ErrorCode {
    /// The code's name as ABI.md writes it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::Upstream => "upstream",
            ErrorCode::Internal => "internal",
            ErrorCode::Rejected => "rejected",
        }
    }
}

/// Why a call failed: a code that tells the host what to do, and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidInput, message)
    }
    pub fn invalid_config(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidConfig, message)
    }
    pub fn upstream(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Upstream, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Internal, message)
    }
    pub fn rejected(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Rejected, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl std::error::Error for Error {}

/// Host failures become `upstream` when the operation itself failed (so actions retry) and
/// `internal` otherwise (a denied host or a broken limit will not fix itself).
impl From<crate::host::HostError> for Error {
    fn from(e: crate::host::HostError) -> Error {
        let code = match e {
            crate::host::HostError::Failed(_) => ErrorCode::Upstream,
            _ => ErrorCode::Internal,
        };
        Error::new(code, e.to_string())
    }
}

/// Checks that an input member is an object (or absent/null); anything else is invalid input.
fn object_field<'a>(v: Value<'a>, key: &str, what: &str) -> Result<Value<'a>, Error> {
    match v.kind() {
        None | Some(Kind::Null) | Some(Kind::Object) => Ok(v),
        Some(_) => Err(Error::invalid_input(format!("{}{} must be an object", what, key))),
    }
}

/// Reads an input member that must be a string; absent or null reads as "".
fn string_field<'a>(v: Value<'a>, key: &str, what: &str) -> Result<Cow<'a, str>, Error> {
    match v.kind() {
        None | Some(Kind::Null) => Ok(Cow::Borrowed("")),
        Some(Kind::String) => Ok(v.as_str().unwrap_or_default()),
        Some(_) => Err(Error::invalid_input(format!("{}{} must be a string", what, key))),
    }
}

/// The event that moved the profile along the journey.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub id: Cow<'a, str>,
    /// The event type (`type` in JSON).
    pub type_: Cow<'a, str>,
    /// RFC 3339.
    pub timestamp: Cow<'a, str>,
    pub identity: Cow<'a, str>,
    pub data: Value<'a>,
    /// The whole event object.
    pub raw: Value<'a>,
}

impl<'a> Event<'a> {
    fn from_value(v: Value<'a>) -> Result<Event<'a>, Error> {
        let [id, type_, timestamp, identity, data] = v.get_all(["id", "type", "timestamp", "identity", "data"]);
        Ok(Event {
            id: string_field(id, "id", "event.")?,
            type_: string_field(type_, "type", "event.")?,
            timestamp: string_field(timestamp, "timestamp", "event.")?,
            identity: string_field(identity, "identity", "event.")?,
            data: object_field(data, "data", "event.")?,
            raw: v,
        })
    }
}

/// The profile the journey runs for.
#[derive(Clone, Debug)]
pub struct Profile<'a> {
    pub id: Cow<'a, str>,
    pub attributes: Value<'a>,
    /// The whole profile object.
    pub raw: Value<'a>,
}

impl<'a> Profile<'a> {
    fn from_value(v: Value<'a>) -> Result<Profile<'a>, Error> {
        let [id, attributes] = v.get_all(["id", "attributes"]);
        Ok(Profile {
            id: string_field(id, "id", "profile.")?,
            attributes: object_field(attributes, "attributes", "profile.")?,
            raw: v,
        })
    }
}

/// The input of a condition: one profile at one step of a journey.
#[derive(Clone, Debug)]
pub struct ConditionInput<'a> {
    pub config: Value<'a>,
    pub event: Event<'a>,
    pub profile: Profile<'a>,
    pub vars: Value<'a>,
    /// The evaluation's time (RFC 3339): use it rather than the wall clock.
    pub now: Cow<'a, str>,
    /// The input object; in a batch, this item's object (which has no config or now).
    pub raw: Value<'a>,
}

impl<'a> ConditionInput<'a> {
    /// Reads a condition input (ABI.md, "condition"), e.g. in a plugin's native unit tests:
    /// `ConditionInput::from_value(Document::parse(text)?.root())`.
    pub fn from_value(v: Value<'a>) -> Result<ConditionInput<'a>, Error> {
        if !v.is_object() {
            return Err(Error::invalid_input("input is not a JSON object"));
        }
        Self::from_parts(v, v)
    }

    /// Assembles an input from the shared parts and one item's parts (the batch input keeps
    /// `config` and `now` once and the rest per item).
    pub(crate) fn from_parts(shared: Value<'a>, item: Value<'a>) -> Result<ConditionInput<'a>, Error> {
        // One pass over the input when it is a single call's (shared and item are the root).
        let (config, now, event, profile, vars) = if shared.same(&item) {
            let [c, n, e, p, v] = shared.get_all(["config", "now", "event", "profile", "vars"]);
            (c, n, e, p, v)
        } else {
            let [c, n] = shared.get_all(["config", "now"]);
            let [e, p, v] = item.get_all(["event", "profile", "vars"]);
            (c, n, e, p, v)
        };
        Ok(ConditionInput {
            config: object_field(config, "config", "")?,
            event: Event::from_value(object_field(event, "event", "")?)?,
            profile: Profile::from_value(object_field(profile, "profile", "")?)?,
            vars: object_field(vars, "vars", "")?,
            now: string_field(now, "now", "")?,
            raw: item,
        })
    }
}

/// The answer of a condition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConditionOutput {
    pub result: bool,
    /// Why, shown in traces: keep it short (`"points 1200 >= 1000"`).
    pub reason: Option<String>,
}

impl ConditionOutput {
    pub fn new(result: bool) -> ConditionOutput {
        ConditionOutput { result, reason: None }
    }

    pub fn with_reason(result: bool, reason: impl Into<String>) -> ConditionOutput {
        ConditionOutput { result, reason: Some(reason.into()) }
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.result { b"{\"result\":true" } else { b"{\"result\":false" });
        if let Some(r) = &self.reason {
            out.extend_from_slice(b",\"reason\":");
            json::write_str(out, r);
        }
        out.push(b'}');
    }
}

/// The input of a data source: a group and its parameters.
#[derive(Clone, Debug)]
pub struct DatasourceInput<'a> {
    pub config: Value<'a>,
    pub group: Cow<'a, str>,
    pub params: Value<'a>,
    /// The whole input object.
    pub raw: Value<'a>,
}

impl<'a> DatasourceInput<'a> {
    /// Reads a data-source input (ABI.md, "datasource").
    pub fn from_value(v: Value<'a>) -> Result<DatasourceInput<'a>, Error> {
        let [config, group, params] = v.get_all(["config", "group", "params"]);
        Ok(DatasourceInput {
            config: object_field(config, "config", "")?,
            group: string_field(group, "group", "")?,
            params: object_field(params, "params", "")?,
            raw: v,
        })
    }
}

/// The answer of a data source: the group's fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasourceOutput {
    pub fields: Vec<(String, Json)>,
}

impl DatasourceOutput {
    pub fn new() -> DatasourceOutput {
        DatasourceOutput::default()
    }

    /// Adds a field; for chaining.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Json>) -> DatasourceOutput {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"fields\":{");
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_str(out, k);
            out.push(b':');
            v.write_to(out);
        }
        out.extend_from_slice(b"}}");
    }
}

/// The input of an action.
#[derive(Clone, Debug)]
pub struct ActionInput<'a> {
    pub config: Value<'a>,
    /// The same for every attempt of one logical call: pass it upstream so retries never
    /// duplicate.
    pub idempotency_key: Cow<'a, str>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The action's rendered payload template.
    pub payload: Value<'a>,
    pub profile: Profile<'a>,
    /// The whole input object.
    pub raw: Value<'a>,
}

impl<'a> ActionInput<'a> {
    /// Reads an action input (ABI.md, "action").
    pub fn from_value(v: Value<'a>) -> Result<ActionInput<'a>, Error> {
        let [config, key, attempt, payload, profile] =
            v.get_all(["config", "idempotencyKey", "attempt", "payload", "profile"]);
        let attempt = match attempt.kind() {
            None | Some(Kind::Null) => 1,
            _ => match attempt.as_i64() {
                Some(n) if (0..=u32::MAX as i64).contains(&n) => n as u32,
                _ => return Err(Error::invalid_input("attempt must be a non-negative integer")),
            },
        };
        Ok(ActionInput {
            config: object_field(config, "config", "")?,
            idempotency_key: string_field(key, "idempotencyKey", "")?,
            attempt,
            payload,
            profile: Profile::from_value(object_field(profile, "profile", "")?)?,
            raw: v,
        })
    }
}

/// The answer of an action.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionOutput {
    pub ok: bool,
    /// Kept in the action's report as its last response.
    pub data: Option<Json>,
}

impl Default for ActionOutput {
    fn default() -> ActionOutput {
        ActionOutput { ok: true, data: None }
    }
}

impl ActionOutput {
    pub fn ok() -> ActionOutput {
        ActionOutput::default()
    }

    pub fn with_data(data: impl Into<Json>) -> ActionOutput {
        ActionOutput { ok: true, data: Some(data.into()) }
    }

    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.ok { b"{\"ok\":true" } else { b"{\"ok\":false" });
        if let Some(d) = &self.data {
            out.extend_from_slice(b",\"data\":");
            d.write_to(out);
        }
        out.push(b'}');
    }
}
