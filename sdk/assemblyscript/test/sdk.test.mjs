// Builds test/fixture (a plugin of every kind) and drives it through a JavaScript stand-in for
// the host that follows sdk/ABI.md: input through wayline_alloc, (ptr << 32 | len) outputs, the
// error import, the result slot and take_result. Run with `npm test`.

import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, lstatSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wasmPath = join(root, "build", "fixture.wasm");
let wasmModule;

before(async () => {
  // The fixture imports the SDK by its package name, as a plugin does: link the package to itself.
  const link = join(root, "node_modules", "@wayline", "plugin-sdk");
  mkdirSync(dirname(link), { recursive: true });
  try {
    lstatSync(link);
  } catch {
    symlinkSync("../..", link);
  }
  const asc = (await import("assemblyscript/asc")).default;
  const { error, stderr } = await asc.main(
    ["test/fixture/index.ts", "--config", "test/fixture/asconfig.json", "--baseDir", root],
    {},
  );
  if (error) throw new Error(`building the fixture failed: ${error.message}\n${stderr.toString()}`);
  wasmModule = new WebAssembly.Module(readFileSync(wasmPath));
});

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });
const CODES = { 1: "invalid_input", 2: "invalid_config", 3: "upstream", 4: "internal", 5: "rejected" };

// A host for one instance. http answers requests: (req) => ({status, headers, body}) or a
// negative status with a message.
function makeHost({ config = {}, secrets = {}, http = null, kvReadOnly = false } = {}) {
  const h = { logs: [], error: null, kv: new Map(), result: null, config, secrets, kvReadOnly, http };
  let mem;
  const bytes = (p, n) => {
    if (p + n > mem.buffer.byteLength) throw new Error("out of memory bounds");
    return new Uint8Array(mem.buffer, p, n).slice();
  };
  const str = (p, n) => dec.decode(bytes(p, n));
  const put = (b) => {
    h.result = typeof b === "string" ? enc.encode(b) : b;
    return h.result.length;
  };
  h.imports = {
    wayline: {
      log: (level, p, n) => h.logs.push([level, str(p, n)]),
      error: (code, p, n) => {
        h.error = { code, name: CODES[code], message: str(p, n) };
      },
      now_unix_nano: () => BigInt(Date.now()) * 1000000n,
      config_get: (p, n) => {
        const k = str(p, n);
        return k in h.config ? put(JSON.stringify(h.config[k])) : -1;
      },
      secret_get: (p, n) => {
        const k = str(p, n);
        return k in h.secrets ? put(h.secrets[k]) : -1;
      },
      kv_get: (p, n) => {
        const k = str(p, n);
        return h.kv.has(k) ? put(h.kv.get(k)) : -1;
      },
      kv_set: (kp, kn, vp, vn) => {
        if (h.kvReadOnly) return -6;
        h.kv.set(str(kp, kn), bytes(vp, vn));
        return 0;
      },
      kv_delete: (p, n) => {
        if (h.kvReadOnly) return -6;
        h.kv.delete(str(p, n));
        return 0;
      },
      http_request: (p, n) => {
        let req;
        try {
          req = JSON.parse(str(p, n));
        } catch {
          return -5;
        }
        h.lastRequest = req;
        const resp = h.http ? h.http(req) : { status: -2, message: "no http" };
        if (resp.status < 0) {
          if (resp.message) put(resp.message);
          return resp.status;
        }
        return put(JSON.stringify(resp));
      },
      take_result: (p, cap) => {
        const r = h.result || new Uint8Array(0);
        const n = Math.min(cap, r.length);
        new Uint8Array(mem.buffer, p, n).set(r.subarray(0, n));
        h.result = null;
        return n;
      },
    },
  };
  h.bind = (memory) => {
    mem = memory;
  };
  return h;
}

