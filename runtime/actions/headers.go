package actions

import (
	"net/textproto"
	"strings"
)

// Header names Wayline sets on every call.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderAttempt        = "Wayline-Attempt"
)

// reservedHeaders are set by the Sender or by HTTP framing; an action's Headers may not set
// them (ValidateAction rejects them, Send ignores them). Keys are canonical.
var reservedHeaders = map[string]string{
	HeaderIdempotencyKey: "Wayline sets it to one key per logical call, the same on every retry",
	HeaderAttempt:        "Wayline sets it to the attempt number",
	"Content-Length":     "it is computed from the payload",
	"Transfer-Encoding":  "it is part of HTTP framing",
	"Connection":         "Wayline manages its connections",
	"Keep-Alive":         "Wayline manages its connections",
	"Upgrade":            "it is part of HTTP framing",
	"Te":                 "it is part of HTTP framing",
	"Trailer":            "it is part of HTTP framing",
	"Host":               "it comes from the URL",
}

// isReservedHeader reports whether an action may not set header name.
func isReservedHeader(name string) bool {
	_, ok := reservedHeaders[textproto.CanonicalMIMEHeaderKey(name)]
	return ok
}

// isToken reports whether s is an RFC 9110 token, the grammar of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a header value without splitting the
// request: no CR, LF, NUL or other control bytes except tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// IsSensitiveHeader reports whether a header's value is treated as a secret (redacted by
// Redact, kept by MergeSecrets): Authorization, Proxy-Authorization, Cookie, and names that
// mention a key, token, secret, password, signature or session.
func IsSensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "password", "passwd", "signature", "session", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
