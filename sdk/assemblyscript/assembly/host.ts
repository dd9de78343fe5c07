// The host functions (import module "wayline", sdk/ABI.md "Host functions") as ordinary
// functions. Byte arguments go through a scratch buffer and results come back through
// take_result into another, so a host call allocates only the strings it returns.

import { ByteBuffer } from "./buffer";
import { Value, parseBytes, writeValue } from "./json";
import {
  wl_log, wl_error, wl_now_unix_nano, wl_config_get, wl_secret_get, wl_kv_get, wl_kv_set,
  wl_kv_delete, wl_http_request, wl_take_result,
} from "./imports";

// ---- codes (sdk/ABI.md; ONLY APPEND) ----

/** Error codes a handler reports (the `error` import). */
export enum ErrorCode {
  /** The input was not what the plugin expects. Not retried. */
  InvalidInput = 1,
  /** The config is wrong. Not retried. */
  InvalidConfig = 2,
  /** A system the plugin called failed. Actions are retried with backoff. */
  Upstream = 3,
  /** A bug in the plugin. Not retried. */
  Internal = 4,
  /** The upstream refused the request for good. Actions are dead-lettered at once. */
  Rejected = 5,
}

/** Negative statuses that host functions return. */
export enum Status {
  OK = 0,
  NotFound = -1,
  Denied = -2,
  Limit = -3,
  Failed = -4,
  Invalid = -5,
  Unavailable = -6,
}

/** The name of a host status, for messages. */
export function statusName(status: i32): string {
  switch (status) {
    case Status.OK: return "ok";
    case Status.NotFound: return "not_found";
    case Status.Denied: return "denied";
    case Status.Limit: return "limit";
    case Status.Failed: return "failed";
    case Status.Invalid: return "invalid";
    case Status.Unavailable: return "unavailable";
  }
  return "status " + status.toString();
}

/** Log levels of the `log` import. */
export enum LogLevel {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

// Arguments are encoded here; results are copied out of the result slot into `result`.
const args = new ByteBuffer();
const args2 = new ByteBuffer();
const result = new ByteBuffer();

// The longest failure message read from the result slot.
const MAX_MESSAGE: usize = 4096;

let lastStatusValue: i32 = 0;
let lastMessageValue = "";

/**
 * The status of the last host call made through this module: 0, or a negative Status
 * (for httpRequest, see HttpResponse.status instead).
 */
export function lastStatus(): i32 {
  return lastStatusValue;
}

/** The host's message when the last call answered a negative status other than NotFound. */
export function lastMessage(): string {
  return lastMessageValue;
}

function record(status: i32): void {
  lastStatusValue = status;
  lastMessageValue = "";
  if (status < 0 && status != Status.NotFound) {
    // The host leaves a message in the result slot with a failure (sdk/ABI.md says so of
    // `failed`); its length is not returned, so take up to MAX_MESSAGE bytes, which also
    // clears the slot.
    result.reset();
    result.reserve(MAX_MESSAGE);
    const n = wl_take_result(result.ptr, MAX_MESSAGE);
    if (n > 0) lastMessageValue = String.UTF8.decodeUnsafe(result.ptr, <usize>n);
  }
}

// Copies the n bytes of the result slot into `result`; false (status recorded) on a host error.
function take(n: i32): bool {
  result.reset();
  if (n == 0) return true;
  result.reserve(<usize>n);
  const got = wl_take_result(result.ptr, <usize>n);
  if (got < 0) {
    record(got);
    return false;
  }
  result.len = <usize>got;
  return true;
}

// ---- logging and errors ----

/** Writes a log line (shown by `wayline plugin test` and in the node's log). */
export function log(level: LogLevel, message: string): void {
  args.reset();
  args.utf8(message);
  wl_log(level, args.ptr, args.len);
}

export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }

/**
 * Reports that this call failed. Handlers normally return a failed result (ActionResult.fail and
 * friends) and let the SDK call this; it is exported for plugins that drive the ABI themselves.
 */
export function reportError(code: i32, message: string): void {
  args.reset();
  args.utf8(message);
  wl_error(code, args.ptr, args.len);
}

// ---- clock ----

/** The host's wall clock in nanoseconds since 1970 (UTC). */
export function now(): i64 {
  return wl_now_unix_nano();
}

