// Package ring places partitions on nodes by rendezvous (highest random weight) hashing: every
// node scores every partition and a partition's replicas are the highest scorers. When a node
// joins or leaves, only the partitions it scores highest on move — about 1/n of them — and
// every node computes the same placement from the same member list without talking to anyone.
package ring

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
)

// Replicas returns up to rf distinct members for the partition, best first: the first is the
// partition's leader, the rest its followers. members may be in any order.
func Replicas(pid int, members []string, rf int) []string {
	if rf <= 0 || len(members) == 0 {
		return nil
	}
	type scored struct {
		name  string
		score uint64
	}
	s := make([]scored, 0, len(members))
	for _, m := range members {
		s = append(s, scored{m, score(pid, m)})
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].score != s[j].score {
			return s[i].score > s[j].score
		}
		return s[i].name < s[j].name
	})
	out := make([]string, 0, min(rf, len(s)))
	for i := 0; i < len(s) && len(out) < rf; i++ {
		if i > 0 && s[i].name == s[i-1].name {
			continue
		}
		out = append(out, s[i].name)
	}
	return out
}

// score is the weight of member for partition pid: FNV-1a 64 over the name and the partition
// number, finished with a mixer so that similar names ("node-1", "node-2") spread well.
func score(pid int, member string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(pid))
	h.Write(b[:])
	x := h.Sum64()
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
