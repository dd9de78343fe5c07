/*
 * Native unit tests for the C SDK, run under AddressSanitizer and UBSan by test.sh: the JSON
 * parser and writer, the handler plumbing, and a mutation fuzz of the parser.
 */
#include "wayline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int wl__test_error_code;
extern char wl__test_error_msg[];
const char *wl__test_output(size_t *len);

static int failures;
#define CHECK(cond, ...)                                                    \
	do {                                                                    \
		if (!(cond)) {                                                      \
			failures++;                                                     \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);      \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
		}                                                                   \
	} while (0)

static wl_doc doc;

static const wl_json *parse(const char *s) {
	return wl_parse(&doc, s, strlen(s)) == 0 ? wl_doc_root(&doc) : NULL;
}

static void test_lookups(void) {
	const wl_json *r = parse(" {\"a\":{\"b\":[1,-2.5e1,true,null,\"x\"]},\"c\":\"d\",\"e\":{}} ");
	CHECK(r, "%s", doc.error);
	const wl_json *arr = wl_path(r, "a.b");
	CHECK(wl_len(arr) == 5, "len %zu", wl_len(arr));
	CHECK(wl_number(wl_at(arr, 0), 0) == 1, "at 0");
	CHECK(wl_number(wl_at(arr, 1), 0) == -25, "at 1");
	CHECK(wl_bool(wl_at(arr, 2), false), "at 2");
	CHECK(wl_type_of(wl_at(arr, 3)) == WL_JSON_NULL && wl_is_null(wl_at(arr, 3)), "at 3");
	CHECK(wl_str_eq(wl_at(arr, 4), "x"), "at 4");
	CHECK(wl_at(arr, 5) == NULL, "at 5");
	CHECK(wl_str_eq(wl_get(r, "c"), "d"), "c");
	CHECK(wl_len(wl_get(r, "e")) == 0 && wl_first(wl_get(r, "e")) == NULL, "e");
	CHECK(wl_get(wl_get(r, "zz"), "y") == NULL, "missing chain");
	const char *keys[3];
	int n = 0;
	WL_FOREACH_MEMBER(k, r) if (n < 3) keys[n++] = k->str;
	CHECK(n == 3 && !strcmp(keys[0], "a") && !strcmp(keys[1], "c") && !strcmp(keys[2], "e"), "keys");
	int elems = 0;
	WL_FOREACH(e, arr) elems++;
	CHECK(elems == 5, "elements %d", elems);
}

static void test_escapes(void) {
	const wl_json *r = parse("[\"a\\\"b\\\\c\\/\\n\\t\\u00e9\\ud83d\\ude00\", \"\\ud800x\", \"k\\u0041y\", \"nul\\u0000in\"]");
	CHECK(r, "%s", doc.error);
	CHECK(!strcmp(wl_str(wl_at(r, 0), ""), "a\"b\\c/\n\t\xc3\xa9\xf0\x9f\x98\x80"), "decoded %s", wl_str(wl_at(r, 0), ""));
	CHECK(!strcmp(wl_str(wl_at(r, 1), ""), "\xef\xbf\xbdx"), "lone surrogate");
	CHECK(wl_str_eq(wl_at(r, 2), "kAy"), "kAy");
	CHECK(wl_str_len(wl_at(r, 3)) == 6, "embedded NUL length %zu", wl_str_len(wl_at(r, 3)));
	r = parse("{\"k\\u0041y\":1}");
	CHECK(wl_number(wl_get(r, "kAy"), 0) == 1, "escaped key");
}

