// Package schema owns the JSON Schema of an event definition: it compiles the schema an
// integrator wrote (once, when the definition is saved) and validates the `data` object of every
// ingested event against it.
//
// Data flows one way: [Compile] turns raw schema bytes into an immutable [*Schema] (or an
// apierr.InvalidSchema error naming the bad keyword, e.g. "schema.properties.plan.type");
// the ingest path calls [Schema.Validate] on what sonic decoded and gets back plain-English
// violations with their field paths ("data.address.city: is required"); the designer and the
// expression checker read the declared fields through [Schema.Fields] and [Schema.HasField].
//
// Validation is done by github.com/santhosh-tekuri/jsonschema/v6 (draft 2020-12 by default,
// older drafts through "$schema"), with format assertions on (date-time, email, uri, ...). The
// compiler never touches the network or the file system: only references inside the schema
// itself ("#/$defs/address") are allowed. A compiled Schema is safe for concurrent use.
package schema
