// The ceiling for the plugin benchmarks: a module that takes the input bytes and returns a
// fixed output without looking at them. What a call of it costs is the bare price of crossing
// into wasm with a 1 KB input and reading an output back.
#include <stdint.h>
#include <stdlib.h>

__attribute__((export_name("wayline_abi_version_1"))) void marker(void) {}
__attribute__((export_name("wayline_alloc"))) void *wl_alloc(int32_t n) { return malloc(n); }
__attribute__((export_name("wayline_free"))) void wl_free(void *p, int32_t n) { free(p); }

static const char out[] = "{\"result\":true}";

__attribute__((export_name("wayline_condition"))) int64_t condition(const char *in, int32_t n) {
	return ((int64_t)(uintptr_t)out << 32) | (int64_t)(sizeof out - 1);
}
