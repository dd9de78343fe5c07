package metasync

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Formats: the first byte of every message. WARNING: ONLY APPEND (see the package comment).
const (
	formatDigestJSON = 1 // digests: broadcasts and push/pull state
	formatBinary     = 1 // fetch requests (keys) and answers (entries)
)

// MaxMessage is the largest broadcast this package queues, in bytes: memberlist packs
// broadcasts into UDP packets of about 1,400 bytes with its own framing.
const MaxMessage = 1200

// digest is a message listing keys and versions, never values.
type digest struct {
	Node    string     `json:"n"`
	Entries []wireItem `json:"e"`
}

type wireItem struct {
	Kind    string `json:"k"`
	ID      string `json:"i"`
	Counter uint64 `json:"c"`
	Origin  string `json:"o,omitempty"` // the digest's node when empty
	Deleted bool   `json:"d,omitempty"`
}

// item is a validated digest entry.
type item struct {
	Key
	Version Version
	Deleted bool
}

func (it item) wire(node string) wireItem {
	w := wireItem{Kind: it.Kind, ID: it.ID, Counter: it.Version.Counter, Origin: it.Version.Origin, Deleted: it.Deleted}
	if w.Origin == node {
		w.Origin = ""
	}
	return w
}

// encodeDigests encodes items as digests from node, each at most limit bytes when limit > 0
// (an item too large for a message on its own still gets one).
func encodeDigests(node string, items []item, limit int) [][]byte {
	head, err := json.Marshal(node)
	if err != nil { // a string always marshals
		panic(err)
	}
	open := append(append([]byte{formatDigestJSON, '{', '"', 'n', '"', ':'}, head...), `,"e":[`...)
	const closing = len("]}")
	var out [][]byte
	msg := append([]byte(nil), open...)
	n := 0
	for _, it := range items {
		b, err := json.Marshal(it.wire(node))
		if err != nil {
			panic(err)
		}
		if n > 0 && limit > 0 && len(msg)+1+len(b)+closing > limit {
			out = append(out, append(msg, "]}"...))
			msg, n = append([]byte(nil), open...), 0
		}
		if n > 0 {
			msg = append(msg, ',')
		}
		msg = append(msg, b...)
		n++
	}
	if n > 0 || len(items) == 0 {
		out = append(out, append(msg, "]}"...))
	}
	return out
}

// decodeDigest decodes a digest from outside. Malformed items are dropped one by one and
// counted; a malformed message is an error.
func decodeDigest(b []byte) (node string, items []item, dropped int, err error) {
	if len(b) == 0 || b[0] != formatDigestJSON {
		return "", nil, 0, errors.New("metasync: not a digest (unknown format byte)")
	}
	var d digest
	if err := json.Unmarshal(b[1:], &d); err != nil {
		return "", nil, 0, fmt.Errorf("metasync: decode digest: %w", err)
	}
	if d.Node == "" || len(d.Node) > maxOriginLen {
		return "", nil, 0, fmt.Errorf("metasync: digest from a node name of %d bytes", len(d.Node))
	}
	items = make([]item, 0, len(d.Entries))
	for _, w := range d.Entries {
		it := item{Key: Key{Kind: w.Kind, ID: w.ID}, Version: Version{Counter: w.Counter, Origin: w.Origin}, Deleted: w.Deleted}
		if it.Version.Origin == "" {
			it.Version.Origin = d.Node
		}
		if validKey(it.Key) != nil || validVersion(it.Version) != nil {
			dropped++
			continue
		}
		items = append(items, it)
	}
	return d.Node, items, dropped, nil
}

// MarshalKeys encodes a fetch request: the keys whose entries a node asks another for.
func MarshalKeys(keys []Key) []byte {
	b := []byte{formatBinary}
	for _, k := range keys {
		b = appendString(b, k.Kind)
		b = appendString(b, k.ID)
	}
	return b
}

// UnmarshalKeys decodes a fetch request. It checks the encoding, not the keys: Entries skips
// keys it does not serve.
func UnmarshalKeys(b []byte) ([]Key, error) {
	r, err := newReader(b)
	if err != nil {
		return nil, err
	}
	var keys []Key
	for len(r.b) > 0 {
		var k Key
		if k.Kind, err = r.string(); err == nil {
			k.ID, err = r.string()
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// MarshalEntries encodes a fetch answer.
func MarshalEntries(es []Entry) []byte {
	n := 1
	for _, e := range es {
		n += 4*binary.MaxVarintLen64 + 1 + len(e.Kind) + len(e.ID) + len(e.Version.Origin) + len(e.Value)
	}
	b := make([]byte, 1, n)
	b[0] = formatBinary
	for _, e := range es {
		b = appendString(b, e.Kind)
		b = appendString(b, e.ID)
		b = appendString(b, e.Version.Origin)
		b = binary.AppendUvarint(b, e.Version.Counter)
		flags := byte(0)
		if e.Deleted {
			flags |= 1
		}
		b = append(b, flags)
		b = appendString(b, string(e.Value))
	}
	return b
}

// UnmarshalEntries decodes a fetch answer. It checks the encoding; Apply checks the entries.
// Values alias b.
func UnmarshalEntries(b []byte) ([]Entry, error) {
	r, err := newReader(b)
	if err != nil {
		return nil, err
	}
	var es []Entry
	for len(r.b) > 0 {
		var e Entry
		if e.Kind, err = r.string(); err != nil {
			return nil, err
		}
		if e.ID, err = r.string(); err != nil {
			return nil, err
		}
		if e.Version.Origin, err = r.string(); err != nil {
			return nil, err
		}
		if e.Version.Counter, err = r.uvarint(); err != nil {
			return nil, err
		}
		flags, err := r.byte()
		if err != nil {
			return nil, err
		}
		if flags > 1 {
			return nil, fmt.Errorf("metasync: entry %s %q: unknown flags %#x", e.Kind, e.ID, flags)
		}
		e.Deleted = flags&1 != 0
		if e.Value, err = r.bytes(); err != nil {
			return nil, err
		}
		if e.Deleted {
			e.Value = nil
		}
		es = append(es, e)
	}
	return es, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errTruncated = errors.New("metasync: truncated message")

type reader struct{ b []byte }

func newReader(b []byte) (*reader, error) {
	if len(b) == 0 || b[0] != formatBinary {
		return nil, errors.New("metasync: unknown message format")
	}
	return &reader{b: b[1:]}, nil
}

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) byte() (byte, error) {
	if len(r.b) == 0 {
		return 0, errTruncated
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)) {
		return nil, errTruncated
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) string() (string, error) {
	b, err := r.bytes()
	return string(b), err
}
