/*
 * wayline.h: the C guest SDK for Wayline plugins (ABI v1, see sdk/ABI.md).
 *
 * A plugin implements one function per kind and exports it with a macro:
 *
 *     #include "wayline.h"
 *
 *     int wayline_condition_fn(const wl_condition_input *in, wl_condition_output *out) {
 *         double spent = wl_number(wl_get(in->profile.attributes, "spent"), 0);
 *         out->result = spent >= 1000;
 *         wl_reason(out, "spent %.2f", spent);
 *         return WL_OK;
 *     }
 *     WAYLINE_CONDITION(wayline_condition_fn)
 *
 * and is built with wayline.c (see build.sh next to this file):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -I sdk/c plugin.c sdk/c/wayline.c -o plugin.wasm
 *
 * The SDK owns the rest of the ABI: the memory exports, decoding the input (malformed input is
 * reported as invalid_input before your function runs), the output buffer kept until the next
 * call, error reports, and wayline_condition_batch on top of the one-item function.
 *
 * Lifetimes: everything an input points to (wl_json nodes, strings) lives until your function
 * returns; copy what you want to keep in a global. Not thread-safe, as the ABI needs not be:
 * the host calls an instance from one thread at a time.
 */
#ifndef WAYLINE_H
#define WAYLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WL_ABI_VERSION 1

/* Error codes of the error import: what a handler returns when it fails. ONLY APPEND. */
typedef enum wl_error_code {
	WL_OK = 0,
	WL_INVALID_INPUT = 1,  /* the input was not what the plugin expects; not retried */
	WL_INVALID_CONFIG = 2, /* the config is wrong; not retried */
	WL_UPSTREAM = 3,       /* a system the plugin called failed; actions are retried */
	WL_INTERNAL = 4,       /* a bug in the plugin; not retried */
	WL_REJECTED = 5,       /* the upstream refused for good; actions are dead-lettered */
} wl_error_code;

/* Negative returns of host functions. ONLY APPEND. */
typedef enum wl_status {
	WL_NOT_FOUND = -1,   /* no such key, secret or config entry */
	WL_DENIED = -2,      /* host not in allowedHosts, address refused */
	WL_LIMIT = -3,       /* a limit was reached */
	WL_FAILED = -4,      /* the operation failed; the host's message is returned */
	WL_INVALID = -5,     /* bad arguments */
	WL_UNAVAILABLE = -6, /* not available to this kind of call */
} wl_status;

typedef enum wl_level { WL_LOG_DEBUG = 0, WL_LOG_INFO = 1, WL_LOG_WARN = 2, WL_LOG_ERROR = 3 } wl_level;

/* ---- JSON values ------------------------------------------------------------------------
 *
 * A parsed document is a flat array of wl_json nodes in document order; a container's
 * children follow it. Every accessor accepts NULL (a missing value) and answers "missing",
 * so lookups chain: wl_number(wl_get(wl_get(root, "a"), "b"), 0). */

typedef enum wl_type {
	WL_JSON_MISSING = 0, /* what wl_type_of(NULL) answers */
	WL_JSON_NULL,
	WL_JSON_FALSE,
	WL_JSON_TRUE,
	WL_JSON_NUMBER,
	WL_JSON_STRING,
	WL_JSON_ARRAY,
	WL_JSON_OBJECT,
} wl_type;

typedef struct wl_json {
	uint8_t type;     /* a wl_type */
	uint8_t reserved[3];
	uint32_t len;     /* strings: decoded bytes; numbers: text bytes; arrays, objects: children */
	const char *str;  /* strings: decoded, NUL-terminated text; numbers: their text */
	uint32_t size;    /* nodes in this subtree, itself included: the next sibling is this + size */
} wl_json;

wl_type wl_type_of(const wl_json *v);
/* Whether v is missing or JSON null. */
bool wl_is_null(const wl_json *v);
/* The member key of an object (the first, with duplicates), else NULL. */
const wl_json *wl_get(const wl_json *obj, const char *key);
const wl_json *wl_getn(const wl_json *obj, const char *key, size_t key_len);
/* Follows dot-separated keys: wl_path(in->profile.raw, "attributes.points"). */
const wl_json *wl_path(const wl_json *v, const char *dotted);
/* Element i of an array, else NULL. */
const wl_json *wl_at(const wl_json *arr, size_t i);
/* Elements of an array or members of an object; 0 for anything else. */
size_t wl_len(const wl_json *v);
/* Iteration: the first element (arrays) or first key (objects; its value is key + 1), and the
 * one after cur; NULL at the end. See WL_FOREACH and WL_FOREACH_MEMBER. */
