/*
 * wayline.c: the implementation behind wayline.h. Compile it into every C plugin.
 *
 * One call (ABI.md "One call"): the input is copied into a buffer the SDK owns and parsed in
 * place (strings are unescaped and NUL-terminated where they lie, so reading one costs
 * nothing), the plugin's function runs, and the output is written into a per-instance buffer
 * that stays valid until the next call. All buffers are reused, so a steady-state call does
 * not allocate. Failures become an error report through the error import and a 0 return,
 * never a trap.
 */
#include "wayline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Host imports ----------------------------------------------------------------------- */

#ifdef __wasm__
/* The C names differ from the import names: wasi-libc defines log() (the logarithm), and a
 * plain extern named log would link to it instead of importing. */
#define WL_IMPORT(name) __attribute__((import_module("wayline"), import_name(name)))
WL_IMPORT("log") void wl__host_log(int32_t level, const char *ptr, size_t len);
WL_IMPORT("error") void wl__host_error(int32_t code, const char *ptr, size_t len);
WL_IMPORT("now_unix_nano") int64_t wl__host_now_unix_nano(void);
WL_IMPORT("config_get") int32_t wl__host_config_get(const char *key, size_t key_len);
WL_IMPORT("secret_get") int32_t wl__host_secret_get(const char *name, size_t name_len);
WL_IMPORT("kv_get") int32_t wl__host_kv_get(const char *key, size_t key_len);
WL_IMPORT("kv_set") int32_t wl__host_kv_set(const char *key, size_t key_len, const void *val, size_t val_len);
WL_IMPORT("kv_delete") int32_t wl__host_kv_delete(const char *key, size_t key_len);
WL_IMPORT("http_request") int32_t wl__host_http_request(const char *req, size_t req_len);
WL_IMPORT("take_result") int32_t wl__host_take_result(char *dst, size_t cap);

WL_EXPORT("wayline_abi_version_1") void wayline_abi_version_1(void) {}

/* Blocks for the host to write inputs into. malloc aligns to 16, enough for anything. */
WL_EXPORT("wayline_alloc") void *wayline_alloc(uint32_t size) { return malloc(size ? size : 1); }

WL_EXPORT("wayline_free") void wayline_free(void *ptr, uint32_t size) {
	(void)size;
	free(ptr);
}
#else
/* Native builds (unit tests of plugin logic): nothing stored, the last error remembered. */
int wl__test_error_code;
char wl__test_error_msg[1024];
static void wl__host_log(int32_t level, const char *ptr, size_t len) {
	fprintf(stderr, "log[%d] %.*s\n", level, (int)len, ptr);
}
static void wl__host_error(int32_t code, const char *ptr, size_t len) {
	wl__test_error_code = code;
	snprintf(wl__test_error_msg, sizeof wl__test_error_msg, "%.*s", (int)len, ptr);
}
static int64_t wl__host_now_unix_nano(void) { return 0; }
static int32_t wl__host_config_get(const char *k, size_t n) { (void)k, (void)n; return WL_NOT_FOUND; }
static int32_t wl__host_secret_get(const char *k, size_t n) { (void)k, (void)n; return WL_NOT_FOUND; }
static int32_t wl__host_kv_get(const char *k, size_t n) { (void)k, (void)n; return WL_NOT_FOUND; }
static int32_t wl__host_kv_set(const char *k, size_t n, const void *v, size_t vn) {
	(void)k, (void)n, (void)v, (void)vn;
	return 0;
}
static int32_t wl__host_kv_delete(const char *k, size_t n) { (void)k, (void)n; return 0; }
static int32_t wl__host_http_request(const char *r, size_t n) { (void)r, (void)n; return WL_DENIED; }
static int32_t wl__host_take_result(char *d, size_t c) { (void)d, (void)c; return 0; }
#endif

/* ---- JSON: reading ---------------------------------------------------------------------- */

wl_type wl_type_of(const wl_json *v) { return v ? (wl_type)v->type : WL_JSON_MISSING; }

bool wl_is_null(const wl_json *v) { return !v || v->type == WL_JSON_NULL; }

const wl_json *wl_getn(const wl_json *obj, const char *key, size_t key_len) {
	if (!obj || obj->type != WL_JSON_OBJECT)
		return NULL;
	const wl_json *k = obj + 1;
	for (uint32_t i = 0; i < obj->len; i++) {
		/* Lengths first: keys mostly differ in length, and a memcmp call costs more. */
		if (k->len == key_len && memcmp(k->str, key, key_len) == 0)
			return k + 1;
		k = k + 1 + k[1].size;
	}
	return NULL;
}

const wl_json *wl_get(const wl_json *obj, const char *key) { return wl_getn(obj, key, strlen(key)); }

const wl_json *wl_path(const wl_json *v, const char *dotted) {
	while (v && *dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
		v = wl_getn(v, dotted, n);
		dotted += n + (dot != NULL);
	}
	return v;
}

const wl_json *wl_first(const wl_json *c) {
	if (!c || (c->type != WL_JSON_ARRAY && c->type != WL_JSON_OBJECT) || c->len == 0)
		return NULL;
	return c + 1;
}

