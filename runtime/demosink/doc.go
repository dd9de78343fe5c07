// Package demosink owns the built-in HTTP endpoint that the demo REST action calls, and that
// tests and benchmarks use as a real receiver; with it, the demo's SMTP sink (ServeMail, which
// records mails into the same Sink) and the stand-in CRM the demo's REST data source reads (CRM).
//
// Every request other than GET is recorded — time, method, path, headers, Idempotency-Key and
// body — into a ring of the last N, counted, and answered 200 {"ok":true}. A GET answers with
// what was recorded: {"count", "distinctIdempotencyKeys", "items"} with the newest first, so a
// person watching a demo (or a test) can see calls arrive and see that retries reuse their
// key. Failure injection through the query string (?fail=503, ?failAttempts=2, ?delay=2s,
// ?retryAfter=5) lets a demo show retries, timeouts and error paths.
//
// The sink keeps everything in memory and is meant for demos and tests, not production: the
// ring is bounded, and idempotency keys are counted through 64-bit hashes (about 40 bytes
// each), so a long benchmark costs memory in proportion to its distinct keys.
package demosink