function instantiate(opts) {
  const host = makeHost(opts);
  const inst = new WebAssembly.Instance(wasmModule, host.imports);
  host.bind(inst.exports.memory);
  inst.exports._initialize();
  let inPtr = 0;
  let inCap = 0;
  // call writes input (a string, bytes or a value to stringify) and returns {out, error}.
  const call = (exportName, input) => {
    const data = input instanceof Uint8Array ? input : enc.encode(typeof input === "string" ? input : JSON.stringify(input));
    host.error = null;
    host.logs = [];
    if (data.length > inCap || inPtr === 0) {
      if (inPtr !== 0) inst.exports.wayline_free(inPtr, inCap);
      inCap = Math.max(data.length, 64);
      inPtr = inst.exports.wayline_alloc(inCap);
      assert.notEqual(inPtr, 0, "wayline_alloc returned 0");
    }
    new Uint8Array(inst.exports.memory.buffer, inPtr, data.length).set(data);
    const r = BigInt.asUintN(64, inst.exports[exportName](inPtr, data.length));
    if (r === 0n) {
      assert.ok(host.error, `${exportName} returned 0 without calling error`);
      return { out: null, error: host.error, logs: host.logs };
    }
    assert.equal(host.error, null, "an output and an error report in one call");
    const ptr = Number(r >> 32n);
    const len = Number(r & 0xffffffffn);
    const outBytes = new Uint8Array(inst.exports.memory.buffer, ptr, len).slice();
    return { out: JSON.parse(dec.decode(outBytes)), raw: outBytes, ptr, len, logs: host.logs };
  };
  return { inst, host, call };
}

test("the module imports only from wayline and exports the ABI", () => {
  const imports = WebAssembly.Module.imports(wasmModule).map((i) => `${i.module}.${i.name}`);
  for (const i of imports) assert.match(i, /^wayline\./, `unexpected import ${i}`);
  const exports = WebAssembly.Module.exports(wasmModule).map((e) => e.name).sort();
  assert.deepEqual(exports, [
    "_initialize", "memory", "wayline_abi_version_1", "wayline_action", "wayline_alloc",
    "wayline_condition", "wayline_condition_batch", "wayline_datasource", "wayline_free",
  ]);
});

const condInput = (points, extra = {}) => ({
  abi: 1, kind: "condition", config: { min: 1000 }, now: "2026-11-23T10:00:00.123Z",
  event: { id: "e-1", type: "purchase", timestamp: "2026-11-23T10:00:00Z", identity: "u-1", data: { total: 42.5 } },
  profile: { id: "u-1", attributes: { points } }, vars: {}, ...extra,
});

test("condition: result and reason", () => {
  const { call, host } = instantiate();
  assert.deepEqual(call("wayline_condition", condInput(1200)).out, {
    result: true, reason: "points 1200 vs 1000 at 2026-11-23T10:00:00.123Z",
  });
  assert.equal(call("wayline_condition", condInput(5)).out.result, false);
  assert.equal(dec.decode(host.kv.get("count")), "2");
  const r = call("wayline_condition", condInput(5, { config: {} }));
  assert.equal(r.error.name, "invalid_config");
});

test("condition batch: one result per item, in order, failures in place", () => {
  const { call } = instantiate();
  const one = condInput(0);
  const item = (points, type = "purchase") => ({ event: { ...one.event, type }, profile: { id: "u", attributes: { points } }, vars: {} });
  const r = call("wayline_condition_batch", {
    abi: 1, kind: "condition", config: { min: 100 }, now: "N",
    items: [item(150), item(50), item(1, "boom"), 7, item(100)],
  });
  assert.deepEqual(r.out, {
    results: [
      { result: true, reason: "points 150 vs 100 at N" },
      { result: false, reason: "points 50 vs 100 at N" },
      { error: { code: 4, message: "boom for e-1" } },
      { error: { code: 1, message: "item 3 is not an object" } },
      { result: true, reason: "points 100 vs 100 at N" },
    ],
  });
  assert.deepEqual(call("wayline_condition_batch", { abi: 1, kind: "condition", config: { min: 1 }, items: [] }).out, { results: [] });
  assert.equal(call("wayline_condition_batch", { abi: 1, kind: "condition" }).error.name, "invalid_input");
  assert.equal(call("wayline_condition_batch", "[").error.name, "invalid_input");
});

test("datasource: fields, config_get, read-only store", () => {
  const { call } = instantiate({ config: { units: "metric" }, kvReadOnly: true });
  const r = call("wayline_datasource", { abi: 1, kind: "datasource", config: { units: "metric" }, group: "current", params: { city: "Paris" } });
  assert.deepEqual(r.out, {
    fields: { group: "current", city: "Paris", tempC: 18.5, units: "metric", missingConfigStatus: -1, kvSetStatus: -6, clockOk: true },
  });
});

