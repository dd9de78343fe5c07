// What every handler call shares: the per-instance output buffer, error reporting and the
// fields common to several kinds.

import { ByteBuffer, packOutput } from "./buffer";
import { ErrorCode, reportError, trimHostBuffers } from "./host";
import { Value, lastJSONError, parseBytes } from "./json";

/**
 * The output of the current call. It is reset when the next call starts, not when this one
 * returns, because the host reads it after the handler returns (sdk/ABI.md, "One call").
 */
export const out = new ByteBuffer();

/** Starts a call: the previous output is no longer needed. */
export function beginCall(): void {
  out.reset();
  out.shrink(64 << 10);
}

/** Ends a failed call: reports the error and returns 0, as the ABI wants. */
export function failCall(code: i32, message: string): u64 {
  if (code < ErrorCode.InvalidInput || code > ErrorCode.Rejected) {
    message = "error code " + code.toString() + " is not an ABI error code: " + message;
    code = ErrorCode.Internal;
  }
  reportError(code, message);
  trimHostBuffers();
  return 0;
}

/** Ends a successful call: returns the packed output. */
export function finishCall(): u64 {
  trimHostBuffers();
  return packOutput(out);
}

/** Parses the host's input buffer into an object; null after reporting invalid_input. */
export function parseInput(ptr: usize, len: usize): Value | null {
  const v = parseBytes(ptr, len);
  if (v == null) {
    reportError(ErrorCode.InvalidInput, "input is not valid JSON: " + lastJSONError());
    return null;
  }
  if (!v.isObject) {
    reportError(ErrorCode.InvalidInput, "input is not a JSON object");
    return null;
  }
  return v;
}

/** A member that must be an object when present; an empty object when absent or null. */
export function objectField(v: Value, key: string): Value {
  const f = v.getObject(key);
  return f != null ? f : Value.obj();
}

/** A member as a string; "" when absent or not a string. */
export function stringField(v: Value, key: string): string {
  const s = v.getString(key);
  return s != null ? s : "";
}

/** An event as the host sends it to conditions (sdk/ABI.md, "condition"). */
export class Event {
  constructor(
    public id: string,
    public type: string,
    /** RFC 3339. */
    public timestamp: string,
    public identity: string,
    /** The event's data (an object). */
    public data: Value,
    /** The whole event object, for fields this SDK does not name. */
    public raw: Value,
  ) {}

  /** Reads an event object; missing or mistyped fields read as "" and {}. */
  static from(v: Value | null): Event {
    if (v == null || !v.isObject) return new Event("", "", "", "", Value.obj(), Value.obj());
    return new Event(
      stringField(v, "id"), stringField(v, "type"), stringField(v, "timestamp"),
      stringField(v, "identity"), objectField(v, "data"), v,
    );
  }
}

/** A profile as the host sends it. */
export class Profile {
  constructor(
    public id: string,
    /** The profile's attributes (an object). */
    public attributes: Value,
    /** The whole profile object, for fields this SDK does not name. */
    public raw: Value,
  ) {}

  /** Reads a profile object; missing or mistyped fields read as "" and {}. */
  static from(v: Value | null): Profile {
    if (v == null || !v.isObject) return new Profile("", Value.obj(), Value.obj());
    return new Profile(stringField(v, "id"), objectField(v, "attributes"), v);
  }
}