/** The host's wall clock in milliseconds since 1970 (UTC). */
export function nowMillis(): i64 {
  return wl_now_unix_nano() / 1000000;
}

// ---- config and secrets ----

/**
 * The JSON value of one top-level key of this call's config, asked of the host; null when absent
 * (lastStatus() says why). Handlers usually read input.config instead, which needs no call.
 */
export function configGet(key: string): Value | null {
  args.reset();
  args.utf8(key);
  const n = wl_config_get(args.ptr, args.len);
  if (n < 0) {
    record(n);
    return null;
  }
  if (!take(n)) return null;
  record(0);
  const v = parseBytes(result.ptr, result.len);
  if (v == null) lastStatusValue = Status.Invalid;
  return v;
}

/** A secret set on the plugin installation; null when not set (lastStatus() says why). */
export function secretGet(name: string): string | null {
  args.reset();
  args.utf8(name);
  const n = wl_secret_get(args.ptr, args.len);
  if (n < 0) {
    record(n);
    return null;
  }
  if (!take(n)) return null;
  record(0);
  return result.toString();
}

// ---- key-value store ----

/** The value under key as a string (UTF-8); null when absent or on error (see lastStatus()). */
export function kvGet(key: string): string | null {
  if (!kvGetRaw(key)) return null;
  return result.toString();
}

/** The value under key as bytes; null when absent or on error (see lastStatus()). */
export function kvGetBytes(key: string): Uint8Array | null {
  if (!kvGetRaw(key)) return null;
  const out = new Uint8Array(<i32>result.len);
  memory.copy(out.dataStart, result.ptr, result.len);
  return out;
}

/** The value under key parsed as JSON; null when absent, on error or when not JSON. */
export function kvGetJSON(key: string): Value | null {
  if (!kvGetRaw(key)) return null;
  const v = parseBytes(result.ptr, result.len);
  if (v == null) lastStatusValue = Status.Invalid;
  return v;
}

function kvGetRaw(key: string): bool {
  args.reset();
  args.utf8(key);
  const n = wl_kv_get(args.ptr, args.len);
  if (n < 0) {
    record(n);
    return false;
  }
  if (!take(n)) return false;
  record(0);
  return true;
}

/** Stores a string (as UTF-8) under key; returns 0 or a negative Status. */
export function kvSet(key: string, value: string): i32 {
  args.reset();
  args.utf8(key);
  args2.reset();
  args2.utf8(value);
  const st = wl_kv_set(args.ptr, args.len, args2.ptr, args2.len);
  record(st < 0 ? st : 0);
  return st;
}

/** Stores bytes under key; returns 0 or a negative Status. */
export function kvSetBytes(key: string, value: Uint8Array): i32 {
  args.reset();
  args.utf8(key);
  const st = wl_kv_set(args.ptr, args.len, value.dataStart, <usize>value.byteLength);
  record(st < 0 ? st : 0);
  return st;
}

/** Stores a JSON value under key; returns 0 or a negative Status. */
export function kvSetJSON(key: string, value: Value): i32 {
  return kvSet(key, value.toString());
}

/** Deletes key; returns 0 or a negative Status. */
export function kvDelete(key: string): i32 {
  args.reset();
  args.utf8(key);
  const st = wl_kv_delete(args.ptr, args.len);
  record(st < 0 ? st : 0);
  return st;
}

// ---- HTTP ----

/** An outbound HTTP request, sent with httpRequest(). */
export class HttpRequest {
  method: string;
  url: string;
  /** Header names and values (a JSON object of strings). */
  headers: Value = Value.obj();
  /** The body, sent as UTF-8 text; "" for none. json() sets a JSON body in its place. */
  body: string = "";
  private jsonBody: Value | null = null;

  constructor(method: string, url: string) {
    this.method = method;
    this.url = url;
  }

  /** Sets a header; returns this for chaining. */
  header(name: string, value: string): HttpRequest {
    this.headers.setString(name, value);
    return this;
  }

  /** Sets the body; returns this for chaining. */
  text(body: string): HttpRequest {
    this.body = body;
    this.jsonBody = null;
    return this;
  }