const wl_json *wl_first(const wl_json *container);
const wl_json *wl_next(const wl_json *container, const wl_json *cur);
#define WL_FOREACH(e, arr) for (const wl_json *e = wl_first(arr); e; e = wl_next((arr), e))
#define WL_FOREACH_MEMBER(k, obj) for (const wl_json *k = wl_first(obj); k; k = wl_next((obj), k))

/* The number, or dflt when v is not a number. */
double wl_number(const wl_json *v, double dflt);
/* Whether v is an integer in int64 range (3, 3.0, 3e2); stores it in *out. */
bool wl_int(const wl_json *v, int64_t *out);
/* true/false, or dflt when v is not a boolean. */
bool wl_bool(const wl_json *v, bool dflt);
/* The decoded string (NUL-terminated; it may contain NULs from \u0000, see wl_str_len), or
 * dflt when v is not a string. */
const char *wl_str(const wl_json *v, const char *dflt);
size_t wl_str_len(const wl_json *v);
bool wl_str_eq(const wl_json *v, const char *s);

/* A document parsed from text you hold (an HTTP response, a stored value). The text is
 * copied; free the document with wl_doc_free. */
typedef struct wl_doc {
	wl_json *nodes;
	uint32_t len, cap;
	char *text;
	uint32_t text_cap;
	char error[96]; /* why parsing failed */
} wl_doc;
/* Returns 0, or -1 with the reason in doc->error. A wl_doc may be reused for many parses. */
int wl_parse(wl_doc *doc, const char *text, size_t len);
const wl_json *wl_doc_root(const wl_doc *doc);
void wl_doc_free(wl_doc *doc);

/* The deepest nesting of arrays and objects the parser accepts. */
#define WL_MAX_DEPTH 64

/* ---- JSON writer ------------------------------------------------------------------------
 *
 * Appends JSON to a growing buffer and places the commas. Start from a zeroed wl_writer;
 * free it with wl_writer_free (not the ones the SDK hands you in outputs). */

typedef struct wl_writer {
	char *buf;
	uint32_t len, cap;
	uint64_t has_items; /* bit d: the container at depth d has an item already */
	uint8_t depth;
	bool after_key;
	bool oom; /* an allocation failed: the output is incomplete */
} wl_writer;

void wl_w_object_begin(wl_writer *w);
void wl_w_object_end(wl_writer *w);
void wl_w_array_begin(wl_writer *w);
void wl_w_array_end(wl_writer *w);
void wl_w_key(wl_writer *w, const char *key);
void wl_w_string(wl_writer *w, const char *s);
void wl_w_stringn(wl_writer *w, const char *s, size_t n);
/* NaN and infinities are written as null: JSON has no such numbers. */
void wl_w_number(wl_writer *w, double d);
void wl_w_int(wl_writer *w, int64_t i);
void wl_w_bool(wl_writer *w, bool b);
void wl_w_null(wl_writer *w);
/* Copies a parsed value (a missing one is written as null). */
void wl_w_json(wl_writer *w, const wl_json *v);
void wl_writer_free(wl_writer *w);

/* ---- Kinds (ABI.md "Kinds and their JSON") -----------------------------------------------
 *
 * String fields are "" when absent; object fields are NULL when absent or null. Fields the
 * ABI adds later are reachable through raw. */

typedef struct wl_event {
	const wl_json *raw;
	const char *id, *type, *timestamp, *identity;
	const wl_json *data;
} wl_event;

typedef struct wl_profile {
	const wl_json *raw;
	const char *id;
	const wl_json *attributes;
} wl_profile;

typedef struct wl_condition_input {
	const wl_json *config;
	wl_event event;
	wl_profile profile;
	const wl_json *vars;
	const char *now;    /* the evaluation's time (RFC 3339): use it rather than the wall clock */
	const wl_json *raw; /* the input object; in a batch, this item's (without config and now) */
} wl_condition_input;

typedef struct wl_condition_output {
	bool result;
	char reason[256]; /* shown in traces; leave empty for none; see wl_reason */
} wl_condition_output;

typedef struct wl_datasource_input {
	const wl_json *raw, *config;
	const char *group;
	const wl_json *params;
} wl_datasource_input;

typedef struct wl_datasource_output {
	/* Inside the "fields" object: write members, e.g. wl_w_key(out->fields, "tempC");
	 * wl_w_number(out->fields, 18.5); */
	wl_writer *fields;
} wl_datasource_output;

