// Package channels sends the built-in channels' messages: email over SMTP, SMS through a
// Twilio-style form POST, push through an FCM HTTP v1-style JSON call. The engine renders a
// message in the partition worker (consent, address, frequency cap and quiet hours are decided
// there, where the profile's state has one writer) and writes it into the outbox as a
// [Rendered]; the dispatcher hands it to [Service.Send] with the action's provider settings,
// retries and idempotency key, like any action call. A [Provider] per action kind makes the
// call; more providers plug in through [Service.Providers] without touching the engine.
//
// Every connection dials through the node's SSRF guard (runtime/netguard). Provider secrets
// (SMTP password, auth tokens) come from the action definition, are write-only in the API, and
// never appear in errors: this package does not log.
//
// Tracking (track.go): email links are rewritten to signed click redirects and an open pixel is
// added; both, like the unsubscribe link, carry an HMAC-signed reference to the journey
// instance, so they can neither be forged nor turned into an open redirect.
package channels
