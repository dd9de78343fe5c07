package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"unicode/utf8"

	"github.com/wayline/wayline/runtime/apierr"
)

// uploadLimits bound a plugin upload. The JSON body limit (1 MiB by default) does not apply: a
// module may be far larger, so the upload handler reads its own stream under these caps.
type uploadLimits struct {
	Module   int64 // the module part
	Manifest int64 // the manifest part
	Body     int64 // the whole body: both parts and the multipart framing
}

// defaultUploadLimits: a module as large as the host ever accepts (plugins.MaxBinaryBytes,
// 64 MiB), a 1 MiB manifest, and room for the framing.
var defaultUploadLimits = uploadLimits{Module: 64 << 20, Manifest: 1 << 20, Body: 64<<20 + 1<<20 + 64<<10}

// pluginUpload is a parsed upload.
type pluginUpload struct {
	Manifest []byte
	Module   []byte
	BodyHash string // hex sha256 of the whole body, for Idempotency-Key
}

const uploadHowTo = "send multipart/form-data with the parts manifest (the JSON manifest) and module (the .wasm file), e.g. curl -F manifest=@manifest.json -F module=@plugin.wasm, or use wayline plugin push"

// readPluginUpload reads a multipart/form-data body holding the parts "manifest" and "module",
// and nothing else. It reads at most lim.Body bytes from r; every refusal is an *apierr.Error
// naming the part.
func readPluginUpload(r io.Reader, contentType string, lim uploadLimits) (*pluginUpload, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return nil, apierr.New(415, apierr.UnsupportedMedia, "Content-Type", "a plugin upload is multipart/form-data, not %q; %s", clipText(contentType, 80), uploadHowTo)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, apierr.New(400, apierr.InvalidRequest, "Content-Type", "the multipart/form-data Content-Type has no boundary; %s", uploadHowTo)
	}
	cr := &capReader{r: r, left: lim.Body}
	h := sha256.New()
	body := io.TeeReader(cr, h)
	tooLarge := func() error {
		return apierr.New(413, apierr.BodyTooLarge, "", "the upload is larger than %d bytes; a module may be at most %d bytes", lim.Body, lim.Module)
	}
	malformed := func(err error) error {
		if cr.over {
			return tooLarge()
		}
		return apierr.New(400, apierr.InvalidRequest, "", "the multipart body is malformed (%s); %s", clipText(err.Error(), 200), uploadHowTo)
	}
	up := &pluginUpload{}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		name := part.FormName()
		var dst *[]byte
		var max int64
		switch name {
		case "manifest":
			dst, max = &up.Manifest, lim.Manifest
		case "module":
			dst, max = &up.Module, lim.Module
		case "":
			part.Close()
			return nil, apierr.New(400, apierr.InvalidRequest, "", "a part has no form-data name; %s", uploadHowTo)
		default:
			part.Close()
			return nil, apierr.New(400, apierr.InvalidRequest, clipText(name, 80), "unknown part %q; %s", clipText(name, 80), uploadHowTo)
		}
		if *dst != nil {
			part.Close()
			return nil, apierr.New(400, apierr.InvalidRequest, name, "the part %s is sent twice; send it once", name)
		}
		b, err := io.ReadAll(io.LimitReader(part, max+1))
		part.Close()
		switch {
		case cr.over:
			return nil, tooLarge()
		case err != nil:
			return nil, malformed(err)
		case int64(len(b)) > max:
			return nil, apierr.New(413, apierr.BodyTooLarge, name, "the %s is larger than %d bytes", name, max)
		case len(b) == 0:
			return nil, apierr.New(400, apierr.InvalidRequest, name, "the part %s is empty; %s", name, uploadHowTo)
		}
		*dst = b
	}
	// The rest (the epilogue) counts for the body's hash.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, malformed(err)
	}
	switch {
	case up.Manifest == nil:
		return nil, apierr.New(400, apierr.InvalidRequest, "manifest", "the part manifest is missing; %s", uploadHowTo)
	case up.Module == nil:
		return nil, apierr.New(400, apierr.InvalidRequest, "module", "the part module is missing; %s", uploadHowTo)
	}
	up.BodyHash = hex.EncodeToString(h.Sum(nil))
	return up, nil
}

// capReader reads at most left bytes; a byte more sets over and fails the read.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

var errUploadTooLarge = errors.New("the upload is larger than allowed")

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errUploadTooLarge
	}
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, errUploadTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// clipText shortens s for quoting in a message, on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
