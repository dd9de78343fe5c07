package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/apierr"
)

var smallUpload = uploadLimits{Module: 64, Manifest: 32, Body: 512}

func TestPluginUploadLimits(t *testing.T) {
	tests := []struct {
		name   string
		parts  []string
		status int
		field  string
	}{
		{"fits", []string{"manifest", "{}", "module", strings.Repeat("m", 64)}, 0, ""},
		{"module over its cap", []string{"manifest", "{}", "module", strings.Repeat("m", 65)}, 413, "module"},
		{"manifest over its cap", []string{"manifest", strings.Repeat("{", 33), "module", "m"}, 413, "manifest"},
		{"body over its cap", []string{"manifest", "{}", "module", "m", "x", strings.Repeat("x", 600)}, 413, ""},
	}
	for _, tc := range tests {
		body, ctype := multipartBody(tc.parts...)
		up, err := readPluginUpload(bytes.NewReader(body), ctype, smallUpload)
		if tc.status == 0 {
			sum := sha256.Sum256(body)
			if err != nil || up.BodyHash != hex.EncodeToString(sum[:]) || string(up.Manifest) != "{}" {
				t.Errorf("%s: %v %+v; want the parts and the body's sha256", tc.name, err, up)
			}
			continue
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Status != tc.status || ae.Field != tc.field {
			t.Errorf("%s: %v; want status %d field %q", tc.name, err, tc.status, tc.field)
		}
	}
}

// FuzzPluginUpload feeds arbitrary bodies to the upload parser: it never panics, never reads
// past its cap, returns both parts within their caps or a clear error naming what is wrong.
func FuzzPluginUpload(f *testing.F) {
	good, ctype := multipartBody("manifest", `{"name":"x","version":"1.0.0","kinds":["condition"]}`, "module", "\x00asm\x01\x00\x00\x00")
	boundary := strings.TrimPrefix(ctype, "multipart/form-data; boundary=")
	f.Add(good, boundary)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nxx\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"manifest\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=41=\r\n--b--"), "b")
	f.Add([]byte("--b\r\n\r\n--b--"), "b")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		r := &countingReader{b: body}
		up, err := readPluginUpload(r, "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"", smallUpload)
		if r.n > smallUpload.Body+1 {
			t.Fatalf("read %d bytes past a cap of %d", r.n, smallUpload.Body)
		}
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Message == "" || ae.Status < 400 {
				t.Fatalf("refusal %v is not a clear API error", err)
			}
			return
		}
		if len(up.Manifest) == 0 || len(up.Module) == 0 || int64(len(up.Manifest)) > smallUpload.Manifest || int64(len(up.Module)) > smallUpload.Module || len(up.BodyHash) != 64 {
			t.Fatalf("accepted an upload outside its limits: %d/%d bytes", len(up.Manifest), len(up.Module))
		}
	})
}

type countingReader struct {
	b []byte
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.b)
	c.b = c.b[n:]
	c.n += int64(n)
	return n, nil
}
