package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wayline/wayline/sdk/abi"
)

// Manifest describes a plugin: what it is, what it implements, what it may reach and how much
// it may use. It is uploaded beside the module and stored with it.
type Manifest struct {
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Description  string          `json:"description,omitempty"`
	Kinds        []string        `json:"kinds"`
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
	AllowedHosts []string        `json:"allowedHosts,omitempty"`
	Limits       Limits          `json:"limits"`
}

// Limits bound what one plugin may use. Zero fields take the defaults for the plugin's kinds
// (see Manifest.Fill).
type Limits struct {
	MemoryPages          uint32   `json:"memoryPages"`
	Timeout              Duration `json:"timeout"`
	MaxInputBytes        int      `json:"maxInputBytes"`
	MaxOutputBytes       int      `json:"maxOutputBytes"`
	MaxHTTPCalls         int      `json:"maxHttpCalls"`
	MaxHTTPResponseBytes int      `json:"maxHttpResponseBytes"`
	MaxBinaryBytes       int      `json:"maxBinaryBytes"`
}

// Ceilings no manifest may exceed.
const (
	MaxMemoryPages   = 4096 // 256 MiB
	MaxTimeout       = 5 * time.Minute
	MaxIOBytes       = 16 << 20
	MaxBinaryBytes   = 64 << 20
	MaxHTTPCallsCeil = 100
)

// Duration is a time.Duration written as a Go duration string ("20ms", "2s").
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "20ms" or "2s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf(`%q is not a duration; write e.g. "20ms" or "2s"`, s)
	}
	*d = Duration(v)
	return nil
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	versionRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$`)
	hostRE    = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9.-]{0,252})$`)
)

// ParseManifest decodes and checks a manifest, filling default limits. Errors are
// *FieldError naming the field.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, manifestDecodeError(err)
	}
	if dec.More() {
		return nil, &FieldError{Field: "", Reason: "the manifest must be one JSON object"}
	}
	if err := m.Fill(); err != nil {
		return nil, err
	}
	return &m, nil
}

func manifestDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &FieldError{Field: te.Field, Reason: fmt.Sprintf("must be %s, not %s", te.Type, te.Value)}
	case errors.As(err, &se):
		return &FieldError{Reason: fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &FieldError{Field: f, Reason: "is not a manifest field (see sdk/ABI.md, Manifest)"}
	}
	return &FieldError{Reason: "not a valid manifest: " + err.Error()}
}

// FieldError is a problem with one field of a manifest or module.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "plugin: " + e.Reason
	}
	return "plugin: " + e.Field + ": " + e.Reason
}

// Fill checks the manifest and fills default limits.
func (m *Manifest) Fill() error {
	if !nameRE.MatchString(m.Name) {
		return &FieldError{"name", "must be 1-64 lower-case letters, digits and '-', starting with a letter or digit"}
	}
	if !versionRE.MatchString(m.Version) {
		return &FieldError{"version", "must be a semantic version MAJOR.MINOR.PATCH such as 1.0.0"}
	}
	if len(m.Kinds) == 0 {
		return &FieldError{"kinds", `must name at least one of "condition", "datasource", "action"`}
	}
	seen := map[string]bool{}
	for i, k := range m.Kinds {
		if abi.HandlerExport(k) == "" {
			return &FieldError{fmt.Sprintf("kinds[%d]", i), fmt.Sprintf("%q is not a kind; use condition, datasource or action", k)}
		}
		if seen[k] {
			return &FieldError{fmt.Sprintf("kinds[%d]", i), fmt.Sprintf("%q is listed twice", k)}
		}
		seen[k] = true
	}
	if len(m.ConfigSchema) > 0 {
		var obj map[string]any
		if err := json.Unmarshal(m.ConfigSchema, &obj); err != nil {
			return &FieldError{"configSchema", "must be a JSON Schema object"}
		}
	}
	for i, h := range m.AllowedHosts {
		if !hostRE.MatchString(strings.ToLower(h)) {
			return &FieldError{fmt.Sprintf("allowedHosts[%d]", i), fmt.Sprintf("%q is not a host name; write api.example.com or *.example.com (no scheme, port or path)", h)}
		}
	}
	return m.Limits.fill(m.Kinds)
}

func (l *Limits) fill(kinds []string) error {
	condOnly := len(kinds) == 1 && kinds[0] == abi.KindCondition
	if l.MemoryPages == 0 {
		l.MemoryPages = 512 // 32 MiB: Go guests need room for their runtime
	}
	if l.Timeout == 0 {
		switch {
		case condOnly:
			l.Timeout = Duration(20 * time.Millisecond)
		case len(kinds) == 1 && kinds[0] == abi.KindDataSource:
			l.Timeout = Duration(2 * time.Second)
		default:
			l.Timeout = Duration(10 * time.Second)
		}
	}
	if l.MaxInputBytes == 0 {
		l.MaxInputBytes = 1 << 20
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = 1 << 20
	}
	if l.MaxHTTPCalls == 0 && !condOnly {
		l.MaxHTTPCalls = 4
	}
	if l.MaxHTTPResponseBytes == 0 {
		l.MaxHTTPResponseBytes = 1 << 20
	}
	if l.MaxBinaryBytes == 0 {
		l.MaxBinaryBytes = 16 << 20
	}
	switch {
	case l.MemoryPages > MaxMemoryPages:
		return &FieldError{"limits.memoryPages", fmt.Sprintf("at most %d (256 MiB)", MaxMemoryPages)}
	case l.Timeout.D() > MaxTimeout:
		return &FieldError{"limits.timeout", "at most 5m"}
	case l.MaxInputBytes < 0 || l.MaxInputBytes > MaxIOBytes:
		return &FieldError{"limits.maxInputBytes", "between 1 and 16777216"}
	case l.MaxOutputBytes < 0 || l.MaxOutputBytes > MaxIOBytes:
		return &FieldError{"limits.maxOutputBytes", "between 1 and 16777216"}
	case l.MaxHTTPCalls < 0 || l.MaxHTTPCalls > MaxHTTPCallsCeil:
		return &FieldError{"limits.maxHttpCalls", "between 0 and 100"}
	case l.MaxHTTPResponseBytes < 0 || l.MaxHTTPResponseBytes > MaxIOBytes:
		return &FieldError{"limits.maxHttpResponseBytes", "between 1 and 16777216"}
	case l.MaxBinaryBytes < 0 || l.MaxBinaryBytes > MaxBinaryBytes:
		return &FieldError{"limits.maxBinaryBytes", "between 1 and 67108864"}
	}
	return nil
}

// HasKind reports whether the manifest lists kind.
func (m *Manifest) HasKind(kind string) bool {
	for _, k := range m.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// HostAllowed reports whether the manifest lets the plugin call host (a name without port).
func (m *Manifest) HostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range m.AllowedHosts {
		h = strings.ToLower(h)
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if h == host {
			return true
		}
	}
	return false
}
