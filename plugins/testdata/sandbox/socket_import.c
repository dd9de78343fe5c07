// Imports a WASI socket function, which plugins may not use.
#include <stdint.h>
__attribute__((import_module("wasi_snapshot_preview1"), import_name("sock_accept"))) int32_t sock_accept(int32_t, int32_t, int32_t);
__attribute__((export_name("wayline_abi_version_1"))) void marker(void) {}
__attribute__((export_name("wayline_alloc"))) int32_t wl_alloc(int32_t n) { return 1024; }
__attribute__((export_name("wayline_free"))) void wl_free(int32_t p, int32_t n) {}
__attribute__((export_name("wayline_condition"))) int64_t condition(int32_t p, int32_t n) { return sock_accept(0, 0, 0); }
