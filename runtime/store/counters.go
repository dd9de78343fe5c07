package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Report counters are incremented inside the same batch as the state change they count, with
// Merge (no read). Two layouts share the 'c' kind:
//
//   - a single counter, `scope 0 name` → int64 little-endian: what the engine wrote before
//     2026-11-23, still read;
//   - a counter group, `group 1` → every (sub-scope, name, value) of one group scope: a journey
//     version's nodes ("j/<journey>/<version>/"), one hour of a journey ("h/<journey>/<hour>"),
//     an action ("a/<action>").
//
// A micro-batch that moves one event through a journey touches a dozen counters but only two
// or three groups, so groups keep the number of keys a batch writes — and that Pebble inserts,
// logs, flushes and compacts — small when batches are small (single-event requests, timers).

// counterGroupMark ends a counter group's key; a single counter's key never ends with it (names
// are printable).
const counterGroupMark = 0x01

// CounterGroupKey is the key of a partition's counter group.
func CounterGroupKey(pid int, group string) []byte {
	k := KindPrefix(pid, KindCounter)
	k = append(k, group...)
	return append(k, counterGroupMark)
}

// CounterRef names one counter inside a group.
type CounterRef struct {
	Sub  string // the rest of the counter's scope after the group ("" for the group itself)
	Name string
}

// CounterGroup maps counters to values (or deltas).
type CounterGroup map[CounterRef]int64

// EncodeCounterGroup encodes a group's values: a version byte, then for each counter in a
// fixed order uvarint(len(sub)) sub uvarint(len(name)) name varint(value). The order is sorted,
// not the map's: each replica merges operands on its own, and replicas compare partitions by
// their bytes.
func EncodeCounterGroup(g CounterGroup) []byte {
	refs := make([]CounterRef, 0, len(g))
	for r := range g {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b CounterRef) int {
		if c := strings.Compare(a.Sub, b.Sub); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	b := make([]byte, 0, 1+len(refs)*16)
	b = append(b, counterGroupV1)
	for _, r := range refs {
		b = binary.AppendUvarint(b, uint64(len(r.Sub)))
		b = append(b, r.Sub...)
		b = binary.AppendUvarint(b, uint64(len(r.Name)))
		b = append(b, r.Name...)
		b = binary.AppendVarint(b, g[r])
	}
	return b
}

const counterGroupV1 = 1

var errCounterGroup = errors.New("store: malformed counter group")

// DecodeCounterGroup adds the values encoded in b to into. A malformed value adds nothing and
// reports an error: a damaged counter must not stop a compaction or a report.
func DecodeCounterGroup(b []byte, into CounterGroup) error {
	if len(b) == 0 || b[0] != counterGroupV1 {
		return errCounterGroup
	}
	type entry struct {
		ref CounterRef
		v   int64
	}
	var got []entry
	rest := b[1:]
	str := func() (string, bool) {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return "", false
		}
		s := string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
		return s, true
	}
	for len(rest) > 0 {
		sub, ok := str()
		if !ok {
			return errCounterGroup
		}
		name, ok := str()
		if !ok {
			return errCounterGroup
		}
		v, w := binary.Varint(rest)
		if w <= 0 {
			return errCounterGroup
		}
		rest = rest[w:]
		got = append(got, entry{CounterRef{sub, name}, v})
	}
	for _, e := range got {
		into[e.ref] += e.v
	}
	return nil
}

// counterMerger adds counter deltas: int64s for single counters, per counter for groups. Its
// name is stored in the database: never change it.
var counterMerger = &pebble.Merger{
	Name: "wayline.counter.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		if len(key) > 0 && key[len(key)-1] == counterGroupMark {
			g := groupValue{}
			return g, g.MergeNewer(value)
		}
		m := &counterValue{}
		return m, m.MergeNewer(value)
	},
}

type counterValue struct{ n int64 }

func (c *counterValue) MergeNewer(value []byte) error {
	c.n += DecodeCounter(value)
	return nil
}

func (c *counterValue) MergeOlder(value []byte) error { return c.MergeNewer(value) }

func (c *counterValue) Finish(includesBase bool) ([]byte, io.Closer, error) {
	return EncodeCounter(c.n), nil, nil
}

type groupValue CounterGroup

func (g groupValue) MergeNewer(value []byte) error {
	_ = DecodeCounterGroup(value, CounterGroup(g)) // a damaged operand counts as nothing
	return nil
}

func (g groupValue) MergeOlder(value []byte) error { return g.MergeNewer(value) }

func (g groupValue) Finish(includesBase bool) ([]byte, io.Closer, error) {
	return EncodeCounterGroup(CounterGroup(g)), nil, nil
}

// EncodeCounter encodes a single counter's delta or value.
func EncodeCounter(n int64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(n))
	return b
}

// DecodeCounter decodes a single counter's value; malformed values count as zero.
func DecodeCounter(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b))
}

// CounterKey reads a counter key's scope-relative part (the key after the kind prefix): a
// single counter's scope and name, or a group's scope (isGroup).
func CounterKey(rest []byte) (scope, name string, isGroup, ok bool) {
	if len(rest) > 0 && rest[len(rest)-1] == counterGroupMark {
		return string(rest[:len(rest)-1]), "", true, true
	}
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", "", false, false
	}
	return string(rest[:i]), string(rest[i+1:]), false, true
}
