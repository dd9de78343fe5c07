// Kind "action" (sdk/ABI.md, "action").

import { ErrorCode } from "./host";
import { Value, writeValue } from "./json";
import { Profile, beginCall, failCall, finishCall, objectField, out, parseInput, stringField } from "./call";

/** The input of one action attempt. */
export class ActionInput {
  constructor(
    /** The action's config (an object). */
    public config: Value,
    /**
     * The same for every attempt of one logical call: pass it to the upstream (an
     * Idempotency-Key header, a request id) so a retry never duplicates.
     */
    public idempotencyKey: string,
    /** 1 for the first attempt. */
    public attempt: i32,
    /** The action's rendered payload template (any JSON value; null when absent). */
    public payload: Value,
    public profile: Profile,
    /** The whole input object, for fields this SDK does not name. */
    public raw: Value,
  ) {}

  /** Reads an input object (useful in tests: ActionInput.from(parse(text)!)). */
  static from(v: Value): ActionInput {
    const payload = v.get("payload");
    return new ActionInput(
      objectField(v, "config"), stringField(v, "idempotencyKey"), <i32>v.getInt("attempt", 1),
      payload != null ? payload : Value.nil(), Profile.from(v.get("profile")), v,
    );
  }
}

/** What an action answers: ok with optional data, or an error. */
export class ActionResult {
  /** Kept in the report's last response; null for none. */
  data: Value | null = null;
  /** 0, or the ErrorCode of a failed attempt. */
  code: i32 = 0;
  message: string = "";

  static ok(data: Value | null = null): ActionResult {
    const r = new ActionResult();
    r.data = data;
    return r;
  }

  /**
   * A failed attempt. ErrorCode.Upstream is retried with backoff; ErrorCode.Rejected is
   * dead-lettered at once; the others go to the node's error path.
   */
  static fail(code: ErrorCode, message: string): ActionResult {
    const r = new ActionResult();
    r.code = code;
    r.message = message;
    return r;
  }
}

export type ActionHandler = (input: ActionInput) => ActionResult;

let handler: ActionHandler | null = null;

/** Registers the plugin's action; call it once at the top level of the entry file. */
export function registerAction(h: ActionHandler): void {
  handler = h;
}

/** The body of the wayline_action export. */
export function serveAction(ptr: usize, len: usize): u64 {
  beginCall();
  const h = handler;
  if (h == null) {
    return failCall(ErrorCode.Internal, "no action handler registered: call registerAction(...) at the top level of the entry file");
  }
  const v = parseInput(ptr, len);
  if (v == null) return 0;
  const r = h(ActionInput.from(v));
  if (r.code != 0) return failCall(r.code, r.message);
  const data = r.data;
  if (data != null) {
    out.ascii('{"ok":true,"data":');
    writeValue(out, data);
    out.byte(0x7d);
  } else {
    out.ascii('{"ok":true}');
  }
  return finishCall();
}
