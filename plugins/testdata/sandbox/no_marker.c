// A module built without a Wayline SDK: no version marker.
#include <stdint.h>
__attribute__((export_name("wayline_alloc"))) int32_t wl_alloc(int32_t n) { return 1024; }
__attribute__((export_name("wayline_free"))) void wl_free(int32_t p, int32_t n) {}
__attribute__((export_name("wayline_condition"))) int64_t condition(int32_t p, int32_t n) { return 0; }
