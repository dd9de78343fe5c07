// The exports every plugin has: the ABI version marker and the allocator the host writes inputs
// through. Re-exported by each kind's module in this folder, so a plugin never names it.

import "../runtime"; // the targets of plugin.asconfig.json's --use abort/trace/seed

/** Marks the module as speaking ABI version 1. */
export function wayline_abi_version_1(): void {}

// Above this the allocator would abort; answer 0 instead, as the ABI asks.
const MAX_ALLOC: i32 = 1 << 29;

/**
 * Allocates size bytes for the host to write into; 0 when it cannot. The block is raw memory,
 * outside the garbage collector, so it stays put until wayline_free.
 */
export function wayline_alloc(size: i32): usize {
  if (size < 0 || size > MAX_ALLOC) return 0;
  return heap.alloc(<usize>size);
}

/** Gives back a block from wayline_alloc. */
export function wayline_free(ptr: usize, size: i32): void {
  if (ptr != 0) heap.free(ptr);
}