  /**
   * Sets the body to v as JSON (written when the request is sent) and Content-Type to
   * application/json unless one is set; returns this.
   */
  json(v: Value): HttpRequest {
    this.jsonBody = v;
    this.body = "";
    if (!this.hasHeader("Content-Type")) this.header("Content-Type", "application/json");
    return this;
  }

  /** The JSON body set by json(); null otherwise. */
  get jsonValue(): Value | null {
    return this.jsonBody;
  }

  private hasHeader(name: string): bool {
    const want = name.toLowerCase();
    for (let i = 0; i < this.headers.length; i++) {
      if (this.headers.keyAt(i).toLowerCase() == want) return true;
    }
    return false;
  }
}

/** What httpRequest() answers. */
export class HttpResponse {
  /**
   * The HTTP status (100..599), or a negative host Status when no response came: Denied (host not
   * in allowedHosts or address refused), Limit (too many requests in this call), Failed (network
   * error or timeout; see error), Invalid.
   */
  status: i32 = 0;
  /** Response headers (a JSON object). */
  headers: Value = Value.obj();
  /** The response body as text. */
  body: string = "";
  /** Why no response came, when status < 0: the host's message, or the status's name. */
  error: string = "";

  /** A 2xx status. */
  get ok(): bool {
    return this.status >= 200 && this.status < 300;
  }

  /** A header's value by case-insensitive name; null when absent. */
  header(name: string): string | null {
    const want = name.toLowerCase();
    for (let i = 0; i < this.headers.length; i++) {
      if (this.headers.keyAt(i).toLowerCase() == want) {
        const v = this.headers.at(i)!;
        if (v.isString) return v.asString();
        if (v.isArray && v.length > 0) return v.at(0)!.asString();
        return null;
      }
    }
    return null;
  }

  /** The body parsed as JSON; null when it is not JSON. */
  json(): Value | null {
    const b = new ByteBuffer();
    b.utf8(this.body);
    const v = parseBytes(b.ptr, b.len);
    heap.free(b.ptr);
    return v;
  }
}

/** Sends an HTTP request through the host's client (subject to the manifest's allowedHosts). */
export function httpRequest(req: HttpRequest): HttpResponse {
  args.reset();
  args.ascii('{"method":');
  args.jsonString(req.method);
  args.ascii(',"url":');
  args.jsonString(req.url);
  args.ascii(',"headers":{');
  const h = req.headers;
  let first = true;
  for (let i = 0; i < h.length; i++) {
    const v = h.at(i)!;
    if (!v.isString) continue;
    if (!first) args.byte(0x2c);
    first = false;
    args.jsonString(h.keyAt(i));
    args.byte(0x3a);
    args.jsonString(v.asString());
  }
  args.byte(0x7d);
  const jsonBody = req.jsonValue;
  if (jsonBody != null) {
    // Written as JSON bytes, then quoted straight from them: no detour through a string.
    args2.reset();
    writeValue(args2, jsonBody);
    args.ascii(',"body":');
    args.jsonStringBytes(args2.ptr, args2.len);
  } else if (req.body.length > 0) {
    args.ascii(',"body":');
    args.jsonString(req.body);
  }
  args.byte(0x7d);

  const resp = new HttpResponse();
  const n = wl_http_request(args.ptr, args.len);
  if (n < 0) {
    record(n);
    resp.status = n;
    resp.error = lastMessageValue.length > 0 ? lastMessageValue : statusName(n);
    return resp;
  }
  if (!take(n)) {
    resp.status = lastStatusValue;
    resp.error = "take_result: " + statusName(lastStatusValue);
    return resp;
  }
  record(0);
  const v = parseBytes(result.ptr, result.len);
  if (v == null || !v.isObject) {
    resp.status = Status.Invalid;
    resp.error = "the host's response is not a JSON object";
    lastStatusValue = Status.Invalid;
    return resp;
  }
  resp.status = <i32>v.getInt("status", Status.Invalid);
  const headers = v.getObject("headers");
  if (headers != null) resp.headers = headers;
  const body = v.getString("body");
  if (body != null) resp.body = body;
  return resp;
}

/** Frees buffers a large call grew; the SDK calls it after each handler. */
export function trimHostBuffers(): void {
  args.reset();
  args2.reset();
  result.reset();
  args.shrink(64 << 10);
  args2.shrink(64 << 10);
  result.shrink(64 << 10);
}
