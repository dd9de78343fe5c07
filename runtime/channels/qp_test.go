package channels

import (
	"bytes"
	"io"
	"mime/quotedprintable"
)

func multipartQP(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }
