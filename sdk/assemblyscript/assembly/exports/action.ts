// Re-export from a plugin's entry file to make it an action:
//   export * from "@wayline/plugin-sdk/assembly/exports/action";

import { serveAction } from "../action";

export * from "./base";

export function wayline_action(ptr: usize, len: usize): u64 {
  return serveAction(ptr, len);
}
