// JSON values, a strict parser and a writer.
//
// Written here rather than taken from npm because AssemblyScript has no exceptions: a parser that
// aborts on bad input would trap the plugin, and the ABI wants malformed input answered with an
// invalid_input error. parse() returns null instead and lastJSONError() says why.
//
// The parser reads UTF-8 straight from linear memory (the host's input buffer), checks RFC 8259
// grammar and UTF-8, and copies every string out, so nothing points into the input afterwards.

import { ByteBuffer } from "./buffer";

/** What a Value holds. */
export enum Kind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** Nesting deeper than this is refused as malformed (it would exhaust the stack). */
export const MAX_DEPTH: i32 = 200;

/**
 * One JSON value. Objects keep their keys in order; a repeated key is kept, and get() answers
 * the last one (as Go's encoding/json does).
 */
export class Value {
  private k: Kind = Kind.Null;
  private b: bool = false;
  private n: f64 = 0;
  private s: string = "";
  // Items of an array, or values of an object, in slots [0, count); keys of an object beside them.
  // Allocated on the first member, so an empty array or object is one object.
  private vals: StaticArray<Value | null> | null = null;
  private keys_: StaticArray<string | null> | null = null;
  private count: i32 = 0;

  // ---- construction ----

  static nil(): Value {
    return new Value();
  }

  static bool(b: bool): Value {
    const v = new Value();
    v.k = Kind.Bool;
    v.b = b;
    return v;
  }

  static num(n: f64): Value {
    const v = new Value();
    v.k = Kind.Number;
    v.n = n;
    return v;
  }

  static str(s: string): Value {
    const v = new Value();
    v.k = Kind.String;
    v.s = s;
    return v;
  }

  /** A new empty array. */
  static arr(): Value {
    const v = new Value();
    v.k = Kind.Array;
    return v;
  }

  /** A new empty object. */
  static obj(): Value {
    const v = new Value();
    v.k = Kind.Object;
    return v;
  }

  // ---- kind tests ----

  /** What this value holds. */
  get kind(): Kind { return this.k; }

  get isNull(): bool { return this.k == Kind.Null; }
  get isBool(): bool { return this.k == Kind.Bool; }
  get isNumber(): bool { return this.k == Kind.Number; }
  get isString(): bool { return this.k == Kind.String; }
  get isArray(): bool { return this.k == Kind.Array; }
  get isObject(): bool { return this.k == Kind.Object; }

  // ---- scalars (a fallback when the kind differs) ----

  asBool(fallback: bool = false): bool {
    return this.k == Kind.Bool ? this.b : fallback;
  }

  asNumber(fallback: f64 = 0): f64 {
    return this.k == Kind.Number ? this.n : fallback;
  }

  /** The number as an integer, when it is one that fits; otherwise fallback. */
  asInt(fallback: i64 = 0): i64 {
    if (this.k != Kind.Number) return fallback;
    const n = this.n;
    if (n != Math.trunc(n) || Math.abs(n) > 9007199254740992.0) return fallback;
    return <i64>n;
  }

  asString(fallback: string = ""): string {
    return this.k == Kind.String ? this.s : fallback;
  }

  // ---- arrays and objects ----

  /** Items of an array or members of an object; 0 for scalars. */
  get length(): i32 {
    return this.count;
  }

  /** The i-th item of an array (or value of an object); null when out of range. */
  at(i: i32): Value | null {
    if (i < 0 || i >= this.count) return null;
    return unchecked(this.vals![i]);
  }

  /** The i-th key of an object; "" otherwise. */
  keyAt(i: i32): string {
    const keys = this.keys_;
    if (keys == null || i < 0 || i >= this.count) return "";
    return unchecked(keys[i])!;
  }

  /** The keys of an object, in order (a copy); empty otherwise. */
  keys(): Array<string> {
    const out = new Array<string>();
    const keys = this.keys_;
    if (keys != null) {
      for (let i = 0; i < this.count; i++) out.push(unchecked(keys[i])!);
    }
    return out;
  }

  has(key: string): bool {
    return this.indexOf(key) >= 0;
  }

  /** The member of an object named key; null when absent or not an object. */
  get(key: string): Value | null {
    const i = this.indexOf(key);
    return i < 0 ? null : unchecked(this.vals![i]);
  }

