// Package ingest owns the decoding of outside bytes on the hot ingest path: request bodies (one
// event or a JSON array of them), NDJSON streams, and their normalisation into the envelope the
// engine sees.
//
// Data flows: bytes → cheap guards before any allocation (body size, nesting depth, batch size,
// by a byte scan that skips string contents) → sonic decodes into plain Go values → each item is
// checked against the envelope rules (known fields, types) into a [RawEvent] → once the API has
// looked up the event definition, [Normalise] validates data against the definition's schema,
// extracts the profile identity, fixes the id and the timestamp, and returns a model.Envelope.
//
// Every error a client can cause is an *apierr.Error naming the field ("[3].data.plan") and
// saying what to do; nothing here panics on any input (fuzz tests hold it to that).
package ingest
