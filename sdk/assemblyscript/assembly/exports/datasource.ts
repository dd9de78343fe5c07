// Re-export from a plugin's entry file to make it a data source:
//   export * from "@wayline/plugin-sdk/assembly/exports/datasource";

import { serveDatasource } from "../datasource";

export * from "./base";

export function wayline_datasource(ptr: usize, len: usize): u64 {
  return serveDatasource(ptr, len);
}