  /** The member's string, or null when absent or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v != null && v.k == Kind.String ? v.s : null;
  }

  getNumber(key: string, fallback: f64 = 0): f64 {
    const v = this.get(key);
    return v != null ? v.asNumber(fallback) : fallback;
  }

  getInt(key: string, fallback: i64 = 0): i64 {
    const v = this.get(key);
    return v != null ? v.asInt(fallback) : fallback;
  }

  getBool(key: string, fallback: bool = false): bool {
    const v = this.get(key);
    return v != null ? v.asBool(fallback) : fallback;
  }

  /** The member when it is an object; null otherwise. */
  getObject(key: string): Value | null {
    const v = this.get(key);
    return v != null && v.k == Kind.Object ? v : null;
  }

  /** The member when it is an array; null otherwise. */
  getArray(key: string): Value | null {
    const v = this.get(key);
    return v != null && v.k == Kind.Array ? v : null;
  }

  private indexOf(key: string): i32 {
    const keys = this.keys_;
    if (keys == null) return -1;
    for (let i = this.count - 1; i >= 0; i--) {
      if (unchecked(keys[i])! == key) return i;
    }
    return -1;
  }

  /** Sets a member of an object (replacing one of the same key); ignored on other kinds. */
  set(key: string, v: Value): Value {
    if (this.k != Kind.Object) return this;
    const i = this.indexOf(key);
    if (i >= 0) {
      unchecked((this.vals![i] = v));
      return this;
    }
    return this.add(key, v);
  }

  /** Appends a member without looking for one of the same key (the parser keeps them all). */
  add(key: string, v: Value): Value {
    if (this.k != Kind.Object) return this;
    this.reserve(this.count + 1);
    unchecked((this.keys_![this.count] = key));
    unchecked((this.vals![this.count] = v));
    this.count++;
    return this;
  }

  setString(key: string, s: string): Value { return this.set(key, Value.str(s)); }
  setNumber(key: string, n: f64): Value { return this.set(key, Value.num(n)); }
  setBool(key: string, b: bool): Value { return this.set(key, Value.bool(b)); }
  setNull(key: string): Value { return this.set(key, Value.nil()); }

  /** Removes every member of an object named key; answers whether there was one. */
  remove(key: string): bool {
    let found = false;
    let i = this.indexOf(key);
    while (i >= 0) {
      const keys = this.keys_!;
      const vals = this.vals!;
      for (let j = i + 1; j < this.count; j++) {
        unchecked((keys[j - 1] = keys[j]));
        unchecked((vals[j - 1] = vals[j]));
      }
      this.count--;
      unchecked((keys[this.count] = null));
      unchecked((vals[this.count] = null));
      found = true;
      i = this.indexOf(key);
    }
    return found;
  }

  /** Appends to an array; ignored on other kinds. */
  push(v: Value): Value {
    if (this.k != Kind.Array) return this;
    this.reserve(this.count + 1);
    unchecked((this.vals![this.count] = v));
    this.count++;
    return this;
  }

  private reserve(n: i32): void {
    const vals = this.vals;
    const cap = vals == null ? 0 : vals.length;
    if (n <= cap) return;
    let c = cap < 4 ? 4 : cap << 1;
    if (c < n) c = n;
    const nv = new StaticArray<Value | null>(c);
    for (let i = 0; i < this.count; i++) unchecked((nv[i] = vals![i]));
    this.vals = nv;
    if (this.k == Kind.Object) {
      const keys = this.keys_;
      const nk = new StaticArray<string | null>(c);
      for (let i = 0; i < this.count; i++) unchecked((nk[i] = keys![i]));
      this.keys_ = nk;
    }
  }

  // Builds a container from the parser's stacks: exactly sized, one allocation per array.
  static fromStack(kind: Kind, vals: Array<Value>, valBase: i32, keys: Array<string>, keyBase: i32): Value {
    const v = new Value();
    v.k = kind;
    const n = vals.length - valBase;
    if (n > 0) {
      const nv = new StaticArray<Value | null>(n);
      for (let i = 0; i < n; i++) unchecked((nv[i] = vals[valBase + i]));
      v.vals = nv;
      if (kind == Kind.Object) {
        const nk = new StaticArray<string | null>(n);
        for (let i = 0; i < n; i++) unchecked((nk[i] = keys[keyBase + i]));
        v.keys_ = nk;
      }
      v.count = n;
    }
    return v;
  }

  /** The JSON text of this value. */
  toString(): string {
    const b = new ByteBuffer();
    writeValue(b, this);
    const s = b.toString();
    heap.free(b.ptr);
    return s;
  }
}

/**
 * A number as JSON writes it: integers without a fraction ("1200", where f64.toString() gives
 * "1200.0"), NaN and infinities as "null".
 */
export function formatNumber(n: f64): string {
  const b = new ByteBuffer();
  b.number(n);
  const s = b.toString();
  heap.free(b.ptr);
  return s;
}