typedef struct wl_action_input {
	const wl_json *raw, *config;
	const char *idempotency_key; /* the same for every attempt: pass it upstream */
	uint32_t attempt;            /* 1 for the first */
	const wl_json *payload;      /* the rendered payload template */
	wl_profile profile;
} wl_action_input;

typedef struct wl_action_output {
	bool ok;         /* preset to true */
	wl_writer *data; /* inside the optional "data" object: write members, or nothing */
} wl_action_output;

/* A handler returns WL_OK, or an error code (best through wl_fail, which keeps a message). */
typedef int (*wl_condition_fn)(const wl_condition_input *in, wl_condition_output *out);
typedef int (*wl_datasource_fn)(const wl_datasource_input *in, wl_datasource_output *out);
typedef int (*wl_action_fn)(const wl_action_input *in, wl_action_output *out);

/* Records the failure message for this call and returns code: return wl_fail(...); */
int wl_fail(wl_error_code code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formats the condition's reason. */
void wl_reason(wl_condition_output *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the reason to label followed by value with the given decimals (0 to 9): "score 0.73".
 * Without printf, which costs about half a microsecond in WebAssembly, a fifth of a typical
 * evaluation; use it on hot paths. */
void wl_reason_num(wl_condition_output *out, const char *label, double value, int decimals);

/* ---- Host functions ---------------------------------------------------------------------
 *
 * Functions that return bytes store them in *value as a malloc'd, NUL-terminated buffer the
 * caller frees, and return their length; or a negative wl_status (then *value is NULL, except
 * for WL_FAILED, where it holds the host's message). */

void wl_log(wl_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The host's wall clock, in nanoseconds since 1970 (UTC). */
int64_t wl_now_unix_nano(void);
/* The JSON text of one top-level key of this call's config. */
int32_t wl_config_get(const char *key, char **value);
/* A secret set on the plugin installation. Never log it. */
int32_t wl_secret_get(const char *name, char **value);
/* The plugin's key-value store (keys up to 512 bytes, values up to 64 KiB). Data sources get
 * WL_UNAVAILABLE from set and delete. */
int32_t wl_kv_get(const char *key, size_t key_len, char **value);
int32_t wl_kv_set(const char *key, size_t key_len, const void *value, size_t value_len);
int32_t wl_kv_delete(const char *key, size_t key_len);
/* An outbound HTTP request through the host. request is the request JSON
 * ({"method":"GET","url":"https://...","headers":{...},"body":"..."}), response the response
 * JSON ({"status":200,"headers":{...},"body":"..."}): build one with a wl_writer and read the
 * other with wl_parse. */
int32_t wl_http_request(const char *request, size_t request_len, char **response);
/* "not_found", "denied", ... for a wl_status. */
const char *wl_status_name(int32_t status);
/* "invalid_input", ... for a wl_error_code. */
const char *wl_error_name(int code);

/* ---- Exports ----------------------------------------------------------------------------
 *
 * One macro per kind the plugin implements, at file scope, naming your function. */

uint64_t wl__run_condition(const char *in, uint32_t len, wl_condition_fn fn, bool batch);
uint64_t wl__run_datasource(const char *in, uint32_t len, wl_datasource_fn fn);
uint64_t wl__run_action(const char *in, uint32_t len, wl_action_fn fn);

#ifdef __wasm__
#define WL_EXPORT(name) __attribute__((export_name(name)))
#else
#define WL_EXPORT(name)
#endif

/* Exports wayline_condition and wayline_condition_batch (which calls fn once per item). */
#define WAYLINE_CONDITION(fn)                                                                   \
	WL_EXPORT("wayline_condition") uint64_t wl__export_condition(const char *in, uint32_t len) { \
		return wl__run_condition(in, len, (fn), false);                                       \
	}                                                                                          \
	WL_EXPORT("wayline_condition_batch")                                                       \
	uint64_t wl__export_condition_batch(const char *in, uint32_t len) {                        \
		return wl__run_condition(in, len, (fn), true);                                        \
	}

#define WAYLINE_DATASOURCE(fn)                                                                    \
	WL_EXPORT("wayline_datasource") uint64_t wl__export_datasource(const char *in, uint32_t len) { \
		return wl__run_datasource(in, len, (fn));                                               \
	}

#define WAYLINE_ACTION(fn)                                                                \
	WL_EXPORT("wayline_action") uint64_t wl__export_action(const char *in, uint32_t len) { \
		return wl__run_action(in, len, (fn));                                           \
	}

#ifdef __cplusplus
}
#endif

#endif /* WAYLINE_H */