test("action: JSON survives a round trip through the SDK's parser and writer", () => {
  const { call } = instantiate();
  const values = [
    null, true, false, 0, -0, 1, -1, 1200, 0.1, -2.5e-7, 1e21, 1.7976931348623157e308, 5e-324,
    123456789012345680000, 9007199254740993, 42.5, "", "plain", "quote \" backslash \\ slash /",
    "ctl \b\f\n\r\t \u0001 \u001f \u007f", "é ü 中文 😀 \u2028", "\ud83d\ude00",
    [], {}, [1, [2, [3, {}]]], { a: { b: { c: [null, "x"] } }, "": "empty key", "k\"ey": 1 },
  ];
  for (const value of values) {
    const r = call("wayline_action", { abi: 1, kind: "action", idempotencyKey: "k-1", attempt: 3, payload: { op: "echo", value }, profile: { id: "u-9" } });
    assert.deepEqual(r.out, { ok: true, data: { value: JSON.parse(JSON.stringify(value)), attempt: 3, key: "k-1", profile: "u-9" } }, JSON.stringify(value));
  }
});

test("action: a lone surrogate is written as U+FFFD, so the output stays valid UTF-8", () => {
  const { call } = instantiate();
  const r = call("wayline_action", '{"payload":{"op":"echo","value":"a\\ud800b"}}');
  assert.equal(r.out.data.value, "a\ufffdb");
  new TextDecoder("utf-8", { fatal: true }).decode(r.raw);
});

test("action: malformed input is invalid_input, never a trap", () => {
  const { call } = instantiate();
  const bad = [
    "", " ", "{", "}", "{not json", '{"a":}', '{"a" 1}', '{"a":1,}', "[1,]", "[1 2]", "01", "1.", "-", "+1", ".5",
    "1e", "1e+", "0x10", "NaN", "Infinity", "nul", "tru", "falsey", "{} x", '"abc', '"\\x"', '"\\u12"',
    '"\\u12G4"', '"a\nb"', '"tab\there"', "'single'", '{a:1}', "[" .repeat(5000), '{"a":' .repeat(300),
  ];
  for (const input of bad) {
    const r = call("wayline_action", input);
    assert.equal(r.out, null, `accepted ${JSON.stringify(input.slice(0, 40))}`);
    assert.equal(r.error.name, "invalid_input", JSON.stringify(input.slice(0, 40)));
  }
  const badUtf8 = [[0x22, 0xff, 0x22], [0x22, 0xc0, 0xaf, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xe2, 0x82, 0x22], [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]];
  for (const b of badUtf8) {
    const r = call("wayline_action", new Uint8Array(b));
    assert.equal(r.error.name, "invalid_input", `bytes ${b}`);
    assert.match(r.error.message, /UTF-8/);
  }
  for (const input of ["[1,2]", '"str"', "42", "null"]) {
    assert.equal(call("wayline_action", input).error.message, "input is not a JSON object");
  }
});

test("parse() reports why and where", () => {
  const { call } = instantiate();
  const r = call("wayline_action", { payload: { op: "parse", text: '{"a":[1,2,}' } });
  assert.deepEqual(r.out.data, { ok: false, error: "unexpected character '}' at byte 10", value: null });
  const ok = call("wayline_action", { payload: { op: "parse", text: ' {"a" : [ 1 , 2 ] } ' } });
  assert.deepEqual(ok.out.data, { ok: true, error: "", value: { a: [1, 2] } });
  const dup = call("wayline_action", { payload: { op: "parse", text: '{"a":1,"a":2}' } });
  assert.deepEqual(dup.out.data.value, { a: 2 });
});

test("action: failures report their code; codes outside the ABI become internal", () => {
  const { call } = instantiate();
  for (const [code, name] of [[1, "invalid_input"], [2, "invalid_config"], [3, "upstream"], [4, "internal"], [5, "rejected"]]) {
    assert.deepEqual(call("wayline_action", { payload: { op: "fail", code, message: "m" } }).error, { code, name, message: "m" });
  }
  const r = call("wayline_action", { payload: { op: "fail", code: 9, message: "m" } });
  assert.equal(r.error.code, 4);
  assert.match(r.error.message, /error code 9/);
});

