package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
)

// Limits on an action definition.
const (
	MaxIDLength         = 64
	MaxNameLength       = 200
	MaxURLLength        = 8192
	MaxHeaders          = 50
	MaxHeaderValueBytes = 8192
	MaxRetryAttempts    = 20
	MaxInitialBackoff   = time.Hour
	MaxMaxBackoff       = 24 * time.Hour
	MaxRateLimit        = 100000
)

// Methods an action may use.
var allowedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// urlPlaceholder stands in for each {{ expr }} while the URL template is checked (digits are
// tried too, for a template in the port).
const urlPlaceholder = "placeholder"

// ValidateAction checks an action definition and returns every problem found, each with status
// 422, code invalid_request, the JSON path of the field ("auth.token", "retry.maxAttempts",
// "headers.X-Foo") and what to do; nil when the action is valid. A REST action (kind "" or
// "rest") needs method and url; a plugin action (kind "plugin") needs a pinned plugin.name and
// plugin.version and no REST fields. On an update, call MergeSecrets first, so that kept
// secrets count as present.
func ValidateAction(a *model.Action) apierr.List {
	var errs apierr.List
	add := func(field, format string, args ...any) {
		errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, format, args...))
	}
	if a == nil {
		add("", "the action definition is missing; send a JSON object with id, name, method and url")
		return errs
	}

	if !validID(a.ID) {
		add("id", "id must be 1 to %d characters of a-z, 0-9, _ and - (like \"notify-crm\"); got %q", MaxIDLength, clip(a.ID, 80))
	}
	switch name := strings.TrimSpace(a.Name); {
	case name == "":
		add("name", "name is required; give the action a name people will recognise in the designer")
	case utf8.RuneCountInString(a.Name) > MaxNameLength:
		add("name", "name is %d characters long; shorten it to at most %d", utf8.RuneCountInString(a.Name), MaxNameLength)
	}
	switch a.Kind {
	case "", model.ActionREST:
		if a.Plugin != nil {
			add("plugin", "plugin is only for actions of kind \"plugin\"; remove it, or set kind to \"plugin\" and leave out method and url")
		}
		if !contains(allowedMethods, a.Method) {
			add("method", "method %q is not supported; use one of %s (upper case)", clip(a.Method, 20), strings.Join(allowedMethods, ", "))
		}
		if msg := checkURLTemplate(a.URL); msg != "" {
			add("url", "%s", msg)
		}
		validateAuth(a.Auth, add)
		validateHeaders(a, add)
	case model.ActionPlugin:
		validatePluginAction(a, add)
	case model.ActionEmail, model.ActionSMS, model.ActionPush:
		validateChannel(a, add)
	default:
		add("kind", "kind %q is not known; use \"rest\" (the default), \"plugin\", \"email\", \"sms\" or \"push\"", clip(a.Kind, 40))
	}
	if !model.IsChannel(a.Kind) {
		for field, set := range map[string]bool{"message": a.Message != nil, "provider": a.Provider != nil,
			"capping": a.Capping != nil, "quietHours": a.QuietHours != nil} {
			if set {
				add(field, "%s is only for channel actions (kind email, sms or push); remove it", field)
			}
		}
	}
	validateSigning(a, add)
	if len(a.Payload) > 0 && !json.Valid(a.Payload) {
		add("payload", "payload is not valid JSON; send a JSON template such as {\"userId\": \"{{ profile.id }}\"}")
	}

	switch t := a.Timeout.D(); {
	case t < 0:
		add("timeout", "timeout is negative (%s); use 0 for the default (%s) or a duration up to %s", t, DefaultTimeout, MaxTimeout)
	case t > MaxTimeout:
		add("timeout", "timeout %s is longer than the %s allowed; lower it, or have the endpoint answer at once and work asynchronously", t, MaxTimeout)
	}
	validateRetry(a.Retry, add)
	switch r := a.RateLimit; {
	case math.IsNaN(r) || math.IsInf(r, 0):
		add("rateLimit", "rateLimit must be a finite number of calls per second; use 0 for no cap")
	case r < 0:
		add("rateLimit", "rateLimit is negative (%g); use 0 for no cap or a positive number of calls per second", r)
	case r > MaxRateLimit:
		add("rateLimit", "rateLimit %g is above %d calls per second; use 0 for no cap", r, MaxRateLimit)
	}
	return errs
}

