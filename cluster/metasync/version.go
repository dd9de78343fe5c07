package metasync

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/wayline/wayline/runtime/meta"
)

// Key names one metadata record.
type Key struct{ Kind, ID string }

// Version orders the writes of one key: a Lamport clock value and the node that wrote it.
type Version struct {
	Counter uint64
	Origin  string
}

// Less reports whether v is older than o: the smaller counter, or on equal counters the smaller
// origin. Every node orders two versions the same way.
func (v Version) Less(o Version) bool {
	if v.Counter != o.Counter {
		return v.Counter < o.Counter
	}
	return v.Origin < o.Origin
}

// Entry is a record with its version: its value, or a tombstone when Deleted.
type Entry struct {
	Key
	Version Version
	Value   []byte // nil when Deleted
	Deleted bool
}

// spreadKinds are the metadata kinds every node holds. The others — the partition count setting
// and idempotency records — belong to one node. A kind added to runtime/meta stays on its node
// until it is listed here.
var spreadKinds = []string{
	meta.KindEventDef,
	meta.KindAction,
	meta.KindJourney,
	meta.KindJourneyVersion,
	meta.KindAPIKey,
	meta.KindPlugin,
	meta.KindPluginBinary,
	meta.KindDataSource,
	meta.KindUser,
	meta.KindSession,
	meta.KindSetting, // workspace settings; not the partition count (see SpreadsKey)
}

// Kinds returns the metadata kinds that spread to every node: all but meta.KindSetting and
// meta.KindIdempotency, which stay on the node that wrote them.
func Kinds() []string { return slices.Clone(spreadKinds) }

// Spreads reports whether records of kind spread to every node (some of them: see SpreadsKey).
func Spreads(kind string) bool { return slices.Contains(spreadKinds, kind) }

// nodeLocal are records of a spreading kind that stay on their node: the partition count is
// fixed per data directory when it is created, and checked between nodes when they join.
var nodeLocal = map[Key]bool{{Kind: meta.KindSetting, ID: "partitions"}: true}

// SpreadsKey reports whether one record spreads to every node.
func SpreadsKey(k Key) bool { return Spreads(k.Kind) && !nodeLocal[k] }

// Sanity limits on what other nodes send. Ids are short (names, hex digests, "journey/00000001");
// a counter grows by one per write, so one near 2^64 is a bug, and refusing it keeps the clock
// from wrapping.
const (
	maxIDLen     = 1024
	maxOriginLen = 255
	maxCounter   = 1 << 62
)

// validKey checks a key from outside: a spreading kind and an id that fits the key layout.
func validKey(k Key) error {
	switch {
	case !SpreadsKey(k):
		return fmt.Errorf("kind %q does not spread", k.Kind)
	case k.ID == "" || len(k.ID) > maxIDLen:
		return fmt.Errorf("%s id of %d bytes (want 1 to %d)", k.Kind, len(k.ID), maxIDLen)
	case bytes.IndexByte([]byte(k.ID), 0) >= 0:
		return fmt.Errorf("%s id %q contains a zero byte", k.Kind, k.ID)
	case !utf8.ValidString(k.ID): // digests are JSON, which would mangle it
		return fmt.Errorf("%s id %q is not UTF-8", k.Kind, k.ID)
	}
	return nil
}

// validVersion checks a version from outside.
func validVersion(v Version) error {
	switch {
	case v.Origin == "" || len(v.Origin) > maxOriginLen:
		return fmt.Errorf("origin of %d bytes (want 1 to %d)", len(v.Origin), maxOriginLen)
	case !utf8.ValidString(v.Origin):
		return fmt.Errorf("origin %q is not UTF-8", v.Origin)
	case v.Counter > maxCounter:
		return fmt.Errorf("counter %d above %d", v.Counter, uint64(maxCounter))
	}
	return nil
}

// Version records live in the node's store under the 'v' key space: 'v' kind 0 id, the same
// suffix as the record's 'm' kind 0 id key. See runtime/store/KEYS.md. WARNING: ONLY APPEND.
const spaceVersion = 'v'

func versionKey(k Key) []byte {
	b := make([]byte, 0, 2+len(k.Kind)+len(k.ID))
	b = append(b, spaceVersion)
	b = append(b, k.Kind...)
	b = append(b, 0)
	return append(b, k.ID...)
}

// versionSpace bounds every version record.
var versionLower, versionUpper = []byte{spaceVersion}, []byte{spaceVersion + 1}

// parseVersionKey reads a key built by versionKey.
func parseVersionKey(b []byte) (Key, bool) {
	if len(b) < 2 || b[0] != spaceVersion {
		return Key{}, false
	}
	kind, id, ok := bytes.Cut(b[1:], []byte{0})
	if !ok {
		return Key{}, false
	}
	return Key{Kind: string(kind), ID: string(id)}, true
}

// encodeRecord is a version record's value: the counter (8 bytes big-endian), the deleted flag
// (1 byte, 1 or 0), then the origin.
func encodeRecord(v Version, deleted bool) []byte {
	b := make([]byte, 0, 9+len(v.Origin))
	b = binary.BigEndian.AppendUint64(b, v.Counter)
	flag := byte(0)
	if deleted {
		flag = 1
	}
	b = append(b, flag)
	return append(b, v.Origin...)
}

var errBadRecord = errors.New("metasync: malformed version record")

func decodeRecord(b []byte) (v Version, deleted bool, err error) {
	if len(b) < 10 || b[8] > 1 {
		return Version{}, false, errBadRecord
	}
	return Version{Counter: binary.BigEndian.Uint64(b), Origin: string(b[9:])}, b[8] == 1, nil
}