/** Writes v as JSON. */
export function writeValue(b: ByteBuffer, v: Value): void {
  switch (v.kind) {
    case Kind.Null: b.ascii("null"); break;
    case Kind.Bool: b.ascii(v.asBool() ? "true" : "false"); break;
    case Kind.Number: b.number(v.asNumber()); break;
    case Kind.String: b.jsonString(v.asString()); break;
    case Kind.Array: {
      b.byte(0x5b);
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) b.byte(0x2c);
        writeValue(b, v.at(i)!);
      }
      b.byte(0x5d);
      break;
    }
    case Kind.Object: {
      b.byte(0x7b);
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) b.byte(0x2c);
        b.jsonString(v.keyAt(i));
        b.byte(0x3a);
        writeValue(b, v.at(i)!);
      }
      b.byte(0x7d);
      break;
    }
  }
}

// ---- parsing ----

// parse() is not re-entrant (nothing it calls parses), so one parser serves every call.

let lastError = "";

/** Why the last parse returned null. */
export function lastJSONError(): string {
  return lastError;
}

/** Parses JSON text; null (see lastJSONError) when it is not one valid JSON value. */
export function parse(text: string): Value | null {
  const b = new ByteBuffer();
  b.utf8(text);
  const v = parseBytes(b.ptr, b.len);
  heap.free(b.ptr);
  return v;
}

/** Parses len bytes of UTF-8 JSON at ptr; null (see lastJSONError) when malformed. */
export function parseBytes(ptr: usize, len: usize): Value | null {
  const p = parser;
  p.reset(ptr, len);
  p.skipSpace();
  const v = p.value(0);
  if (v == null) {
    lastError = p.err + " at byte " + p.errAt().toString();
    return null;
  }
  p.skipSpace();
  if (p.pos < p.end) {
    lastError = "unexpected data after the JSON value at byte " + (p.pos - p.start).toString();
    return null;
  }
  lastError = "";
  return v;
}

class Parser {
  start: usize = 0;
  pos: usize = 0;
  end: usize = 0;
  err: string = "";
  errPos: usize = 0;

  reset(ptr: usize, len: usize): void {
    this.start = ptr;
    this.pos = ptr;
    this.end = ptr + len;
    this.err = "";
    this.errPos = 0;
    stackVals.length = 0; // a failed parse may have left members behind
    stackKeys.length = 0;
  }

  errAt(): usize {
    return this.errPos - this.start;
  }

  fail(msg: string): Value | null {
    if (this.err.length == 0) {
      this.err = msg;
      this.errPos = this.pos;
    }
    return null;
  }

  @inline
  peek(): u32 {
    return this.pos < this.end ? <u32>load<u8>(this.pos) : 0xffffffff;
  }