static void test_malformed(void) {
	const char *bad[] = {"", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-", "1e", "+1", "tru",
	                     "nul", "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"a\nb\"", "[1 2]", "{} {}", "{'a':1}",
	                     "[1]]", "NaN", "\"\\u12\"", "\"\\", "[\"\xff\"]", "\"\xc3\"", "\"\xc0\xaf\"",
	                     "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\xef\xbb\xbf{}", "[1]\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(wl_parse(&doc, bad[i], strlen(bad[i])) != 0, "accepted %s", bad[i]);
	char nul[] = "[1,\0]";
	CHECK(wl_parse(&doc, nul, 5) != 0, "accepted an embedded NUL");
}

static void test_depth(void) {
	char buf[2 * (WL_MAX_DEPTH + 1) + 1];
	memset(buf, '[', WL_MAX_DEPTH);
	memset(buf + WL_MAX_DEPTH, ']', WL_MAX_DEPTH);
	CHECK(wl_parse(&doc, buf, 2 * WL_MAX_DEPTH) == 0, "depth %d rejected: %s", WL_MAX_DEPTH, doc.error);
	memset(buf, '[', WL_MAX_DEPTH + 1);
	memset(buf + WL_MAX_DEPTH + 1, ']', WL_MAX_DEPTH + 1);
	CHECK(wl_parse(&doc, buf, 2 * (WL_MAX_DEPTH + 1)) != 0, "depth %d accepted", WL_MAX_DEPTH + 1);
	CHECK(strstr(doc.error, "nesting") != NULL, "error %s", doc.error);
	size_t n = 1 << 20;
	char *deep = malloc(n);
	memset(deep, '{', n);
	CHECK(wl_parse(&doc, deep, n) != 0, "a megabyte of '{' accepted");
	free(deep);
}

static void test_numbers(void) {
	const wl_json *r = parse("[0, -0, 12345678901234567890, 1.5, 3e2, 9007199254740993, -7, 1e400]");
	int64_t i;
	CHECK(wl_number(wl_at(r, 2), 0) == 12345678901234567890.0, "big");
	CHECK(!wl_int(wl_at(r, 2), &i), "big int");
	CHECK(!wl_int(wl_at(r, 3), &i), "1.5 int");
	CHECK(wl_int(wl_at(r, 4), &i) && i == 300, "3e2");
	CHECK(wl_number(wl_at(r, 6), 0) == -7, "-7");
	CHECK(isinf(wl_number(wl_at(r, 7), 0)), "1e400");
	CHECK(wl_number(wl_at(r, 8), 42) == 42 && wl_number(wl_get(r, "x"), 42) == 42, "defaults");
}

static void test_writer(void) {
	wl_writer w = {0};
	wl_w_object_begin(&w);
	wl_w_key(&w, "s");
	wl_w_string(&w, "q\"\\\x01\n \xc3\xa9");
	wl_w_key(&w, "n");
	wl_w_number(&w, 0.1);
	wl_w_key(&w, "i");
	wl_w_int(&w, -42);
	wl_w_key(&w, "nan");
	wl_w_number(&w, NAN);
	wl_w_key(&w, "a");
	wl_w_array_begin(&w);
	wl_w_bool(&w, true);
	wl_w_null(&w);
	wl_w_array_end(&w);
	wl_w_object_end(&w);
	const char *want = "{\"s\":\"q\\\"\\\\\\u0001\\n \xc3\xa9\",\"n\":0.1,\"i\":-42,\"nan\":null,\"a\":[true,null]}";
	CHECK(w.len == strlen(want) && !memcmp(w.buf, want, w.len), "wrote %.*s", (int)w.len, w.buf);
	/* Round trip through the parser and wl_w_json. */
	const wl_json *r = parse(want);
	wl_writer w2 = {0};
	wl_w_json(&w2, r);
	CHECK(w2.len == strlen(want) && !memcmp(w2.buf, want, w2.len), "rewrote %.*s", (int)w2.len, w2.buf);
	wl_writer_free(&w);
	wl_writer_free(&w2);
}

static void test_reason_num(void) {
	struct {
		double v;
		int decimals;
		const char *want;
	} cases[] = {
	    {0.7312, 2, "score 0.73"}, {0.736, 2, "score 0.74"}, {0.005, 2, "score 0.01"}, {0, 2, "score 0.00"},
	    {1, 2, "score 1.00"},      {1200, 0, "score 1200"},  {-20, 0, "score -20"},    {-0.5, 1, "score -0.5"},
	    {-0.001, 2, "score 0.00"}, {499.5, 1, "score 499.5"}, {12.3456, 3, "score 12.346"}, {1e300, 2, "score 1e+300"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		wl_condition_output out = {0};
		wl_reason_num(&out, "score ", cases[i].v, cases[i].decimals);
		CHECK(!strcmp(out.reason, cases[i].want), "%g with %d decimals: got %s, want %s", cases[i].v,
		      cases[i].decimals, out.reason, cases[i].want);
	}
}

static int over_min(const wl_condition_input *in, wl_condition_output *out) {
	const wl_json *min = wl_get(in->config, "min");
	if (wl_type_of(min) != WL_JSON_NUMBER)
		return wl_fail(WL_INVALID_CONFIG, "config.min must be a number");
	out->result = wl_number(wl_get(in->profile.attributes, "points"), 0) >= wl_number(min, 0);
	wl_reason(out, "%s ok", in->event.type);
	return WL_OK;
}

static void call(const char *input, bool batch, const char *want_out, int want_code) {
	wl__test_error_code = 0;
	uint64_t r = wl__run_condition(input, (uint32_t)strlen(input), over_min, batch);
	size_t n;
	const char *out = wl__test_output(&n);
	if (want_code) {
		CHECK(r == 0 && wl__test_error_code == want_code, "%s: code %d (%s), want %d", input,
		      wl__test_error_code, wl__test_error_msg, want_code);
	} else {
		CHECK(r != 0 && n == strlen(want_out) && !memcmp(out, want_out, n), "%s: got %.*s (error %d %s)", input,
		      (int)n, out, wl__test_error_code, wl__test_error_msg);
	}
}

static void test_handlers(void) {
	call("{\"abi\":1,\"config\":{\"min\":100},\"event\":{\"type\":\"b\\\"uy\"},\"profile\":{\"attributes\":{\"points\":150}}}",
	     false, "{\"result\":true,\"reason\":\"b\\\"uy ok\"}", 0);
	call("{\"config\":{}}", false, NULL, WL_INVALID_CONFIG);
	call("{not json", false, NULL, WL_INVALID_INPUT);
	call("[1]", false, NULL, WL_INVALID_INPUT);
	call("{\"config\":{\"min\":1},\"profile\":[]}", false, NULL, WL_INVALID_INPUT);
	call("{\"config\":{\"min\":100},\"items\":[{\"profile\":{\"attributes\":{\"points\":1}}},{\"profile\":3},7,"
	     "{\"profile\":{\"attributes\":{\"points\":100}}}]}",
	     true,
	     "{\"results\":[{\"result\":false,\"reason\":\" ok\"},"
	     "{\"error\":{\"code\":1,\"message\":\"profile must be an object\"}},"
	     "{\"error\":{\"code\":1,\"message\":\"items[2] is not an object\"}},"
	     "{\"result\":true,\"reason\":\" ok\"}]}",
	     0);
	call("{\"config\":{}}", true, NULL, WL_INVALID_INPUT);
}

/* Mutates valid documents at random and parses the results: under ASan this finds reads past
 * the text, and every document that parses must survive a write and parse round trip. */
static void test_fuzz(void) {
	const char *seeds[] = {
	    "{\"abi\":1,\"config\":{\"tier\":\"gold\"},\"event\":{\"data\":{\"total\":42.5}},\"s\":\"a\\u00e9\\ud83d\\ude00\\n\"}",
	    "[[[{\"a\":[1,2,{\"b\":null}]}]],true,false,-1.5e-3,\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
	};
	const char alphabet[] = "{}[],:\"\\/-+.0123456789eEtrufalsn u\xc3\xa9\xff\x80\t\n";
	uint64_t x = 0x9E3779B97F4A7C15ull;
	char buf[256];
	wl_doc d2 = {0};
	for (int iter = 0; iter < 300000; iter++) {
		const char *seed = seeds[iter % 2];
		size_t n = strlen(seed);
		memcpy(buf, seed, n);
		int edits = 1 + iter % 4;
		for (int e = 0; e < edits; e++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = x % (n + 1);
			char c = alphabet[(x >> 20) % (sizeof alphabet - 1)];
			switch ((x >> 40) % 3) {
			case 0: if (at < n) buf[at] = c; break;
			case 1: if (n < sizeof buf - 1) { memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; } break;
			case 2: if (at < n) { memmove(buf + at, buf + at + 1, n - at - 1); n--; } break;
			}
		}
		if (wl_parse(&doc, buf, n) != 0)
			continue;
		wl_writer w = {0};
		wl_w_json(&w, wl_doc_root(&doc));
		CHECK(!w.oom && wl_parse(&d2, w.buf, w.len) == 0, "rewrite of %.*s does not parse: %.*s", (int)n, buf,
		      (int)w.len, w.buf);
		wl_writer w2 = {0};
		wl_w_json(&w2, wl_doc_root(&d2));
		CHECK(w.len == w2.len && !memcmp(w.buf, w2.buf, w.len), "round trip of %.*s differs", (int)n, buf);
		wl_writer_free(&w);
		wl_writer_free(&w2);
	}
	wl_doc_free(&d2);
}

int main(void) {
	test_lookups();
	test_escapes();
	test_malformed();
	test_depth();
	test_numbers();
	test_writer();
	test_reason_num();
	test_handlers();
	test_fuzz();
	wl_doc_free(&doc);
	if (failures) {
		fprintf(stderr, "FAIL: %d checks failed\n", failures);
		return 1;
	}
	puts("ok: wayline C SDK");
	return 0;
}
