// Replacements for the three functions AssemblyScript's standard library imports from "env".
// The host refuses any import outside "wayline" and "wasi_snapshot_preview1", so a plugin is built
// with `--use abort=... --use trace=... --use seed=...` pointing here (plugin.asconfig.json does it).

import { wl_log, wl_now_unix_nano } from "./imports";

let aborting = false;

/**
 * Called on a failed assertion, an out-of-range index, a null dereference and the like (a bug):
 * logs the message at error level and traps, which the host reports as plugin_trapped and which
 * discards the instance.
 */
export function waylineAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  if (!aborting) {
    aborting = true;
    let m = "plugin aborted: " + (message != null ? message : "abort");
    if (fileName != null) m += " at " + fileName + ":" + line.toString() + ":" + column.toString();
    const b = String.UTF8.encode(m);
    wl_log(3, changetype<usize>(b), <usize>b.byteLength);
  }
  unreachable();
}

/** `trace(...)` goes to the plugin's log at debug level. */
export function waylineTrace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let m = "trace: " + message;
  if (n > 0) m += " " + a0.toString();
  if (n > 1) m += ", " + a1.toString();
  if (n > 2) m += ", " + a2.toString();
  if (n > 3) m += ", " + a3.toString();
  if (n > 4) m += ", " + a4.toString();
  const b = String.UTF8.encode(m);
  wl_log(0, changetype<usize>(b), <usize>b.byteLength);
}

/** Math.random's seed comes from the host clock. */
export function waylineSeed(): f64 {
  return <f64>wl_now_unix_nano();
}