// validatePluginAction checks what is particular to an action served by an action plugin: the
// plugin makes its own calls, so the REST fields must be absent, and the plugin version is
// pinned so that an upload never changes what a live journey does. Whether the plugin exists is
// for the caller to check (it needs the metadata).
func validatePluginAction(a *model.Action, add func(field, format string, args ...any)) {
	if a.Method != "" {
		add("method", "a plugin action has no method; remove it (the plugin makes its own calls)")
	}
	if a.URL != "" {
		add("url", "a plugin action has no url; remove it (the plugin makes its own calls; its config says where)")
	}
	if len(a.Headers) > 0 {
		add("headers", "a plugin action has no headers; remove them (the plugin sets its own)")
	}
	if a.Auth != nil && a.Auth.Type != "" && a.Auth.Type != model.AuthNone {
		add("auth", "a plugin action has no auth; set the plugin's secrets with PUT /v1/plugins/{name} instead")
	}
	if a.Plugin == nil {
		add("plugin", "plugin is required for a plugin action: {\"name\":\"crm-sync\",\"version\":\"1.0.0\"}")
		return
	}
	if strings.TrimSpace(a.Plugin.Name) == "" {
		add("plugin.name", "plugin.name is required: the name of an uploaded plugin with the kind \"action\" (see GET /v1/plugins)")
	}
	if strings.TrimSpace(a.Plugin.Version) == "" {
		add("plugin.version", "plugin.version is required: pin the version the action calls, such as \"1.0.0\", so that a new upload does not change it")
	}
	if c := bytes.TrimSpace(a.Plugin.Config); len(c) > 0 && string(c) != "null" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(c, &obj) != nil {
			add("plugin.config", "plugin.config must be a JSON object, such as {\"list\":\"vip\"}")
		}
	}
}

func validID(id string) bool {
	if len(id) < 1 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkURLTemplate checks the URL with each {{ expr }} replaced by placeholder text, so that
// templates may fill in the host, path and query but not the scheme. It returns what is
// wrong, or "".
func checkURLTemplate(raw string) string {
	switch {
	case raw == "":
		return "url is required; use an absolute http or https URL such as https://api.example.com/v1/notify"
	case len(raw) > MaxURLLength:
		return fmt.Sprintf("url is %d bytes long; the limit is %d", len(raw), MaxURLLength)
	case strings.TrimSpace(raw) != raw:
		return "url starts or ends with spaces; remove them"
	}
	filled, msg := fillTemplates(raw, urlPlaceholder)
	if msg != "" {
		return msg
	}
	u, err := url.Parse(filled)
	if err != nil {
		// A template may stand for a port: try digits before giving up.
		digits, _ := fillTemplates(raw, "1")
		if u2, err2 := url.Parse(digits); err2 == nil {
			u, err = u2, nil
		}
	}
	if err != nil {
		return "url is not a valid URL (" + stripURL(err) + "); check it with the templates replaced by text"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "url must start with http:// or https:// (templates may fill in what comes after the scheme)"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "url has no host; use an absolute URL such as https://api.example.com/path"
	}
	if u.User != nil {
		return "url holds credentials (user:password@host); remove them and set auth instead, so they stay secret"
	}
	return ""
}

// fillTemplates replaces each {{ ... }} with placeholder, or says what is malformed.
func fillTemplates(s, placeholder string) (string, string) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if strings.Contains(s, "}}") {
				return "", "url has a \"}}\" without its \"{{\"; templates are written {{ expression }}"
			}
			b.WriteString(s)
			return b.String(), ""
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return "", "url has a \"{{\" that is never closed; templates are written {{ expression }}"
		}
		if strings.TrimSpace(s[i+2:i+2+j]) == "" {
			return "", "url has an empty template {{ }}; put an expression inside or remove it"
		}
		if strings.Contains(s[:i], "}}") {
			return "", "url has a \"}}\" without its \"{{\"; templates are written {{ expression }}"
		}
		b.WriteString(s[:i])
		b.WriteString(placeholder)
		s = s[i+2+j+2:]
	}
}

