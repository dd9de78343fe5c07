package model

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string ("90s", "1h30m") with an
// added day unit ("30d"). Plain numbers are read as seconds.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(FormatDuration(time.Duration(d)))), nil
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*d = 0
		return nil
	}
	if s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return durationTypeError(s)
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	str, err := strconv.Unquote(s)
	if err != nil {
		return durationTypeError(s)
	}
	v, err := ParseDuration(str)
	if err != nil {
		return durationTypeError(strconv.Quote(str))
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a Go duration with an added "d" (24h) unit.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want a number before \"d\", like \"7d\"", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a form like \"30s\", \"15m\", \"2h\" or \"7d\"", s)
	}
	return v, nil
}

// FormatDuration writes whole days as "Nd" and everything else as Go does.
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// durationTypeError is a *json.UnmarshalTypeError, so that encoding/json fills in the field
// path and the API can say which field holds the bad duration.
func durationTypeError(value string) error {
	if len(value) > 40 {
		value = value[:40] + "…"
	}
	return &json.UnmarshalTypeError{Value: value, Type: reflect.TypeOf(Duration(0))}
}
