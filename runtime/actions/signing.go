package actions

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// HeaderSignature is the default signature header of signed actions.
const HeaderSignature = "Wayline-Signature"

// Sign returns the signature header value for body sent at t: "t=<unix seconds>" followed by
// one ",v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" per secret (Stripe's scheme). Signing with
// the old and the new secret while a secret is rotated lets receivers switch at their pace.
func Sign(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		if s == "" || s == Mask {
			continue
		}
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrSignatureMalformed = errors.New("actions: the signature header is not t=<seconds>,v1=<hex>")
	ErrSignatureStale     = errors.New("actions: the signature's timestamp is outside the tolerance")
	ErrSignatureMismatch  = errors.New("actions: no signature matches the body")
)

// Verify checks a signature header made by Sign against any of secrets, refusing timestamps
// further than tolerance from now (replays). Receivers written in Go can use it as it is.
func Verify(header string, secrets []string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureStale
	}
	for _, s := range secrets {
		want := mac(s, ts, body)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}
