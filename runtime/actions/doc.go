// Package actions owns calling custom REST actions: the HTTP half of the outbox dispatcher.
//
// The dispatcher (elsewhere) reads an outbox entry, renders the action's URL and payload, and
// hands a [Call] to [Sender.Send]. Send builds one HTTP request (method, headers, auth,
// Idempotency-Key, Wayline-Attempt), sends it over a shared keep-alive fasthttp client with
// the earlier of the action's timeout and the caller's context deadline, and classifies what
// came back into a [Result]: OK (2xx), Retryable (network errors, timeouts, 408, 425, 429,
// 5xx) or final (other statuses), with any Retry-After hint. Send never retries on its own,
// beyond one transparent resend of a request that met a stale keep-alive connection; the
// dispatcher decides when to try again with [Backoff] and [MaxAttempts], and caps the rate
// per action with a [Limiter].
//
// The same package holds the rules for an action definition, used by the API when an action
// is created or changed: [ValidateAction], and the write-only handling of secrets, [Redact]
// and [MergeSecrets].
//
// Secrets (auth tokens, passwords, API key values, sensitive header values) never appear in
// a Result's Err, in errors from this package, or in logs: this package does not log.
package actions