  skipSpace(): void {
    while (this.pos < this.end) {
      const c = <u32>load<u8>(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  value(depth: i32): Value | null {
    const c = this.peek();
    switch (c) {
      case 0x7b: return this.object(depth + 1);
      case 0x5b: return this.array(depth + 1);
      case 0x22: {
        const s = this.string();
        return s == null ? null : stringValue(s);
      }
      // Scalars cannot be changed through a Value, so parsed ones can be shared.
      case 0x74: return this.literal("true", TRUE);
      case 0x66: return this.literal("false", FALSE);
      case 0x6e: return this.literal("null", NULL);
      case 0xffffffff: return this.fail("unexpected end of input");
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail("unexpected character '" + String.fromCharCode(c < 0x80 ? c : 0xfffd) + "'");
  }

  literal(word: string, v: Value): Value | null {
    const n = <usize>word.length;
    if (this.end - this.pos < n) return this.fail("invalid literal");
    for (let i: usize = 0; i < n; i++) {
      if (<u32>load<u8>(this.pos + i) != <u32>word.charCodeAt(<i32>i)) return this.fail("invalid literal");
    }
    this.pos += n;
    return v;
  }

  // Members are collected on shared stacks and copied into an exactly sized container at the end.
  object(depth: i32): Value | null {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.pos++; // {
    const valBase = stackVals.length;
    const keyBase = stackKeys.length;
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return Value.obj();
    }
    while (true) {
      if (this.peek() != 0x22) return this.fail("expected a string key");
      const k = this.string();
      if (k == null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      this.skipSpace();
      const v = this.value(depth);
      if (v == null) return null;
      stackKeys.push(k);
      stackVals.push(v);
      this.skipSpace();
      const c = this.peek();
      if (c == 0x2c) {
        this.pos++;
        this.skipSpace();
        continue;
      }
      if (c == 0x7d) {
        this.pos++;
        const o = Value.fromStack(Kind.Object, stackVals, valBase, stackKeys, keyBase);
        stackVals.length = valBase;
        stackKeys.length = keyBase;
        return o;
      }
      return this.fail("expected ',' or '}'");
    }
  }

  array(depth: i32): Value | null {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.pos++; // [
    const valBase = stackVals.length;
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return Value.arr();
    }
    while (true) {
      const v = this.value(depth);
      if (v == null) return null;
      stackVals.push(v);
      this.skipSpace();
      const c = this.peek();
      if (c == 0x2c) {
        this.pos++;
        this.skipSpace();
        continue;
      }
      if (c == 0x5d) {
        this.pos++;
        const a = Value.fromStack(Kind.Array, stackVals, valBase, stackKeys, 0);
        stackVals.length = valBase;
        return a;
      }
      return this.fail("expected ',' or ']'");
    }
  }

  number(): Value | null {
    const from = this.pos;
    let integral = true;
    if (this.peek() == 0x2d) this.pos++;
    let c = this.peek();
    if (c == 0x30) {
      this.pos++;
    } else if (c >= 0x31 && c <= 0x39) {
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    } else {
      return this.fail("invalid number");
    }
    if (this.peek() == 0x2e) {
      integral = false;
      this.pos++;
      if (!isDigit(<u8>this.peek())) return this.fail("invalid number: digits expected after '.'");
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    }
    c = this.peek();
    if (c == 0x65 || c == 0x45) {
      integral = false;
      this.pos++;
      c = this.peek();
      if (c == 0x2b || c == 0x2d) this.pos++;
      if (!isDigit(<u8>this.peek())) return this.fail("invalid number: digits expected in exponent");
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    }
    const n = this.pos - from;
    // Up to 15 digits are exact in an f64: add them up without a string.
    if (integral && n <= 16) {
      let p = from;
      const neg = load<u8>(p) == 0x2d;
      if (neg) p++;
      if (this.pos - p <= 15) {
        let v: f64 = 0;
        while (p < this.pos) {
          v = v * 10 + <f64>(<u32>load<u8>(p) - 0x30);
          p++;
        }
        return Value.num(neg ? -v : v);
      }
    }
    // The grammar is checked, so the text is plain ASCII that parseFloat reads exactly.
    return Value.num(parseFloat(String.UTF8.decodeUnsafe(from, n)));
  }

  // Reads a string literal at pos (on the opening quote); null on error.
  string(): string | null {
    this.pos++; // "
    // First pass: find the end, check escapes and UTF-8, count UTF-16 units.
    let p = this.pos;
    let units: usize = 0;
    let plain = true; // ASCII without escapes: copy by widening
    while (true) {
      if (p >= this.end) {
        this.pos = p;
        this.fail("unterminated string");
        return null;
      }
      const c = <u32>load<u8>(p);
      if (c == 0x22) break;
      if (c < 0x20) {
        this.pos = p;
        this.fail("control character in string");
        return null;
      }
      if (c == 0x5c) {
        plain = false;
        if (p + 1 >= this.end) {
          this.pos = p;
          this.fail("unterminated string");
          return null;
        }
        const e = <u32>load<u8>(p + 1);
        if (e == 0x75) {
          if (p + 6 > this.end || hex4(p + 2) < 0) {
            this.pos = p;
            this.fail("invalid \\u escape");
            return null;
          }
          p += 6;
        } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
          p += 2;
        } else {
          this.pos = p;
          this.fail("invalid escape");
          return null;
        }
        units++;
        continue;
      }
      if (c < 0x80) {
        p++;
        units++;
        continue;
      }
      plain = false;
      const w = utf8Width(p, this.end);
      if (w == 0) {
        this.pos = p;
        this.fail("invalid UTF-8 in string");
        return null;
      }
      units += w == 4 ? 2 : 1;
      p += w;
    }
    const close = p;
    if (plain && units <= INTERN_MAX) {
      this.pos = close + 1;
      return intern(this.pos - 1 - <usize>units, <i32>units);
    }
    const out = __new(units << 1, idof<string>());
    p = this.pos;
    let q = out;
    if (plain) {
      while (p < close) {
        store<u16>(q, <u16>load<u8>(p));
        p++;
        q += 2;
      }
    } else {
      while (p < close) {
        let c = <u32>load<u8>(p);
        if (c == 0x5c) {
          const e = <u32>load<u8>(p + 1);
          let u: u32 = 0;
          switch (e) {
            case 0x62: u = 0x08; break;
            case 0x66: u = 0x0c; break;
            case 0x6e: u = 0x0a; break;
            case 0x72: u = 0x0d; break;
            case 0x74: u = 0x09; break;
            case 0x75: u = <u32>hex4(p + 2); break; // a surrogate pair arrives as two escapes
            default: u = e; // " \ /
          }
          store<u16>(q, <u16>u);
          q += 2;
          p += e == 0x75 ? 6 : 2;
        } else if (c < 0x80) {
          store<u16>(q, <u16>c);
          q += 2;
          p++;
        } else if (c < 0xe0) {
          store<u16>(q, <u16>(((c & 0x1f) << 6) | (<u32>load<u8>(p + 1) & 0x3f)));
          q += 2;
          p += 2;
        } else if (c < 0xf0) {
          store<u16>(q, <u16>(((c & 0x0f) << 12) | ((<u32>load<u8>(p + 1) & 0x3f) << 6) | (<u32>load<u8>(p + 2) & 0x3f)));
          q += 2;
          p += 3;
        } else {
          const cp = (((c & 0x07) << 18) | ((<u32>load<u8>(p + 1) & 0x3f) << 12) |
            ((<u32>load<u8>(p + 2) & 0x3f) << 6) | (<u32>load<u8>(p + 3) & 0x3f)) - 0x10000;
          store<u16>(q, <u16>(0xd800 | (cp >> 10)));
          store<u16>(q + 2, <u16>(0xdc00 | (cp & 0x3ff)));
          q += 4;
          p += 4;
        }
      }
    }
    this.pos = close + 1;
    return changetype<string>(out);
  }
}

const parser = new Parser();
const stackVals = new Array<Value>();
const stackKeys = new Array<string>();

// Short ASCII strings (keys above all, and values such as "action") repeat from call to call:
// a small direct-mapped cache hands back the same immutable string instead of a new one.
const INTERN_MAX: usize = 24;
const INTERN_SLOTS: u32 = 512;
const interned = new StaticArray<string | null>(<i32>INTERN_SLOTS);

const TRUE = Value.bool(true);
const FALSE = Value.bool(false);
const NULL = Value.nil();

// Values of interned strings, by the string's address (an interned string is one object, and a
// cached Value keeps it alive, so equal addresses mean the same string).
const VALUE_SLOTS: u32 = 256;
const stringValues = new StaticArray<Value | null>(<i32>VALUE_SLOTS);

function stringValue(s: string): Value {
  if (<usize>s.length > INTERN_MAX) return Value.str(s);
  const slot = <i32>((<u32>changetype<usize>(s) >> 4) & (VALUE_SLOTS - 1));
  const hit = unchecked(stringValues[slot]);
  if (hit != null && changetype<usize>(hit.asString()) == changetype<usize>(s)) return hit;
  const v = Value.str(s);
  unchecked((stringValues[slot] = v));
  return v;
}

function intern(p: usize, n: i32): string {
  let h: u32 = 2166136261;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 16777619;
  const slot = <i32>(h & (INTERN_SLOTS - 1));
  const hit = unchecked(interned[slot]);
  if (hit != null && hit.length == n) {
    const q = changetype<usize>(hit);
    let same = true;
    for (let i = 0; i < n; i++) {
      if (<u32>load<u16>(q + (<usize>i << 1)) != <u32>load<u8>(p + <usize>i)) {
        same = false;
        break;
      }
    }
    if (same) return hit;
  }
  const out = __new(<usize>n << 1, idof<string>());
  for (let i = 0; i < n; i++) store<u16>(out + (<usize>i << 1), <u16>load<u8>(p + <usize>i));
  const s = changetype<string>(out);
  unchecked((interned[slot] = s));
  return s;
}

@inline
function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

// The value of 4 hex digits at p, or -1.
function hex4(p: usize): i32 {
  let v = 0;
  for (let i: usize = 0; i < 4; i++) {
    const c = <i32>load<u8>(p + i);
    let d: i32;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

// The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
function utf8Width(p: usize, end: usize): usize {
  const c = <u32>load<u8>(p);
  const left = end - p;
  if (c >= 0xc2 && c <= 0xdf) {
    return left >= 2 && isCont(p + 1) ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (left < 3 || !isCont(p + 1) || !isCont(p + 2)) return 0;
    const c1 = <u32>load<u8>(p + 1);
    if (c == 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c == 0xed && c1 >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (left < 4 || !isCont(p + 1) || !isCont(p + 2) || !isCont(p + 3)) return 0;
    const c1 = <u32>load<u8>(p + 1);
    if (c == 0xf0 && c1 < 0x90) return 0; // overlong
    if (c == 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

@inline
function isCont(p: usize): bool {
  return (<u32>load<u8>(p) & 0xc0) == 0x80;
}