const wl_json *wl_next(const wl_json *c, const wl_json *cur) {
	if (!c || !cur)
		return NULL;
	/* In an object cur is a key: skip it and its value. */
	const wl_json *n = c->type == WL_JSON_OBJECT ? cur + 1 + cur[1].size : cur + cur->size;
	return n < c + c->size ? n : NULL;
}

const wl_json *wl_at(const wl_json *arr, size_t i) {
	if (!arr || arr->type != WL_JSON_ARRAY || i >= arr->len)
		return NULL;
	const wl_json *e = arr + 1;
	while (i--)
		e += e->size;
	return e;
}

size_t wl_len(const wl_json *v) {
	return v && (v->type == WL_JSON_ARRAY || v->type == WL_JSON_OBJECT) ? v->len : 0;
}

/* Small integers, the common case, without the general (and slower) decimal conversion. */
static bool wl__small_int(const wl_json *v, int64_t *out) {
	const char *s = v->str;
	uint32_t n = v->len, i = s[0] == '-';
	if (n - i == 0 || n - i > 15)
		return false;
	int64_t x = 0;
	for (uint32_t j = i; j < n; j++) {
		if (s[j] < '0' || s[j] > '9')
			return false;
		x = x * 10 + (s[j] - '0');
	}
	*out = i ? -x : x;
	return true;
}

double wl_number(const wl_json *v, double dflt) {
	if (!v || v->type != WL_JSON_NUMBER)
		return dflt;
	int64_t i;
	if (wl__small_int(v, &i))
		return (double)i;
	/* The number's text is not NUL-terminated: copy it for strtod. */
	char buf[64];
	char *s = v->len < sizeof buf ? buf : malloc(v->len + 1);
	if (!s)
		return dflt;
	memcpy(s, v->str, v->len);
	s[v->len] = 0;
	double d = strtod(s, NULL);
	if (s != buf)
		free(s);
	return d;
}

bool wl_int(const wl_json *v, int64_t *out) {
	if (!v || v->type != WL_JSON_NUMBER)
		return false;
	if (wl__small_int(v, out))
		return true;
	double d = wl_number(v, NAN);
	/* Doubles from here on are integers; the range check keeps the cast defined. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
		return false;
	*out = (int64_t)d;
	return true;
}

bool wl_bool(const wl_json *v, bool dflt) {
	if (!v)
		return dflt;
	return v->type == WL_JSON_TRUE ? true : v->type == WL_JSON_FALSE ? false : dflt;
}

const char *wl_str(const wl_json *v, const char *dflt) {
	return v && v->type == WL_JSON_STRING ? v->str : dflt;
}

size_t wl_str_len(const wl_json *v) { return v && v->type == WL_JSON_STRING ? v->len : 0; }

bool wl_str_eq(const wl_json *v, const char *s) {
	size_t n = strlen(s);
	return v && v->type == WL_JSON_STRING && v->len == n && memcmp(v->str, s, n) == 0;
}

/* ---- JSON: parsing ---------------------------------------------------------------------- */

typedef struct wl__parser {
	wl_doc *doc;
	char *base; /* for error offsets */
	const char *reason;
	const char *at;
} wl__parser;

static bool wl__fail_at(wl__parser *p, const char *at, const char *reason) {
	p->at = at;
	p->reason = reason;
	return false;
}

static bool wl__push(wl__parser *p, uint8_t type, const char *str, uint32_t len) {
	wl_doc *d = p->doc;
	if (d->len == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		wl_json *n = realloc(d->nodes, cap * sizeof *n);
		if (!n)
			return wl__fail_at(p, str ? str : p->base, "out of memory");
		d->nodes = n;
		d->cap = cap;
	}
	wl_json *n = &d->nodes[d->len++];
	n->type = type;
	n->len = len;
	n->str = str;
	n->size = 1;
	return true;
}

static const char *wl__skip_ws(const char *s) {
	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	return s;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. The text is NUL-terminated, and NUL is not a
 * continuation byte, so reading ahead stops at the end. */
static int wl__utf8_len(const unsigned char *s) {
	unsigned c = s[0], c1 = s[1];
	int n;
	if (c >= 0xC2 && c <= 0xDF)
		return c1 >= 0x80 && c1 <= 0xBF ? 2 : 0;
	if (c == 0xE0)
		n = 3, c1 = c1 >= 0xA0 && c1 <= 0xBF;
	else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		n = 3, c1 = c1 >= 0x80 && c1 <= 0xBF;
	else if (c == 0xED)
		n = 3, c1 = c1 >= 0x80 && c1 <= 0x9F;
	else if (c == 0xF0)
		n = 4, c1 = c1 >= 0x90 && c1 <= 0xBF;
	else if (c >= 0xF1 && c <= 0xF3)
		n = 4, c1 = c1 >= 0x80 && c1 <= 0xBF;
	else if (c == 0xF4)
		n = 4, c1 = c1 >= 0x80 && c1 <= 0x8F;
	else
		return 0;
	if (!c1)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

static int wl__hex(unsigned c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? (int)c - 'a' + 10 : -1;
}

static int32_t wl__hex4(const char *s) {
	int32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = wl__hex((unsigned char)s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static char *wl__put_utf8(char *w, uint32_t cp) {
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xC0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xE0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (char)(0xF0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	}
	return w;
}

/* Decodes the escapes of a checked string in place: the text only shrinks. A lone UTF-16
 * surrogate becomes U+FFFD, as the host's Go decoder does. Returns the end of the text. */
static char *wl__unescape(char *r, char *end) {
	char *w = r;
	while (r < end) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		char c = r[1];
		r += 2;
		switch (c) {
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			uint32_t cp = (uint32_t)wl__hex4(r);
			r += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && r + 6 <= end && r[0] == '\\' && r[1] == 'u') {
				uint32_t lo = (uint32_t)wl__hex4(r + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					r += 6;
				}
			}
			if (cp >= 0xD800 && cp < 0xE000)
				cp = 0xFFFD;
			w = wl__put_utf8(w, cp);
			break;
		}
		default: *w++ = c; /* '"', '\\', '/' */
		}
	}
	return w;
}

/* Whether any byte of x is '"', '\\', below 0x20 or from 0x80 up: the bytes that end the
 * fast scan of a string. Only bytes after a real match can flag falsely (a borrow), so the
 * lowest flagged byte is exact. */
static inline uint64_t wl__special8(uint64_t x) {
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | (x & highs);
}

/* Parses the string whose opening quote is at s; returns the byte after the closing quote. */
static char *wl__string(wl__parser *p, char *s, char *end) {
	char *start = s + 1, *q = start;
	bool escaped = false;
	for (;;) {
		while (q + 8 <= end) {
			uint64_t x;
			memcpy(&x, q, 8);
			uint64_t m = wl__special8(x) & 0x8080808080808080ull;
			if (m) {
				q += __builtin_ctzll(m) / 8;
				break;
			}
			q += 8;
		}
		unsigned char c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c == '\\') {
			escaped = true;
			char e = q[1];
			if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't')
				q += 2;
			else if (e == 'u' && wl__hex4(q + 2) >= 0) /* stops at the terminating NUL */
				q += 6;
			else
				return wl__fail_at(p, q, "invalid escape"), NULL;
		} else if (c >= 0x80) {
			int n = wl__utf8_len((const unsigned char *)q);
			if (!n)
				return wl__fail_at(p, q, "invalid UTF-8"), NULL;
			q += n;
		} else if (q >= end) {
			return wl__fail_at(p, q, "unterminated string"), NULL;
		} else if (c < 0x20) {
			return wl__fail_at(p, q, "control character in a string"), NULL;
		} else {
			q++;
		}
	}
	char *text_end = escaped ? wl__unescape(start, q) : q;
	*text_end = 0;
	if (!wl__push(p, WL_JSON_STRING, start, (uint32_t)(text_end - start)))
		return NULL;
	return q + 1;
}

