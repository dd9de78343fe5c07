package ingest

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
)

const benchEvent = `{"id":"evt-000001","type":"signup","timestamp":"2024-05-01T10:00:00Z","data":{"userId":"u-123456","plan":"pro","customer":{"email":"ada@example.com","name":"Ada Lovelace","tags":["a","b","c"]},"amount":42.5,"items":[{"sku":"A1","qty":1},{"sku":"B2","qty":3}]}}`

func benchBatch(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.Replace(benchEvent, "evt-000001", "evt-"+strconv.Itoa(i), 1))
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecodeEvent(b *testing.B) {
	body := []byte(benchEvent)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatch100(b *testing.B) {
	body := benchBatch(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeBatch(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckDepth is the guard run on every body before decoding, here on a ~1 MiB batch.
func BenchmarkCheckDepth(b *testing.B) {
	body := benchBatch(3500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !CheckDepth(body, 33) {
			b.Fatal("too deep")
		}
	}
}

func BenchmarkLineReader(b *testing.B) {
	var buf bytes.Buffer
	for range 1000 {
		buf.WriteString(benchEvent)
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		lr := NewLineReader(bytes.NewReader(in), 0)
		for {
			if _, _, err := lr.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkNormalise covers the per-event work after decoding: schema validation, identity,
// id generation and timestamp parsing.
func BenchmarkNormalise(b *testing.B) {
	sch := mustSchema(b, signupSchema)
	def := signupDef()
	raw, err := DecodeEvent([]byte(benchEvent), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	raw.ID = ""
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Normalise(raw, def, sch, testNow); errs != nil {
			b.Fatal(errs)
		}
	}
}
