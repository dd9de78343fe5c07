package transport

import (
	"bytes"
	"testing"
)

// FuzzDecodeItems checks the framing of every coalesced request and answer: DecodeItems never
// panics, and whatever it accepts is exactly what EncodeItems writes for the items it read (no
// padding, no second spelling of the same items).
func FuzzDecodeItems(f *testing.F) {
	for _, items := range [][][]byte{
		nil,
		{{}},
		{[]byte("one")},
		{[]byte("a"), {}, []byte("ccc"), bytes.Repeat([]byte{0xff}, 300)},
	} {
		f.Add(EncodeItems(items))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})                   // a count that cannot fit
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 'x'})  // an item longer than the rest
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 'x', 'y'})         // a byte after the last item
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // padding after two empty items
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		items, err := DecodeItems(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeItems modified its input")
		}
		if err != nil {
			if items != nil {
				t.Fatalf("DecodeItems returned %d items with error %v", len(items), err)
			}
			return
		}
		if out := EncodeItems(items); !bytes.Equal(out, b) {
			t.Fatalf("DecodeItems accepted %x as %d items, which encode as %x", b, len(items), out)
		}
		// Items are capped at their own length: appending to one must not overwrite the next.
		for i, it := range items {
			if cap(it) != len(it) {
				t.Fatalf("item %d has len %d but cap %d: appending to it would overwrite the frame", i, len(it), cap(it))
			}
		}
	})
}
