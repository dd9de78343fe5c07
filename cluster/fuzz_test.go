package cluster

import (
	"testing"

	"github.com/wayline/wayline/cluster/transport"
)

// Forwarded events come from other nodes: whatever the bytes, decoding answers an error or
// events that each have an id and an identity, with one qualified flag per event.
func FuzzDecodeForwarded(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"e1","type":"signup","identity":"user:1","data":{"a":1}}],"qualified":[true]}`))
	f.Add([]byte(`{"events":[{"id":"e1","identity":"user:1"}],"qualified":[true,false]}`))
	f.Add([]byte(`{"events":[null]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, item []byte) {
		evs, q, sizes, err := decodeForwarded([][]byte{item, item})
		if err != nil {
			return
		}
		if len(evs) != len(q) || len(sizes) != 2 || sizes[0]+sizes[1] != len(evs) {
			t.Fatalf("%d events, %d flags, sizes %v", len(evs), len(q), sizes)
		}
		for _, ev := range evs {
			if ev == nil || ev.ID == "" || ev.Identity == "" {
				t.Fatalf("accepted an event without id or identity: %+v", ev)
			}
		}
	})
}

// Claims come from other nodes: only partitions that exist are accepted.
func FuzzDecodeClaims(f *testing.F) {
	f.Add([]byte(`{"claims":[{"pid":3,"epoch":7}]}`))
	f.Add([]byte(`{"claims":[{"pid":-1,"epoch":7}]}`))
	f.Add([]byte(`{"claims":[{"pid":64,"epoch":18446744073709551615}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeClaims(body, 64)
		if err != nil {
			if _, ok := err.(*transport.StatusError); !ok {
				t.Fatalf("want a 400 StatusError, got %T %v", err, err)
			}
			return
		}
		for _, c := range req.Claims {
			if c.Pid < 0 || c.Pid >= 64 {
				t.Fatalf("accepted partition %d", c.Pid)
			}
		}
	})
}
