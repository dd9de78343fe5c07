// Package model holds the definitions users write through the API — event definitions, REST
// actions, journeys and their versions, profiles and API keys — and the normalised event
// envelope. It has no behaviour beyond JSON shape and small helpers: validation that needs CEL
// or the graph lives in package journey, storage in package meta and store.
//
// These structs are stored as JSON in Pebble; fields are only added, never renamed.
package model
