package ingest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wayline/wayline/runtime/apierr"
)

// readAll drains a LineReader into "lineNo:text" and "lineNo:ERR" entries.
func readAll(t testing.TB, lr *LineReader) ([]string, error) {
	t.Helper()
	var out []string
	for i := 0; i < 1_000_000; i++ {
		line, n, err := lr.Next()
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				return out, err
			}
			if line != nil {
				t.Fatalf("line %d: an error came with a line", n)
			}
			out = append(out, fmt.Sprintf("%d:ERR", n))
		default:
			out = append(out, fmt.Sprintf("%d:%s", n, line))
		}
	}
	t.Fatal("LineReader never reached EOF")
	return nil, nil
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 20)
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"empty", "", 10, ""},
		{"one with newline", "a\n", 10, "1:a"},
		{"one without newline", "a", 10, "1:a"},
		{"crlf", "a\r\nb\r\n", 10, "1:a 2:b"},
		{"final cr", "a\r", 10, "1:a"},
		{"blank lines", "\n\na\n \t\r\n\nb\n\n", 10, "3:a 6:b"},
		{"exactly max", "0123456789\n", 10, "1:0123456789"},
		{"exactly max crlf", "0123456789\r\n", 10, "1:0123456789"},
		{"max plus one", "0123456789a\nb\n", 10, "1:ERR 2:b"},
		{"max plus one at eof", "0123456789a", 10, "1:ERR"},
		{"long then more", "a\n" + long + "\nb", 10, "1:a 2:ERR 3:b"},
		{"two long", long + "\n" + long + "\n", 10, "1:ERR 2:ERR"},
		{"long last without newline", "a\n" + long, 10, "1:a 2:ERR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, wrap := range []struct {
				name string
				r    func(io.Reader) io.Reader
			}{
				{"plain", func(r io.Reader) io.Reader { return r }},
				{"one byte at a time", iotest.OneByteReader},
				{"data with EOF", iotest.DataErrReader},
			} {
				got, err := readAll(t, NewLineReader(wrap.r(strings.NewReader(c.in)), c.max))
				if err != nil {
					t.Fatalf("%s: %v", wrap.name, err)
				}
				if s := strings.Join(got, " "); s != c.want {
					t.Errorf("%s: got %q, want %q", wrap.name, s, c.want)
				}
			}
		})
	}
}

func TestLineReaderSkipsLongLinesWithoutHoldingThem(t *testing.T) {
	// A 50 MiB line with a 1 KiB limit: the reader must stream past it.
	huge := io.MultiReader(strings.NewReader(`{"type":"a"}`+"\n"), &repeatReader{b: 'x', n: 50 << 20}, strings.NewReader("\n"+`{"type":"b"}`))
	lr := NewLineReader(huge, 1024)
	got, err := readAll(t, lr)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(got, " "); s != `1:{"type":"a"} 2:ERR 3:{"type":"b"}` {
		t.Fatalf("got %q", s)
	}
	if cap(lr.buf) > 4096 {
		t.Fatalf("the line buffer grew to %d bytes for a 1 KiB limit", cap(lr.buf))
	}
}

func TestLineReaderTooLongError(t *testing.T) {
	lr := NewLineReader(strings.NewReader(strings.Repeat("y", 100)+"\n"), 10)
	_, n, err := lr.Next()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.BodyTooLarge || ae.Status != 413 || n != 1 || !strings.Contains(ae.Message, "line 1") {
		t.Fatalf("Next() = line %d, %v; want a 413 body_too_large error for line 1", n, err)
	}
}

func TestLineReaderReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), 10)
	var got []string
	var last error
	for range 5 {
		line, _, err := lr.Next()
		if err != nil {
			last = err
			break
		}
		got = append(got, string(line))
	}
	if strings.Join(got, ",") != "a,b" || !errors.Is(last, boom) {
		t.Fatalf("got lines %v then %v; want a, b then the reader's error", got, last)
	}
	if _, _, err := lr.Next(); !errors.Is(err, boom) {
		t.Fatalf("the error did not stick: %v", err)
	}
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}
