package store

import (
	"encoding/binary"
	"hash/fnv"
	"time"
)

// Key spaces. WARNING: ONLY APPEND. These bytes are on disk; see KEYS.md.
const (
	spaceMeta      = 'm'
	spacePartition = 'p'
	spaceNode      = 'n' // node-local cluster state: never replicated, never in a snapshot
)

// Partition sub-spaces. WARNING: ONLY APPEND.
const (
	KindDedupe      = 'd' // p|pid|d|eventID → expiry (unix nanos, 8 bytes BE)
	KindDedupeIndex = 'D' // p|pid|D|expiry(8)|eventID → empty
	KindProfile     = 'f' // p|pid|f|profileID → profile JSON
	KindInstance    = 'i' // p|pid|i|profileID 0 journeyID → instance JSON
	KindHistory     = 'h' // p|pid|h|profileID 0 journeyID → entry history JSON
	KindTimer       = 't' // p|pid|t|due(8)|seq(8) → timer JSON
	KindOutbox      = 'o' // p|pid|o|due(8)|seq(8) → outbox entry JSON
	KindDeadLetter  = 'x' // p|pid|x|seq(8) → dead letter JSON
	KindCounter     = 'c' // p|pid|c|group 1 → counter group (merge); p|pid|c|scope 0 name → int64 (merge, read only: before groups)
	KindTrace       = 'r' // p|pid|r|profileID 0 seq(8) → trace step JSON
	KindSeq         = 's' // p|pid|s → last sequence number used in the partition (8 bytes BE); written before KindPosition carried it, read as a fallback
	KindPluginKV    = 'k' // p|pid|k|pluginName 0 key → a plugin's value (raw bytes)
	KindChannelLog  = 'q' // p|pid|q|profileID 0 channel → send times JSON (frequency caps)
	KindPosition    = 'e' // p|pid|e → epoch(8) lsn(8) seq(8): the partition's log position and sequence, written in every commit
)

// Node-local sub-spaces ('n' kind ...). WARNING: ONLY APPEND.
const (
	NodePromise = 'e' // n|e|pid(2) → the highest epoch this node promised for the partition (8 bytes BE)
	NodeRoster  = 'r' // n|r → the cluster roster this node knows (JSON list of node names)
)

// NodeKey builds n|kind|suffix.
func NodeKey(kind byte, suffix ...byte) []byte {
	return append([]byte{spaceNode, kind}, suffix...)
}

// PromiseKey is where the node keeps the epoch it promised for a partition.
func PromiseKey(pid int) []byte { return NodeKey(NodePromise, byte(pid>>8), byte(pid)) }

// PartitionOf hashes a profile id to a partition in [0, n). The hash is part of the on-disk
// layout: changing it strands every profile.
func PartitionOf(profileID string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(profileID))
	return int(h.Sum64() % uint64(n))
}

// PartitionPrefix is the first key of a partition's range; PartitionEnd is one past the last.
func PartitionPrefix(pid int) []byte {
	return []byte{spacePartition, byte(pid >> 8), byte(pid)}
}

// PartitionEnd is the exclusive upper bound of a partition's range.
func PartitionEnd(pid int) []byte {
	return []byte{spacePartition, byte((pid + 1) >> 8), byte(pid + 1)}
}

// KindPrefix is the prefix of one sub-space of a partition.
func KindPrefix(pid int, kind byte) []byte {
	return []byte{spacePartition, byte(pid >> 8), byte(pid), kind}
}

// PrefixEnd returns the smallest key greater than every key with the prefix.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// PartKey builds p|pid|kind|parts..., joining string parts with a 0 byte.
func PartKey(pid int, kind byte, parts ...string) []byte {
	k := KindPrefix(pid, kind)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// TimeSeqKey builds p|pid|kind|due|seq: timers and outbox entries sort by due time.
func TimeSeqKey(pid int, kind byte, due time.Time, seq uint64) []byte {
	k := KindPrefix(pid, kind)
	k = binary.BigEndian.AppendUint64(k, uint64(due.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

// DueOf reads the due time of a TimeSeqKey.
func DueOf(key []byte) time.Time {
	if len(key) < 4+16 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(key[4:12]))).UTC()
}

// SeqOf reads the sequence number of a TimeSeqKey.
func SeqOf(key []byte) uint64 {
	if len(key) < 4+16 {
		return 0
	}
	return binary.BigEndian.Uint64(key[len(key)-8:])
}

// SeqKey builds p|pid|kind|seq.
func SeqKey(pid int, kind byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(KindPrefix(pid, kind), seq)
}

// TraceKey builds p|pid|r|profileID 0 seq.
func TraceKey(pid int, profileID string, seq uint64) []byte {
	k := append(PartKey(pid, KindTrace, profileID), 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// DedupeIndexKey builds p|pid|D|expiry|eventID.
func DedupeIndexKey(pid int, expiry time.Time, eventID string) []byte {
	k := binary.BigEndian.AppendUint64(KindPrefix(pid, KindDedupeIndex), uint64(expiry.UnixNano()))
	return append(k, eventID...)
}

// MetaKey builds m|kind|0|id.
func MetaKey(kind string, id string) []byte {
	k := make([]byte, 0, 2+len(kind)+len(id))
	k = append(k, spaceMeta)
	k = append(k, kind...)
	k = append(k, 0)
	return append(k, id...)
}

// MetaPrefix is the prefix of every key of one metadata kind.
func MetaPrefix(kind string) []byte {
	k := append([]byte{spaceMeta}, kind...)
	return append(k, 0)
}

// U64 encodes v big-endian.
func U64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// ReadU64 decodes a big-endian value, zero when malformed.
func ReadU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