func validateAuth(auth *model.ActionAuth, add func(field, format string, args ...any)) {
	if auth == nil {
		return
	}
	present := func(v string) bool { return v != "" && v != Mask }
	switch auth.Type {
	case "", model.AuthNone:
	case model.AuthBearer:
		switch {
		case !present(auth.Token):
			add("auth.token", "auth.token is required for bearer auth; send the token (it is stored and never shown again)")
		case !validHeaderValue(auth.Token):
			add("auth.token", "auth.token holds a line break or control character; send the token alone")
		}
	case model.AuthBasic:
		switch {
		case auth.Username == "":
			add("auth.username", "auth.username is required for basic auth")
		case strings.Contains(auth.Username, ":"):
			add("auth.username", "auth.username may not contain \":\" (basic auth separates it from the password with one)")
		case !validHeaderValue(auth.Username):
			add("auth.username", "auth.username holds a line break or control character")
		}
		if auth.Password == Mask {
			add("auth.password", "auth.password is masked but no password is stored; send the password")
		}
	case model.AuthAPIKey:
		switch {
		case auth.Header == "":
			add("auth.header", "auth.header is required for apiKey auth; name the header that carries the key, e.g. X-API-Key")
		case !isToken(auth.Header):
			add("auth.header", "auth.header %q is not a valid header name; use letters, digits and - (e.g. X-API-Key)", clip(auth.Header, 80))
		case isReservedHeader(auth.Header):
			add("auth.header", "auth.header may not be %s: %s", textproto.CanonicalMIMEHeaderKey(auth.Header), reservedHeaders[textproto.CanonicalMIMEHeaderKey(auth.Header)])
		}
		switch {
		case !present(auth.Value):
			add("auth.value", "auth.value is required for apiKey auth; send the key (it is stored and never shown again)")
		case !validHeaderValue(auth.Value):
			add("auth.value", "auth.value holds a line break or control character; send the key alone")
		}
	default:
		add("auth.type", "auth.type %q is not known; use none, bearer, basic or apiKey", clip(auth.Type, 40))
	}
}

func validateHeaders(a *model.Action, add func(field, format string, args ...any)) {
	if len(a.Headers) > MaxHeaders {
		add("headers", "the action sets %d headers; the limit is %d", len(a.Headers), MaxHeaders)
	}
	names := make([]string, 0, len(a.Headers))
	for name := range a.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	authType := ""
	if a.Auth != nil {
		authType = a.Auth.Type
	}
	seen := make(map[string]string, len(names))
	for _, name := range names {
		field := "headers." + name
		value := a.Headers[name]
		if !isToken(name) {
			add(field, "header name %q is not valid; use letters, digits and - (like X-Request-Source)", clip(name, 80))
			continue
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if why, ok := reservedHeaders[canon]; ok {
			add(field, "header %s may not be set by an action: %s; remove it", canon, why)
			continue
		}
		if other, dup := seen[canon]; dup {
			add(field, "header %s is set twice (as %q and %q); keep one", canon, other, name)
			continue
		}
		seen[canon] = name
		if canon == "Authorization" && (authType == model.AuthBearer || authType == model.AuthBasic) {
			add(field, "the Authorization header would be replaced by auth (%s); remove the header or set auth.type to none", authType)
		}
		if authType == model.AuthAPIKey && a.Auth.Header != "" && canon == textproto.CanonicalMIMEHeaderKey(a.Auth.Header) {
			add(field, "header %s is also auth.header; remove it from headers", canon)
		}
		switch {
		case len(value) > MaxHeaderValueBytes:
			add(field, "the value of header %s is %d bytes; the limit is %d", canon, len(value), MaxHeaderValueBytes)
		case !validHeaderValue(value):
			add(field, "the value of header %s holds a line break or control character; remove it", canon)
		}
	}
}

func validateRetry(p model.RetryPolicy, add func(field, format string, args ...any)) {
	if p.MaxAttempts < 0 || p.MaxAttempts > MaxRetryAttempts {
		add("retry.maxAttempts", "retry.maxAttempts is %d; use 0 for the default (%d), 1 for no retries, or up to %d",
			p.MaxAttempts, DefaultMaxAttempts, MaxRetryAttempts)
	}
	initial, ceiling := p.InitialBackoff.D(), p.MaxBackoff.D()
	initialOK, ceilingOK := true, true
	switch {
	case initial < 0:
		initialOK = false
		add("retry.initialBackoff", "retry.initialBackoff is negative (%s); use 0 for the default (%s) or a positive duration", initial, DefaultInitialBackoff)
	case initial > MaxInitialBackoff:
		initialOK = false
		add("retry.initialBackoff", "retry.initialBackoff %s is longer than the %s allowed", initial, MaxInitialBackoff)
	}
	switch {
	case ceiling < 0:
		ceilingOK = false
		add("retry.maxBackoff", "retry.maxBackoff is negative (%s); use 0 for the default (%s) or a positive duration", ceiling, DefaultMaxBackoff)
	case ceiling > MaxMaxBackoff:
		ceilingOK = false
		add("retry.maxBackoff", "retry.maxBackoff %s is longer than the %s allowed", ceiling, MaxMaxBackoff)
	}
	if initialOK && ceilingOK {
		if initial <= 0 {
			initial = DefaultInitialBackoff
		}
		if ceiling <= 0 {
			ceiling = DefaultMaxBackoff
		}
		if initial > ceiling {
			add("retry.initialBackoff", "retry.initialBackoff (%s) is longer than retry.maxBackoff (%s, the default when 0); lower it or raise maxBackoff",
				model.FormatDuration(initial), model.FormatDuration(ceiling))
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clip shortens s for quoting in a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