static const char *wl__digits(const char *s) {
	while (*s >= '0' && *s <= '9')
		s++;
	return s;
}

static char *wl__number(wl__parser *p, char *s) {
	const char *q = s + (*s == '-');
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		q = wl__digits(q + 1);
	else
		return wl__fail_at(p, q, "invalid number"), NULL;
	if (*q == '.') {
		const char *d = wl__digits(q + 1);
		if (d == q + 1)
			return wl__fail_at(p, d, "invalid number: no digits after '.'"), NULL;
		q = d;
	}
	if (*q == 'e' || *q == 'E') {
		q += 1 + (q[1] == '+' || q[1] == '-');
		const char *d = wl__digits(q);
		if (d == q)
			return wl__fail_at(p, d, "invalid number: no digits in the exponent"), NULL;
		q = d;
	}
	if (!wl__push(p, WL_JSON_NUMBER, s, (uint32_t)(q - s)))
		return NULL;
	return (char *)q;
}

/* Parses `"key" :` at s; returns where the member's value starts. */
static char *wl__key(wl__parser *p, char *s, char *end) {
	if (*s != '"')
		return wl__fail_at(p, s, "expected a string key"), NULL;
	s = wl__string(p, s, end);
	if (!s)
		return NULL;
	s = (char *)wl__skip_ws(s);
	if (*s != ':')
		return wl__fail_at(p, s, "expected ':' after a key"), NULL;
	return (char *)wl__skip_ws(s + 1);
}

/* Parses the NUL-terminated text s[0..n) in place into doc. Iterative, with the open
 * containers on a fixed stack, so no input can exhaust the guest's (small) stack. */
