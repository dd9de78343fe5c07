package ingest

import "fmt"

// Limits bound what one request may cost. The zero value of each field means its default.
type Limits struct {
	// MaxBodyBytes caps a request body (default 1 MiB).
	MaxBodyBytes int
	// MaxBatchEvents caps the events of one batch (default 1000).
	MaxBatchEvents int
	// MaxDepth caps the nesting of one event, its own object included (default 32): {"data":
	// {"a": [1]}} is 3 deep.
	MaxDepth int
	// MaxLineBytes caps one NDJSON line (default 256 KiB).
	MaxLineBytes int
}

// Defaults.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxBatchEvents = 1000
	DefaultMaxDepth       = 32
	DefaultMaxLineBytes   = 256 << 10

	// MaxDepthLimit is the largest MaxDepth accepted: the decoder's own stack holds 4096
	// levels, and no event needs more than a few dozen.
	MaxDepthLimit = 1000
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:   DefaultMaxBodyBytes,
		MaxBatchEvents: DefaultMaxBatchEvents,
		MaxDepth:       DefaultMaxDepth,
		MaxLineBytes:   DefaultMaxLineBytes,
	}
}

// Validate checks the limits once at start-up; the error names the bad field.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MaxBodyBytes", l.MaxBodyBytes},
		{"MaxBatchEvents", l.MaxBatchEvents},
		{"MaxDepth", l.MaxDepth},
		{"MaxLineBytes", l.MaxLineBytes},
	} {
		if f.v < 0 {
			return fmt.Errorf("ingest: Limits.%s is %d; it must be positive, or 0 for the default", f.name, f.v)
		}
	}
	if l.MaxDepth > MaxDepthLimit {
		return fmt.Errorf("ingest: Limits.MaxDepth is %d; it must be at most %d", l.MaxDepth, MaxDepthLimit)
	}
	return nil
}

// withDefaults fills every zero (or, defensively, negative) field with its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxBatchEvents <= 0 {
		l.MaxBatchEvents = d.MaxBatchEvents
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxDepth > MaxDepthLimit {
		l.MaxDepth = MaxDepthLimit
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	return l
}
