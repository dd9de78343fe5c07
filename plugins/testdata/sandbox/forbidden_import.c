// Imports a function from a module the host does not offer.
#include <stdint.h>
__attribute__((import_module("env"), import_name("system"))) int32_t env_system(const char *);
__attribute__((export_name("wayline_abi_version_1"))) void marker(void) {}
__attribute__((export_name("wayline_alloc"))) int32_t wl_alloc(int32_t n) { return 1024; }
__attribute__((export_name("wayline_free"))) void wl_free(int32_t p, int32_t n) {}
__attribute__((export_name("wayline_condition"))) int64_t condition(int32_t p, int32_t n) { return env_system("rm -rf /"); }