static bool wl__parse_insitu(wl_doc *doc, char *s, size_t n) {
	wl__parser p = {doc, s, NULL, NULL};
	char *end = s + n;
	uint32_t open[WL_MAX_DEPTH], count[WL_MAX_DEPTH];
	uint64_t objects = 0;
	int depth = 0;
	doc->len = 0;
	doc->error[0] = 0;
	if (n >= UINT32_MAX) {
		snprintf(doc->error, sizeof doc->error, "input too large");
		return false;
	}
	s = (char *)wl__skip_ws(s);
	for (;;) {
		/* A value starts at s. */
		char *value = s;
		if (depth > 0 && !(objects >> (depth - 1) & 1))
			count[depth - 1]++;
		switch (*s) {
		case '{':
		case '[': {
			if (depth == WL_MAX_DEPTH) {
				wl__fail_at(&p, s, "nesting deeper than 64 levels");
				goto fail;
			}
			bool obj = *s == '{';
			if (!wl__push(&p, obj ? WL_JSON_OBJECT : WL_JSON_ARRAY, NULL, 0))
				goto fail;
			open[depth] = doc->len - 1;
			count[depth] = 0;
			objects = (objects & ~(1ull << depth)) | ((uint64_t)obj << depth);
			depth++;
			s = (char *)wl__skip_ws(s + 1);
			if (*s == (obj ? '}' : ']'))
				break; /* empty: the loop below closes it */
			if (obj) {
				count[depth - 1]++;
				if (!(s = wl__key(&p, s, end)))
					goto fail;
			}
			continue;
		}
		case '"':
			s = wl__string(&p, s, end);
			break;
		case 't':
			s = strncmp(s, "true", 4) ? NULL : wl__push(&p, WL_JSON_TRUE, s, 4) ? s + 4 : NULL;
			break;
		case 'f':
			s = strncmp(s, "false", 5) ? NULL : wl__push(&p, WL_JSON_FALSE, s, 5) ? s + 5 : NULL;
			break;
		case 'n':
			s = strncmp(s, "null", 4) ? NULL : wl__push(&p, WL_JSON_NULL, s, 4) ? s + 4 : NULL;
			break;
		case '-':
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			s = wl__number(&p, s);
			break;
		default:
			wl__fail_at(&p, s, s < end ? "expected a value" : "unexpected end of input");
			goto fail;
		}
		if (!s) {
			if (!p.reason)
				wl__fail_at(&p, value, "invalid literal");
			goto fail;
		}
		/* A value ended before s (or an empty container closes at s): close containers and
		 * find where the next value starts. */
		for (;;) {
			if (depth == 0)
				goto done;
			bool obj = objects >> (depth - 1) & 1;
			s = (char *)wl__skip_ws(s);
			if (*s == (obj ? '}' : ']')) {
				wl_json *c = &doc->nodes[open[depth - 1]];
				c->len = count[depth - 1];
				c->size = doc->len - open[depth - 1];
				depth--;
				s++;
			} else if (*s == ',') {
				s = (char *)wl__skip_ws(s + 1);
				if (obj) {
					count[depth - 1]++;
					if (!(s = wl__key(&p, s, end)))
						goto fail;
				}
				break;
			} else {
				wl__fail_at(&p, s, "expected ',' or the end of the container");
				goto fail;
			}
		}
	}
done:
	if (wl__skip_ws(s) != end) {
		wl__fail_at(&p, s, "unexpected data after the value");
		goto fail;
	}
	return true;
fail:
	snprintf(doc->error, sizeof doc->error, "invalid JSON at byte %u: %s", (unsigned)(p.at - p.base), p.reason);
	doc->len = 0;
	return false;
}

int wl_parse(wl_doc *doc, const char *text, size_t len) {
	if (len + 1 > doc->text_cap || !doc->text) {
		char *t = realloc(doc->text, len + 1);
		if (!t) {
			snprintf(doc->error, sizeof doc->error, "out of memory");
			return -1;
		}
		doc->text = t;
		doc->text_cap = (uint32_t)(len + 1);
	}
	memcpy(doc->text, text, len);
	doc->text[len] = 0;
	return wl__parse_insitu(doc, doc->text, len) ? 0 : -1;
}

const wl_json *wl_doc_root(const wl_doc *doc) { return doc->len ? &doc->nodes[0] : NULL; }

void wl_doc_free(wl_doc *doc) {
	free(doc->nodes);
	free(doc->text);
	memset(doc, 0, sizeof *doc);
}

/* ---- JSON: writing ---------------------------------------------------------------------- */

static bool wl__reserve(wl_writer *w, size_t n) {
	if (w->oom)
		return false;
	if ((size_t)w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < (size_t)w->len + n)
		cap *= 2;
	char *b = cap <= UINT32_MAX ? realloc(w->buf, cap) : NULL;
	if (!b) {
		w->oom = true;
		return false;
	}
	w->buf = b;
	w->cap = (uint32_t)cap;
	return true;
}

