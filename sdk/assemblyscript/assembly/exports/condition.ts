// Re-export from a plugin's entry file to make it a condition:
//   export * from "@wayline/plugin-sdk/assembly/exports/condition";

import { serveCondition, serveConditionBatch } from "../condition";

export * from "./base";

/** One evaluation. */
export function wayline_condition(ptr: usize, len: usize): u64 {
  return serveCondition(ptr, len);
}

/** Many evaluations in one call, each through the registered one-item handler. */
export function wayline_condition_batch(ptr: usize, len: usize): u64 {
  return serveConditionBatch(ptr, len);
}
