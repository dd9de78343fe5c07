// Kind "datasource" (sdk/ABI.md, "datasource").

import { ErrorCode } from "./host";
import { Value, writeValue } from "./json";
import { beginCall, failCall, finishCall, objectField, out, parseInput, stringField } from "./call";

/** The input of one data-source call: the group asked for and its parameters. */
export class DatasourceInput {
  constructor(
    /** The data source's config (an object). */
    public config: Value,
    public group: string,
    /** The parameters computed by the host from the data source's expressions (an object). */
    public params: Value,
    /** The whole input object, for fields this SDK does not name. */
    public raw: Value,
  ) {}

  /** Reads an input object (useful in tests: DatasourceInput.from(parse(text)!)). */
  static from(v: Value): DatasourceInput {
    return new DatasourceInput(objectField(v, "config"), stringField(v, "group"), objectField(v, "params"), v);
  }
}

/** What a data source answers: the group's fields, or an error. */
export class DatasourceResult {
  /** An object of field name to value; it should match the group's declared schema. */
  fields: Value = Value.obj();
  /** 0, or the ErrorCode of a failed call. */
  code: i32 = 0;
  message: string = "";

  static of(fields: Value): DatasourceResult {
    const r = new DatasourceResult();
    r.fields = fields;
    return r;
  }

  static fail(code: ErrorCode, message: string): DatasourceResult {
    const r = new DatasourceResult();
    r.code = code;
    r.message = message;
    return r;
  }
}

export type DatasourceHandler = (input: DatasourceInput) => DatasourceResult;

let handler: DatasourceHandler | null = null;

/** Registers the plugin's data source; call it once at the top level of the entry file. */
export function registerDatasource(h: DatasourceHandler): void {
  handler = h;
}

/** The body of the wayline_datasource export. */
export function serveDatasource(ptr: usize, len: usize): u64 {
  beginCall();
  const h = handler;
  if (h == null) {
    return failCall(ErrorCode.Internal, "no datasource handler registered: call registerDatasource(...) at the top level of the entry file");
  }
  const v = parseInput(ptr, len);
  if (v == null) return 0;
  const r = h(DatasourceInput.from(v));
  if (r.code != 0) return failCall(r.code, r.message);
  if (!r.fields.isObject) return failCall(ErrorCode.Internal, "datasource result: fields must be an object");
  out.ascii('{"fields":');
  writeValue(out, r.fields);
  out.byte(0x7d);
  return finishCall();
}