static void wl__put(wl_writer *w, const char *s, size_t n) {
	if (wl__reserve(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += (uint32_t)n;
	}
}

/* The comma before an item, unless it is a member's value or a container's first item. */
static void wl__sep(wl_writer *w) {
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	uint64_t bit = 1ull << (w->depth - 1);
	if (w->has_items & bit)
		wl__put(w, ",", 1);
	w->has_items |= bit;
}

static void wl__open(wl_writer *w, char c) {
	wl__sep(w);
	if (w->depth == WL_MAX_DEPTH) {
		w->oom = true; /* deeper than any reader accepts: fail the output */
		return;
	}
	wl__put(w, &c, 1);
	w->has_items &= ~(1ull << w->depth);
	w->depth++;
}

static void wl__close(wl_writer *w, char c) {
	if (w->depth == 0) {
		w->oom = true;
		return;
	}
	wl__put(w, &c, 1);
	w->depth--;
}

void wl_w_object_begin(wl_writer *w) { wl__open(w, '{'); }
void wl_w_object_end(wl_writer *w) { wl__close(w, '}'); }
void wl_w_array_begin(wl_writer *w) { wl__open(w, '['); }
void wl_w_array_end(wl_writer *w) { wl__close(w, ']'); }

static const char wl__hexdigits[] = "0123456789abcdef";

/* Writes a JSON string. Bytes that are not UTF-8 (a reason cut mid-character by snprintf)
 * become U+FFFD, so the output is always valid JSON. */
static void wl__string_out(wl_writer *w, const char *s, size_t n) {
	if (!wl__reserve(w, n + 2))
		return;
	w->buf[w->len++] = '"';
	size_t run = 0, i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			/* s may not be NUL-terminated: check the sequence fits before reading it. */
			unsigned char seq[5] = {0};
			memcpy(seq, s + i, n - i < 4 ? n - i : 4);
			int len = wl__utf8_len(seq);
			if (len) {
				i += len;
				continue;
			}
		}
		wl__put(w, s + run, i - run);
		char esc[6] = {'\\', 'u', '0', '0', wl__hexdigits[c >> 4], wl__hexdigits[c & 15]};
		switch (c) {
		case '"': wl__put(w, "\\\"", 2); break;
		case '\\': wl__put(w, "\\\\", 2); break;
		case '\n': wl__put(w, "\\n", 2); break;
		case '\r': wl__put(w, "\\r", 2); break;
		case '\t': wl__put(w, "\\t", 2); break;
		default:
			if (c >= 0x80)
				wl__put(w, "\xEF\xBF\xBD", 3);
			else
				wl__put(w, esc, 6);
		}
		run = ++i;
	}
	wl__put(w, s + run, n - run);
	wl__put(w, "\"", 1);
}

void wl_w_key(wl_writer *w, const char *key) {
	wl__sep(w);
	wl__string_out(w, key, strlen(key));
	wl__put(w, ":", 1);
	w->after_key = true;
}

void wl_w_stringn(wl_writer *w, const char *s, size_t n) {
	wl__sep(w);
	wl__string_out(w, s, n);
}

void wl_w_string(wl_writer *w, const char *s) { wl_w_stringn(w, s, strlen(s)); }

void wl_w_int(wl_writer *w, int64_t v) {
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
	wl__sep(w);
	wl__put(w, buf, (size_t)n);
}

