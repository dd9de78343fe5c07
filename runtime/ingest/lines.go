package ingest

import (
	"bufio"
	"errors"
	"io"

	"github.com/wayline/wayline/runtime/apierr"
)

// LineReader splits an NDJSON stream into lines, holding at most one line (and a fixed read
// buffer) in memory. It is not safe for concurrent use.
type LineReader struct {
	r       *bufio.Reader
	maxLine int
	buf     []byte
	lineNo  int
	err     error // sticky read error
}

// readBufSize is the read buffer: long lines are gathered from several reads.
const readBufSize = 32 << 10

// NewLineReader returns a reader of the lines of r; maxLine caps a line's length without its
// line ending (0 or less: DefaultMaxLineBytes).
func NewLineReader(r io.Reader, maxLine int) *LineReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	size := readBufSize
	if maxLine+2 < size {
		size = max(maxLine+2, 16) // bufio's minimum is 16
	}
	return &LineReader{r: bufio.NewReaderSize(r, size), maxLine: maxLine}
}

// Next returns the next non-blank line, without its "\n" or "\r\n", and its 1-based line
// number in the stream (blank lines count). The line is valid until the next call.
//
// A line longer than the limit is not read into memory: Next skips to its end and returns a nil
// line with an *apierr.Error (body_too_large, 413) for that line; the caller reports it and
// calls Next again. At the end of the stream Next returns io.EOF (a last line without a final
// newline is returned first); a failing reader's error is returned as is, and again on later
// calls.
func (lr *LineReader) Next() (line []byte, lineNo int, err error) {
	for {
		if lr.err != nil {
			return nil, lr.lineNo, lr.err
		}
		lr.lineNo++
		lr.buf = lr.buf[:0]
		tooLong := false
		size := 0 // bytes of this line seen so far, kept or not
		for {
			chunk, rerr := lr.r.ReadSlice('\n')
			size += len(chunk)
			if !tooLong {
				// Room for the limit plus "\r\n": the line ending is not counted.
				if len(lr.buf)+len(chunk) > lr.maxLine+2 {
					tooLong = true
					lr.buf = lr.buf[:0]
				} else {
					lr.buf = append(lr.buf, chunk...)
				}
			}
			if rerr == nil {
				break // chunk ends with '\n'
			}
			if errors.Is(rerr, bufio.ErrBufferFull) {
				continue
			}
			lr.err = rerr
			if size == 0 {
				return nil, lr.lineNo, rerr // nothing left: io.EOF, or the reader's error
			}
			break // a last line without newline; the error is returned on the next call
		}
		if tooLong {
			return nil, lr.lineNo, lr.lineTooLong()
		}
		l := trimEOL(lr.buf)
		if len(l) > lr.maxLine {
			return nil, lr.lineNo, lr.lineTooLong()
		}
		if isBlank(l) {
			continue
		}
		return l, lr.lineNo, nil
	}
}

func (lr *LineReader) lineTooLong() *apierr.Error {
	return apierr.New(413, apierr.BodyTooLarge, "",
		"line %d is longer than %d bytes, the limit per line; it was skipped: send smaller events, one per line",
		lr.lineNo, lr.maxLine)
}

// trimEOL drops "\n", "\r\n", or a lone "\r" ending the last line of a stream.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
