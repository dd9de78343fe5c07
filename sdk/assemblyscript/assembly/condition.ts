// Kind "condition": the one-item handler the author registers, and the batch handler the SDK
// builds on it (sdk/ABI.md, "condition").

import { ErrorCode } from "./host";
import { Value } from "./json";
import { Event, Profile, beginCall, failCall, finishCall, objectField, out, parseInput, stringField } from "./call";

/** The input of one condition evaluation. */
export class ConditionInput {
  constructor(
    /** The condition's config (an object). */
    public config: Value,
    public event: Event,
    public profile: Profile,
    /** The journey's variables (an object). */
    public vars: Value,
    /** The host's time of the evaluation (RFC 3339). */
    public now: string,
    /** The whole input object (for a batch, the item), for fields this SDK does not name. */
    public raw: Value,
  ) {}

  /** Reads a one-item input object (useful in tests: ConditionInput.from(parse(text)!)). */
  static from(v: Value): ConditionInput {
    return ConditionInput.item(v, objectField(v, "config"), stringField(v, "now"));
  }

  /** Reads one item of a batch, with the batch's shared config and now. */
  static item(v: Value, config: Value, now: string): ConditionInput {
    return new ConditionInput(config, Event.from(v.get("event")), Profile.from(v.get("profile")),
      objectField(v, "vars"), now, v);
  }
}

/** What a condition answers: a result and an optional reason, or an error. */
export class ConditionResult {
  result: bool = false;
  /** Shown in traces; "" for none. */
  reason: string = "";
  /** 0, or the ErrorCode of a failed evaluation. */
  code: i32 = 0;
  message: string = "";

  static of(result: bool, reason: string = ""): ConditionResult {
    const r = new ConditionResult();
    r.result = result;
    r.reason = reason;
    return r;
  }

  static yes(reason: string = ""): ConditionResult {
    return ConditionResult.of(true, reason);
  }

  static no(reason: string = ""): ConditionResult {
    return ConditionResult.of(false, reason);
  }

  /** A failed evaluation (in a batch, only this item fails). */
  static fail(code: ErrorCode, message: string): ConditionResult {
    const r = new ConditionResult();
    r.code = code;
    r.message = message;
    return r;
  }
}

export type ConditionHandler = (input: ConditionInput) => ConditionResult;

let handler: ConditionHandler | null = null;

/** Registers the plugin's condition; call it once at the top level of the entry file. */
export function registerCondition(h: ConditionHandler): void {
  handler = h;
}

const NO_HANDLER = "no condition handler registered: call registerCondition(...) at the top level of the entry file";

/** The body of the wayline_condition export. */
export function serveCondition(ptr: usize, len: usize): u64 {
  beginCall();
  const h = handler;
  if (h == null) return failCall(ErrorCode.Internal, NO_HANDLER);
  const v = parseInput(ptr, len);
  if (v == null) return 0;
  const r = h(ConditionInput.from(v));
  if (r.code != 0) return failCall(r.code, r.message);
  writeResult(r);
  return finishCall();
}

/** The body of the wayline_condition_batch export: one handler call per item. */
export function serveConditionBatch(ptr: usize, len: usize): u64 {
  beginCall();
  const h = handler;
  if (h == null) return failCall(ErrorCode.Internal, NO_HANDLER);
  const v = parseInput(ptr, len);
  if (v == null) return 0;
  const items = v.getArray("items");
  if (items == null) return failCall(ErrorCode.InvalidInput, "batch input has no items array");
  const config = objectField(v, "config");
  const now = stringField(v, "now");
  out.ascii('{"results":[');
  const n = items.length;
  for (let i = 0; i < n; i++) {
    if (i > 0) out.byte(0x2c);
    const item = items.at(i)!;
    if (!item.isObject) {
      writeError(ErrorCode.InvalidInput, "item " + i.toString() + " is not an object");
      continue;
    }
    const r = h(ConditionInput.item(item, config, now));
    if (r.code != 0) {
      let code = r.code;
      let message = r.message;
      if (code < ErrorCode.InvalidInput || code > ErrorCode.Rejected) {
        message = "error code " + code.toString() + " is not an ABI error code: " + message;
        code = ErrorCode.Internal;
      }
      writeError(code, message);
    } else {
      writeResult(r);
    }
  }
  out.ascii("]}");
  return finishCall();
}

function writeResult(r: ConditionResult): void {
  out.ascii(r.result ? '{"result":true' : '{"result":false');
  if (r.reason.length > 0) {
    out.ascii(',"reason":');
    out.jsonString(r.reason);
  }
  out.byte(0x7d);
}

function writeError(code: i32, message: string): void {
  out.ascii('{"error":{"code":');
  out.int(code);
  out.ascii(',"message":');
  out.jsonString(message);
  out.ascii("}}");
}