void wl_w_number(wl_writer *w, double d) {
	if (!isfinite(d)) {
		wl_w_null(w);
		return;
	}
	if (d == floor(d) && fabs(d) < 1e15) {
		wl_w_int(w, (int64_t)d);
		return;
	}
	/* The fewest significant digits, from 15, that read back as the same double (17 always
	 * do). */
	char buf[32];
	int n = 0;
	for (int digits = 15; digits <= 17; digits++) {
		n = snprintf(buf, sizeof buf, "%.*g", digits, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	wl__sep(w);
	wl__put(w, buf, (size_t)n);
}

void wl_w_bool(wl_writer *w, bool b) {
	wl__sep(w);
	wl__put(w, b ? "true" : "false", b ? 4 : 5);
}

void wl_w_null(wl_writer *w) {
	wl__sep(w);
	wl__put(w, "null", 4);
}

void wl_w_json(wl_writer *w, const wl_json *v) {
	switch (wl_type_of(v)) {
	case WL_JSON_MISSING:
	case WL_JSON_NULL: wl_w_null(w); break;
	case WL_JSON_FALSE: wl_w_bool(w, false); break;
	case WL_JSON_TRUE: wl_w_bool(w, true); break;
	case WL_JSON_NUMBER:
		wl__sep(w);
		wl__put(w, v->str, v->len); /* already valid JSON number text */
		break;
	case WL_JSON_STRING: wl_w_stringn(w, v->str, v->len); break;
	case WL_JSON_ARRAY:
		wl_w_array_begin(w);
		WL_FOREACH(e, v) wl_w_json(w, e);
		wl_w_array_end(w);
		break;
	case WL_JSON_OBJECT:
		wl_w_object_begin(w);
		WL_FOREACH_MEMBER(k, v) {
			wl__sep(w);
			wl__string_out(w, k->str, k->len);
			wl__put(w, ":", 1);
			w->after_key = true;
			wl_w_json(w, k + 1);
		}
		wl_w_object_end(w);
		break;
	}
}

void wl_writer_free(wl_writer *w) {
	free(w->buf);
	memset(w, 0, sizeof *w);
}

/* ---- Host functions --------------------------------------------------------------------- */

/* Copies n bytes out of the host's result slot into a new NUL-terminated buffer. */
static char *wl__take(size_t n) {
	char *b = malloc(n + 1);
	if (!b)
		return NULL;
	int32_t got = wl__host_take_result(b, n);
	b[got < 0 ? 0 : (size_t)got > n ? n : (size_t)got] = 0;
	return b;
}

/* The most of a failed call's message copied out: the host returns the status, not its length. */
#define WL_FAILED_MESSAGE_CAP 4096

static int32_t wl__bytes_result(int32_t r, char **value) {
	*value = NULL;
	if (r >= 0) {
		*value = wl__take((size_t)r);
		return *value ? r : WL_LIMIT;
	}
	if (r == WL_FAILED)
		*value = wl__take(WL_FAILED_MESSAGE_CAP);
	return r;
}

static void wl__vlog(wl_level level, const char *fmt, va_list ap) {
	char buf[512];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	if ((size_t)n < sizeof buf) {
		wl__host_log(level, buf, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);
		if (big) {
			vsnprintf(big, (size_t)n + 1, fmt, ap2);
			wl__host_log(level, big, (size_t)n);
			free(big);
		}
	}
	va_end(ap2);
}

void wl_log(wl_level level, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	wl__vlog(level, fmt, ap);
	va_end(ap);
}

int64_t wl_now_unix_nano(void) { return wl__host_now_unix_nano(); }

int32_t wl_config_get(const char *key, char **value) {
	return wl__bytes_result(wl__host_config_get(key, strlen(key)), value);
}

int32_t wl_secret_get(const char *name, char **value) {
	return wl__bytes_result(wl__host_secret_get(name, strlen(name)), value);
}

int32_t wl_kv_get(const char *key, size_t key_len, char **value) {
	return wl__bytes_result(wl__host_kv_get(key, key_len), value);
}

int32_t wl_kv_set(const char *key, size_t key_len, const void *value, size_t value_len) {
	int32_t r = wl__host_kv_set(key, key_len, value, value_len);
	char *msg;
	if (r == WL_FAILED && (msg = wl__take(WL_FAILED_MESSAGE_CAP))) {
		wl_log(WL_LOG_WARN, "kv_set failed: %s", msg);
		free(msg);
	}
	return r;
}

int32_t wl_kv_delete(const char *key, size_t key_len) {
	int32_t r = wl__host_kv_delete(key, key_len);
	char *msg;
	if (r == WL_FAILED && (msg = wl__take(WL_FAILED_MESSAGE_CAP))) {
		wl_log(WL_LOG_WARN, "kv_delete failed: %s", msg);
		free(msg);
	}
	return r;
}

int32_t wl_http_request(const char *request, size_t request_len, char **response) {
	return wl__bytes_result(wl__host_http_request(request, request_len), response);
}

const char *wl_status_name(int32_t status) {
	switch (status) {
	case WL_NOT_FOUND: return "not_found";
	case WL_DENIED: return "denied";
	case WL_LIMIT: return "limit";
	case WL_FAILED: return "failed";
	case WL_INVALID: return "invalid";
	case WL_UNAVAILABLE: return "unavailable";
	}
	return status >= 0 ? "ok" : "unknown";
}

const char *wl_error_name(int code) {
	switch (code) {
	case WL_OK: return "ok";
	case WL_INVALID_INPUT: return "invalid_input";
	case WL_INVALID_CONFIG: return "invalid_config";
	case WL_UPSTREAM: return "upstream";
	case WL_INTERNAL: return "internal";
	case WL_REJECTED: return "rejected";
	}
	return "unknown";
}

/* ---- One call --------------------------------------------------------------------------- */

/* Per-instance state, reused from call to call. The output must stay valid until the next
 * call (ABI "One call", step 3). */
static wl_doc wl__input;
static wl_writer wl__out;
static char wl__msg[1024];

int wl_fail(wl_error_code code, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wl__msg, sizeof wl__msg, fmt, ap);
	va_end(ap);
	return code > WL_OK && code <= WL_REJECTED ? (int)code : WL_INTERNAL;
}

void wl_reason(wl_condition_output *out, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

void wl_reason_num(wl_condition_output *out, const char *label, double value, int decimals) {
	char *w = out->reason, *end = out->reason + sizeof out->reason - 1;
	while (*label && w < end)
		*w++ = *label++;
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	uint64_t scale = 1;
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	double scaled = fabs(value) * (double)scale + 0.5;
	char digits[48];
	int n = 0;
	if (!isfinite(value) || scaled >= 1e18) {
		/* Out of fixed-point range: rare enough to afford printf. */
		n = snprintf(digits, sizeof digits, "%.*g", decimals > 0 ? decimals : 1, value);
	} else {
		uint64_t v = (uint64_t)scaled, ip = v / scale, fp = v % scale;
		char rev[24];
		int r = 0;
		do {
			rev[r++] = (char)('0' + ip % 10);
			ip /= 10;
		} while (ip);
		if (value < 0 && v > 0)
			digits[n++] = '-';
		while (r > 0)
			digits[n++] = rev[--r];
		if (decimals > 0) {
			digits[n++] = '.';
			for (int i = decimals - 1; i >= 0; i--, fp /= 10)
				digits[n + i] = (char)('0' + fp % 10);
			n += decimals;
		}
	}
	for (int i = 0; i < n && w < end; i++)
		*w++ = digits[i];
	*w = 0;
}

/* A handler's return value as an error code; anything unknown is a plugin bug. */
static int wl__code(int rc) {
	if (rc > WL_OK && rc <= WL_REJECTED)
		return rc;
	if (rc != WL_OK && !wl__msg[0])
		snprintf(wl__msg, sizeof wl__msg, "handler returned %d, not an error code", rc);
	return rc == WL_OK ? WL_OK : WL_INTERNAL;
}

static const char *wl__message(int rc) { return wl__msg[0] ? wl__msg : wl_error_name(rc); }

static void wl__begin(void) {
	wl__out.len = 0;
	wl__out.has_items = 0;
	wl__out.depth = 0;
	wl__out.after_key = false;
	wl__out.oom = false;
	wl__msg[0] = 0;
}

#ifndef __wasm__
/* Native tests read the output here: a 64-bit pointer does not fit the packed return. */
const char *wl__test_output(size_t *len) {
	*len = wl__out.len;
	return wl__out.buf;
}
#endif

static uint64_t wl__finish(int rc) {
	if (rc == WL_OK && wl__out.oom)
		rc = wl_fail(WL_INTERNAL, "the output could not be written (out of memory, or unbalanced writer calls)");
	if (rc != WL_OK) {
		const char *m = wl__message(rc);
		wl__host_error(rc, m, strlen(m));
		return 0;
	}
	return (uint64_t)(uintptr_t)wl__out.buf << 32 | wl__out.len;
}

static int wl__parse_input(const char *in, uint32_t len, const wl_json **root) {
	if (wl_parse(&wl__input, in, len) != 0)
		return wl_fail(WL_INVALID_INPUT, "%s", wl__input.error);
	*root = wl_doc_root(&wl__input);
	if ((*root)->type != WL_JSON_OBJECT)
		return wl_fail(WL_INVALID_INPUT, "input is not a JSON object");
	return WL_OK;
}

/* An input member that must be an object; absent or null reads as NULL. */
static int wl__object_field(const wl_json *parent, const char *key, const char *what, const wl_json **out) {
	const wl_json *v = wl_get(parent, key);
	if (v && v->type == WL_JSON_NULL)
		v = NULL;
	if (v && v->type != WL_JSON_OBJECT)
		return wl_fail(WL_INVALID_INPUT, "%s%s must be an object", what, key);
	*out = v;
	return WL_OK;
}

/* An input member that must be a string; absent or null reads as "". */
static int wl__string_field(const wl_json *parent, const char *key, const char *what, const char **out) {
	const wl_json *v = wl_get(parent, key);
	if (v && v->type != WL_JSON_NULL && v->type != WL_JSON_STRING)
		return wl_fail(WL_INVALID_INPUT, "%s%s must be a string", what, key);
	*out = wl_str(v, "");
	return WL_OK;
}

static int wl__profile(const wl_json *parent, wl_profile *p) {
	int rc;
	if ((rc = wl__object_field(parent, "profile", "", &p->raw)) ||
	    (rc = wl__string_field(p->raw, "id", "profile.", &p->id)) ||
	    (rc = wl__object_field(p->raw, "attributes", "profile.", &p->attributes)))
		return rc;
	return WL_OK;
}

/* The batch input keeps config and now once (shared) and the rest per item. */
static int wl__condition_input(const wl_json *shared, const wl_json *item, wl_condition_input *in) {
	wl_event *e = &in->event;
	int rc;
	in->raw = item;
	if ((rc = wl__object_field(shared, "config", "", &in->config)) ||
	    (rc = wl__string_field(shared, "now", "", &in->now)) ||
	    (rc = wl__object_field(item, "vars", "", &in->vars)) ||
	    (rc = wl__object_field(item, "event", "", &e->raw)) ||
	    (rc = wl__string_field(e->raw, "id", "event.", &e->id)) ||
	    (rc = wl__string_field(e->raw, "type", "event.", &e->type)) ||
	    (rc = wl__string_field(e->raw, "timestamp", "event.", &e->timestamp)) ||
	    (rc = wl__string_field(e->raw, "identity", "event.", &e->identity)) ||
	    (rc = wl__object_field(e->raw, "data", "event.", &e->data)) ||
	    (rc = wl__profile(item, &in->profile)))
		return rc;
	return WL_OK;
}

static int wl__condition_one(const wl_json *shared, const wl_json *item, wl_condition_fn fn) {
	wl_condition_input in;
	wl_condition_output out;
	out.result = false;
	out.reason[0] = 0;
	int rc = wl__condition_input(shared, item, &in);
	if (rc == WL_OK)
		rc = wl__code(fn(&in, &out));
	if (rc != WL_OK)
		return rc;
	wl_w_object_begin(&wl__out);
	wl_w_key(&wl__out, "result");
	wl_w_bool(&wl__out, out.result);
	if (out.reason[0]) {
		out.reason[sizeof out.reason - 1] = 0;
		wl_w_key(&wl__out, "reason");
		wl_w_string(&wl__out, out.reason);
	}
	wl_w_object_end(&wl__out);
	return WL_OK;
}

uint64_t wl__run_condition(const char *input, uint32_t len, wl_condition_fn fn, bool batch) {
	wl__begin();
	const wl_json *root;
	int rc = wl__parse_input(input, len, &root);
	if (rc == WL_OK && !batch)
		rc = wl__condition_one(root, root, fn);
	if (rc == WL_OK && batch) {
		/* One result per item, in order; an item that fails does not fail the batch. */
		const wl_json *items = wl_get(root, "items");
		if (wl_type_of(items) != WL_JSON_ARRAY)
			return wl__finish(wl_fail(WL_INVALID_INPUT, "batch input has no items array"));
		wl_w_object_begin(&wl__out);
		wl_w_key(&wl__out, "results");
		wl_w_array_begin(&wl__out);
		size_t i = 0;
		WL_FOREACH(item, items) {
			wl__msg[0] = 0;
			int irc = wl_type_of(item) == WL_JSON_OBJECT
			              ? wl__condition_one(root, item, fn)
			              : wl_fail(WL_INVALID_INPUT, "items[%zu] is not an object", i);
			if (irc != WL_OK) {
				wl_w_object_begin(&wl__out);
				wl_w_key(&wl__out, "error");
				wl_w_object_begin(&wl__out);
				wl_w_key(&wl__out, "code");
				wl_w_int(&wl__out, irc);
				wl_w_key(&wl__out, "message");
				wl_w_string(&wl__out, wl__message(irc));
				wl_w_object_end(&wl__out);
				wl_w_object_end(&wl__out);
			}
			i++;
		}
		wl_w_array_end(&wl__out);
		wl_w_object_end(&wl__out);
	}
	return wl__finish(rc);
}

/* Checks the plugin left the writer where the SDK handed it over. */
static int wl__writer_balanced(uint8_t depth) {
	if (wl__out.depth != depth || wl__out.after_key)
		return wl_fail(WL_INTERNAL, "unbalanced JSON writer calls in the handler (a begin without an end, or a key without a value)");
	return WL_OK;
}

uint64_t wl__run_datasource(const char *input, uint32_t len, wl_datasource_fn fn) {
	wl__begin();
	const wl_json *root;
	wl_datasource_input in = {0};
	wl_datasource_output out = {&wl__out};
	int rc = wl__parse_input(input, len, &root);
	if (rc == WL_OK) {
		in.raw = root;
		if (!(rc = wl__object_field(root, "config", "", &in.config)) &&
		    !(rc = wl__string_field(root, "group", "", &in.group)))
			rc = wl__object_field(root, "params", "", &in.params);
	}
	if (rc == WL_OK) {
		wl_w_object_begin(&wl__out);
		wl_w_key(&wl__out, "fields");
		wl_w_object_begin(&wl__out);
		rc = wl__code(fn(&in, &out));
	}
	if (rc == WL_OK && !(rc = wl__writer_balanced(2))) {
		wl_w_object_end(&wl__out);
		wl_w_object_end(&wl__out);
	}
	return wl__finish(rc);
}

uint64_t wl__run_action(const char *input, uint32_t len, wl_action_fn fn) {
	wl__begin();
	const wl_json *root;
	wl_action_input in = {0};
	wl_action_output out = {true, &wl__out};
	int rc = wl__parse_input(input, len, &root);
	if (rc == WL_OK) {
		const wl_json *attempt = wl_get(root, "attempt");
		int64_t a = 1;
		in.raw = root;
		in.payload = wl_get(root, "payload");
		if (!wl_is_null(attempt) && (!wl_int(attempt, &a) || a < 0 || a > UINT32_MAX))
			rc = wl_fail(WL_INVALID_INPUT, "attempt must be a non-negative integer");
		in.attempt = (uint32_t)a;
		if (!rc && !(rc = wl__object_field(root, "config", "", &in.config)) &&
		    !(rc = wl__string_field(root, "idempotencyKey", "", &in.idempotency_key)))
			rc = wl__profile(root, &in.profile);
	}
	if (rc == WL_OK) {
		wl_w_object_begin(&wl__out);
		/* "data" goes first so it can be taken back when the handler writes nothing. */
		wl_writer before = wl__out;
		wl_w_key(&wl__out, "data");
		wl_w_object_begin(&wl__out);
		rc = wl__code(fn(&in, &out));
		if (rc == WL_OK && !(rc = wl__writer_balanced(2))) {
			if (wl__out.has_items & (1ull << 1)) {
				wl_w_object_end(&wl__out);
			} else {
				before.buf = wl__out.buf; /* the buffer may have moved */
				before.cap = wl__out.cap;
				before.oom = wl__out.oom;
				wl__out = before;
			}
			wl_w_key(&wl__out, "ok");
			wl_w_bool(&wl__out, out.ok);
			wl_w_object_end(&wl__out);
		}
	}
	return wl__finish(rc);
}
