// A condition plugin that misbehaves on request, for the host's sandbox tests. It uses the raw
// ABI (no SDK) so that it can break the rules on purpose: the input names a mode.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("wayline"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("error") void host_error(int32_t code, const char *p, int32_t n);
IMPORT("log") void host_log(int32_t level, const char *p, int32_t n);
IMPORT("http_request") int32_t host_http(const char *p, int32_t n);
IMPORT("take_result") int32_t host_take(char *p, int32_t cap);
IMPORT("kv_get") int32_t host_kv_get(const char *k, int32_t kn);
IMPORT("kv_set") int32_t host_kv_set(const char *k, int32_t kn, const char *v, int32_t vn);

EXPORT("wayline_abi_version_1") void marker(void) {}
EXPORT("wayline_alloc") void *wl_alloc(int32_t n) { return malloc(n); }
EXPORT("wayline_free") void wl_free(void *p, int32_t n) { free(p); }

static char out[4096];

static int64_t reply(const char *s) {
	size_t n = strlen(s);
	memcpy(out, s, n);
	return ((int64_t)(uintptr_t)out << 32) | (int64_t)n;
}

static int has(const char *in, int32_t n, const char *word) {
	size_t w = strlen(word);
	for (int32_t i = 0; i + (int32_t)w <= n; i++)
		if (memcmp(in + i, word, w) == 0) return 1;
	return 0;
}

volatile int32_t sink;

EXPORT("wayline_condition") int64_t condition(const char *in, int32_t n) {
	if (has(in, n, "\"loop\"")) {
		for (;;) sink++;
	}
	if (has(in, n, "\"bomb\"")) {
		// Grow until the host's memory limit refuses, then touch everything we got.
		while (__builtin_wasm_memory_grow(0, 16) != -1) sink++;
		__builtin_trap();
	}
	if (has(in, n, "\"trap\"")) __builtin_trap();
	if (has(in, n, "\"badptr\"")) return ((int64_t)0xFFFFFF00 << 32) | 200;
	if (has(in, n, "\"hugelen\"")) return ((int64_t)(uintptr_t)out << 32) | 0x7FFFFFFF;
	if (has(in, n, "\"silent\"")) return 0;
	if (has(in, n, "\"ptrlen\"")) {
		// {"ptrlen":"PPPPPPPPLLLLLLLL"}: return exactly that pointer and length (hex), for the
		// host's fuzz test of guest outputs.
		const char *h = strstr(in, "\"ptrlen\":\"");
		if (!h || h + 11 + 16 > in + n) return 0;
		h += 11;
		uint64_t v = 0;
		for (int i = 0; i < 16; i++) {
			char c = h[i];
			v = v << 4 | ((uint64_t)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0') & 15);
		}
		return (int64_t)v;
	}
	if (has(in, n, "\"echo\"")) {
		// The input itself is the output: any bytes the fuzzer chose.
		memcpy(out, in, n < (int32_t)sizeof out ? n : (int32_t)sizeof out);
		return ((int64_t)(uintptr_t)out << 32) | (int64_t)(n < (int32_t)sizeof out ? n : (int32_t)sizeof out);
	}
	if (has(in, n, "\"fail\"")) {
		host_error(3, "upstream down", 13);
		return 0;
	}
	if (has(in, n, "\"http\"")) {
		// The input's "req" object is passed through as the request.
		const char *req = strstr(in, "\"req\":");
		if (!req) return reply("{\"result\":false}");
		req += 6;
		int32_t len = (int32_t)(in + n - req) - 1; // drop the closing brace of the input
		int32_t got = host_http(req, len);
		if (got < 0) {
			char msg[512];
			int32_t m = host_take(msg, sizeof msg - 1);
			host_log(2, msg, m);
			char body[600];
			int k = snprintf(body, sizeof body, "{\"result\":false,\"reason\":\"status %d\"}", (int)got);
			(void)k;
			return reply(body);
		}
		static char resp[2048];
		int32_t m = host_take(resp, sizeof resp - 1);
		resp[m] = 0;
		return reply(strstr(resp, "\"status\":200") ? "{\"result\":true,\"reason\":\"http 200\"}" : "{\"result\":false,\"reason\":\"http not 200\"}");
	}
	if (has(in, n, "\"count\"")) {
		char buf[32] = {0};
		int32_t got = host_kv_get("count", 5);
		int v = 0;
		if (got > 0) {
			host_take(buf, sizeof buf - 1);
			v = atoi(buf);
		}
		v++;
		int k = snprintf(buf, sizeof buf, "%d", v);
		int32_t s = host_kv_set("count", 5, buf, k);
		char body[64];
		snprintf(body, sizeof body, "{\"result\":%s,\"reason\":\"%d\"}", s == 0 ? "true" : "false", v);
		return reply(body);
	}
	return reply("{\"result\":true}");
}