test("host calls: key-value store and secrets", () => {
  const { call, host } = instantiate({ secrets: { apiKey: "s3cr\u00e9t" } });
  assert.deepEqual(call("wayline_action", { payload: { op: "kv" } }).out.data, {
    set: 0, got: { a: "b\u00e9" }, delete: 0, gone: true, status: -1,
  });
  assert.equal(host.kv.size, 0);
  assert.deepEqual(call("wayline_action", { payload: { op: "secret", name: "apiKey" } }).out.data, { value: "s3cr\u00e9t", status: 0 });
  assert.deepEqual(call("wayline_action", { payload: { op: "secret", name: "other" } }).out.data, { value: null, status: -1 });
});

test("host calls: http_request in and out", () => {
  const { call, host } = instantiate({
    http: (req) => req.url.endsWith("/down")
      ? { status: -4, message: "dial tcp: connection refused" }
      : { status: 201, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ id: "c-1", echo: req.body }) },
  });
  const r = call("wayline_action", { idempotencyKey: "idem", payload: { op: "http", method: "POST", url: "https://x.example.com/a", body: { q: "\"é\"\n", n: [1] } } });
  assert.deepEqual(host.lastRequest, {
    method: "POST", url: "https://x.example.com/a",
    headers: { "X-Key": "idem", "Content-Type": "application/json" }, body: '{"q":"\\"é\\"\\n","n":[1]}',
  });
  assert.equal(r.out.data.status, 201);
  assert.equal(r.out.data.contentType, "application/json");
  assert.deepEqual(r.out.data.json, { id: "c-1", echo: '{"q":"\\"é\\"\\n","n":[1]}' });
  const down = call("wayline_action", { payload: { op: "http", method: "GET", url: "https://x.example.com/down" } });
  assert.deepEqual({ status: down.out.data.status, error: down.out.data.error, message: down.out.data.message },
    { status: -4, error: "dial tcp: connection refused", message: "dial tcp: connection refused" });
  assert.equal(host.result, null, "the result slot was taken");
});

test("a bug (index out of range) logs where at error level, then traps", () => {
  const { inst, host } = instantiate();
  const input = enc.encode(JSON.stringify({ payload: { op: "abort", index: 5 } }));
  const p = inst.exports.wayline_alloc(input.length);
  new Uint8Array(inst.exports.memory.buffer, p, input.length).set(input);
  assert.throws(() => inst.exports.wayline_action(p, input.length), WebAssembly.RuntimeError);
  assert.equal(host.logs.length, 1);
  assert.equal(host.logs[0][0], 3);
  assert.match(host.logs[0][1], /^plugin aborted: Index out of range at ~lib\/staticarray\.ts|^plugin aborted: Index out of range at ~lib\/array\.ts/);
});

test("Math.random and trace work without env imports", () => {
  const { call } = instantiate();
  const r = call("wayline_action", { payload: { op: "random" } });
  assert.deepEqual(r.out.data, { inRange: true });
  assert.equal(r.logs[0][0], 0);
  assert.match(r.logs[0][1], /^trace: random 0\.\d+/);
});

test("the output stays valid until the next call, and memory does not grow over many calls", () => {
  const { call, inst } = instantiate();
  const big = call("wayline_action", { payload: { op: "big", n: 100000 } });
  assert.equal(big.out.data.length, 100000);
  const first = call("wayline_action", { payload: { op: "echo", value: "one" } });
  // Other exports (the host growing its input buffer) do not disturb the output.
  const p = inst.exports.wayline_alloc(1 << 20);
  inst.exports.wayline_free(p, 1 << 20);
  const again = JSON.parse(dec.decode(new Uint8Array(inst.exports.memory.buffer, first.ptr, first.len)));
  assert.deepEqual(again, first.out);
  for (let i = 0; i < 2000; i++) call("wayline_action", { payload: { op: "echo", value: { i, s: "x".repeat(i % 100) } } });
  const pages = inst.exports.memory.buffer.byteLength / 65536;
  for (let i = 0; i < 20000; i++) call("wayline_action", { payload: { op: "echo", value: { i, s: "x".repeat(i % 100) } } });
  assert.equal(inst.exports.memory.buffer.byteLength / 65536, pages, "memory grew over 20000 calls");
});

test("wayline_alloc answers 0 for impossible sizes", () => {
  const { inst } = instantiate();
  assert.equal(inst.exports.wayline_alloc(-1), 0);
  assert.equal(inst.exports.wayline_alloc(0x7fffffff), 0);
});
