#!/usr/bin/env node
// Checks a built plugin against the module shape of sdk/ABI.md before it is uploaded: imports
// only from "wayline" and "wasi_snapshot_preview1" (no sock_*), memory and the ABI exports.
// Usage: wayline-check-wasm FILE.wasm [KIND ...]
import { readFileSync } from "node:fs";

const [file, ...kinds] = process.argv.slice(2);
if (!file) {
  console.error("usage: wayline-check-wasm FILE.wasm [condition|datasource|action ...]");
  process.exit(2);
}
const handlers = { condition: "wayline_condition", datasource: "wayline_datasource", action: "wayline_action" };
let mod;
try {
  mod = new WebAssembly.Module(readFileSync(file));
} catch (err) {
  console.error(`${file}: not a WebAssembly module: ${err.message}`);
  process.exit(1);
}
const problems = [];
for (const imp of WebAssembly.Module.imports(mod)) {
  const name = `${imp.module}.${imp.name}`;
  if (imp.module === "wasi_snapshot_preview1" ? imp.name.startsWith("sock_") : imp.module !== "wayline") {
    let hint = "";
    if (imp.module === "env") {
      hint = imp.name === "abort" || imp.name === "trace" || imp.name === "seed"
        ? " (build with the SDK's plugin.asconfig.json, which routes it to the SDK)"
        : " (a standard-library API that needs JavaScript, such as Date.now or console: use the SDK's now() and log())";
    }
    problems.push(`imports ${name}, which the host refuses${hint}`);
  }
}
const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
for (const [name, kind] of [["memory", "memory"], ["wayline_abi_version_1", "function"], ["wayline_alloc", "function"], ["wayline_free", "function"]]) {
  if (exports.get(name) !== kind) problems.push(`does not export ${kind} ${name}`);
}
for (const kind of kinds) {
  const h = handlers[kind];
  if (!h) problems.push(`unknown kind ${kind}`);
  else if (exports.get(h) !== "function") problems.push(`kind ${kind} needs export ${h}`);
}
if (problems.length) {
  for (const p of problems) console.error(`${file}: ${p}`);
  process.exit(1);
}
