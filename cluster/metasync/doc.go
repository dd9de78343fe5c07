// Package metasync spreads cluster metadata — the records of runtime/meta — to every node of a
// cluster and keeps them converged. It owns the per-key versions of those records (the 'v' key
// space of the node's store, described in runtime/store/KEYS.md) and the messages nodes
// exchange about them; memberlist and the internal HTTP port are the caller's: this package
// only gets and gives bytes.
//
// # Model
//
// Every metadata key of a kind that spreads (Kinds) has a version: a Lamport clock value
// (Counter) and the node that wrote it (Origin). Versions compare counters first, then origins,
// so any two nodes agree which of two versions is greater, whatever their wall clocks say. A
// local write gets a counter one more than the greatest this node has seen anywhere; a deletion
// is a tombstone, a version with Deleted set, kept so that a node that missed the deletion
// learns it rather than bringing the record back. The greater version wins everywhere, so two
// nodes that write one key concurrently end with the same value.
//
// Data flows three ways:
//
//   - Local writes. meta.Store reports every durable write (OnWrite); the write gets the next
//     version, stored in its own synced batch right after the value, and a broadcast of the
//     keys and versions — never values, which may be megabytes of plugin binary — is queued
//     for gossip (Config.Broadcast), split into messages of at most MaxMessage bytes.
//   - Broadcasts. A node that receives one (NotifyMsg) and finds a version newer than its own
//     asks the sender for the values (Config.Fetch, answered by the sender's Entries) and
//     applies them (Apply). Broadcasts are best effort. An answer holds the current value of
//     each key asked for, which may be newer than the broadcast that asked, and so also the
//     current entries of what those records require (Config.Requires: a live journey its
//     version, ...); the receiver applies an answer in one batch, so a record never lands
//     without what it refers to.
//   - Anti-entropy. memberlist's periodic push/pull exchanges digests of every key and version
//     (LocalState, MergeRemoteState); a node fetches what the other has newer. This is what
//     makes a node that joined late, restarted or was cut off converge, and what repairs dropped
//     broadcasts.
//
// Remote values are committed with their versions in one batch (meta.Store.ApplyRemote), after
// checking again, under the metadata write lock, that they are still newer than what local
// writes stored; they fire meta's OnChange hooks, so catalogs rebuild, but not OnWrite, so they
// are not spread again as local writes. Fetches run in the background, a few at a time, in
// batches of keys (a plugin binary alone); a failed fetch is dropped and left to the next
// anti-entropy round.
//
// On New, a spreading record with no version (written before this package existed, or while a
// crash lost its version) gets version (0, this node): counter 0 loses to every real write, and
// anti-entropy finds it. A record whose presence contradicts its version (a crash between a
// write and its version) gets a new local version, as the write it was.
//
// # Wire formats
//
// WARNING: ONLY APPEND. These bytes travel between nodes of different releases. The first byte
// of each says its format; a new encoding gets a new byte, and a JSON field is never renamed or
// re-purposed.
//
// A digest — a broadcast (NotifyMsg) and the push/pull state (LocalState, MergeRemoteState) — is
// byte 1 followed by JSON:
//
//	{"n": "<sending node>", "e": [{"k": "<kind>", "i": "<id>", "c": <counter>, "o": "<origin>", "d": true}, ...]}
//
// "o" is left out when it equals "n"; "d" (deleted) is left out when false. Items of kinds this
// node does not spread, or malformed ones, are ignored one by one.
//
// The fetch request body (MarshalKeys) is byte 1 followed, per key, by uvarint-prefixed kind and
// id. The fetch answer (MarshalEntries) is byte 1 followed, per entry, by uvarint-prefixed kind,
// id and origin, the counter as a uvarint, a flags byte (bit 0: deleted) and the uvarint-prefixed
// value.
package metasync
