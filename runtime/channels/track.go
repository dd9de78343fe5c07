package channels

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"regexp"
	"strings"
)

// Tracker makes and checks the signed links of messages: open pixel, click redirect,
// unsubscribe. Its zero value makes no links (tracking off).
type Tracker struct {
	// BaseURL is how recipients reach this node's public endpoints ("https://wayline.example.com").
	BaseURL string
	// Key signs references; keep it stable across restarts and equal on every node, or links in
	// messages already sent stop working.
	Key []byte
}

// ErrBadLink is returned for a link whose signature or content does not check out.
var ErrBadLink = errors.New("channels: the link is not valid (altered, or not made by this workspace)")

// Enabled reports whether the tracker makes links.
func (t *Tracker) Enabled() bool { return t != nil && t.BaseURL != "" && len(t.Key) > 0 }

func (t *Tracker) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, t.Key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:16]
}

// Token encodes and signs ref.
func (t *Tracker) Token(ref Ref) string {
	b, _ := json.Marshal(ref)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.mac("ref", p))
}

// Parse checks a token made by Token and returns its reference.
func (t *Tracker) Parse(token string) (Ref, error) {
	var ref Ref
	if !t.Enabled() || len(token) > 4096 {
		return ref, ErrBadLink
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return ref, ErrBadLink
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac("ref", p)) {
		return ref, ErrBadLink
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &ref) != nil || ref.Profile == "" {
		return ref, ErrBadLink
	}
	return ref, nil
}

// OpenURL is the open pixel's address for ref.
func (t *Tracker) OpenURL(ref Ref) string {
	return t.BaseURL + "/v1/track/open?t=" + t.Token(ref)
}

// UnsubscribeURL is the one-click unsubscribe address for ref (RFC 8058).
func (t *Tracker) UnsubscribeURL(ref Ref) string {
	return t.BaseURL + "/v1/unsubscribe?t=" + t.Token(ref)
}

// ClickURL is a redirect to target that records a click. The target is signed with the
// reference, so the endpoint redirects only to URLs that this node put in a message.
func (t *Tracker) ClickURL(ref Ref, target string) string {
	tok := t.Token(ref)
	s := base64.RawURLEncoding.EncodeToString(t.mac("click", tok, target))
	return t.BaseURL + "/v1/track/click?t=" + tok + "&u=" + url.QueryEscape(target) + "&s=" + s
}

// CheckClick verifies a click link's parts and returns its reference and target.
func (t *Tracker) CheckClick(token, target, sig string) (Ref, string, error) {
	ref, err := t.Parse(token)
	if err != nil {
		return ref, "", err
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac("click", token, target)) {
		return ref, "", ErrBadLink
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ref, "", ErrBadLink
	}
	return ref, target, nil
}

// hrefRe finds absolute http(s) links in href attributes (double-quoted, as templates and
// editors write them).
var hrefRe = regexp.MustCompile(`(?i)(<a\s[^>]*?href=")(https?://[^"]+)(")`)

// Decorate rewrites an HTML body's links into click redirects and adds the open pixel. The
// unsubscribe link ({{ unsubscribe }} is not a template variable: the List-Unsubscribe header
// carries it) is left alone.
func (t *Tracker) Decorate(body string, ref Ref) string {
	if !t.Enabled() || body == "" {
		return body
	}
	body = hrefRe.ReplaceAllStringFunc(body, func(m string) string {
		sub := hrefRe.FindStringSubmatch(m)
		target := html.UnescapeString(sub[2])
		return sub[1] + html.EscapeString(t.ClickURL(ref, target)) + sub[3]
	})
	pixel := `<img src="` + html.EscapeString(t.OpenURL(ref)) + `" width="1" height="1" alt="" style="display:none">`
	if i := strings.LastIndex(strings.ToLower(body), "</body>"); i >= 0 {
		return body[:i] + pixel + body[i:]
	}
	return body + pixel
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
