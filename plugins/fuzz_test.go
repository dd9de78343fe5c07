package plugins

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wayline/wayline/sdk/abi"
)

// FuzzGuestOutput drives the host side of the ABI with whatever a guest might return: any
// (pointer, length) pair and any output bytes. The host must answer with bytes or an error,
// never panic, and keep serving.
func FuzzGuestOutput(f *testing.F) {
	h := newHost(f)
	p := loadMisbehave(f, h)
	f.Add(uint64(0), []byte(`{"result":true}`))
	f.Add(uint64(0xFFFFFFFF_FFFFFFFF), []byte{})
	f.Add(uint64(0x00010000_00000010), []byte("\x00\xff{"))
	f.Add(uint64(0x00000000_00001000), []byte(`{"result":`))
	f.Fuzz(func(t *testing.T, packed uint64, body []byte) {
		var in []byte
		if len(body)%2 == 0 {
			in = fmt.Appendf(nil, `{"ptrlen":"%016x"}`, packed)
		} else {
			in, _ = json.Marshal(map[string]any{"mode": "echo", "body": hex.EncodeToString(body)})
			in = append(in, body...)
		}
		r := p.Call(context.Background(), &Call{Kind: abi.KindCondition, Input: in})
		if r.Err == nil && r.Output == nil {
			t.Fatalf("no output and no error for %x", packed)
		}
		if r.Err == nil && len(r.Output) > p.Manifest.Limits.MaxOutputBytes {
			t.Fatalf("output of %d bytes passed a %d-byte limit", len(r.Output), p.Manifest.Limits.MaxOutputBytes)
		}
		if ok := call(p, `{"mode":"ok"}`); ok.Err != nil {
			t.Fatalf("the plugin stopped serving after %x: %v", packed, ok.Err)
		}
	})
}
