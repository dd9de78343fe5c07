package actions

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/netguard"
)

// Limits on action definitions and sender settings.
const (
	// MaxTimeout is the longest timeout an action may set.
	MaxTimeout = 5 * time.Minute
	// DefaultTimeout applies when neither the action nor the SenderConfig sets one.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxResponseBytes caps how much of a response body a Result keeps.
	DefaultMaxResponseBytes = 64 << 10
	// DefaultMaxConnsPerHost caps open connections to one host:port.
	DefaultMaxConnsPerHost = 512
	// DefaultUserAgent is sent unless the action sets its own User-Agent header.
	DefaultUserAgent = "wayline"

	maxResponseBytesLimit = 64 << 20
	maxConnsPerHostLimit  = 1 << 16
)

// SenderConfig configures a Sender. Its zero value works: every zero field takes its default.
type SenderConfig struct {
	// MaxConnsPerHost caps the open connections to one host:port (default 512). A call that
	// finds them all busy waits for one, within its timeout.
	MaxConnsPerHost int
	// DefaultTimeout applies to actions that set no timeout (default 10s, at most 5m).
	DefaultTimeout time.Duration
	// MaxResponseBytes caps the response body kept in a Result (default 64 KiB); the rest is
	// not read, and the connection is closed rather than drained.
	MaxResponseBytes int
	// UserAgent is sent unless the action sets a User-Agent header (default "wayline").
	UserAgent string
	// Guard checks every address a call dials (SSRF guard): nil refuses loopback, link-local,
	// private and unique-local addresses; the operator's --allow-net opens some.
	Guard *netguard.Guard
}

// DefaultSenderConfig returns the configuration with every default filled in.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{
		MaxConnsPerHost:  DefaultMaxConnsPerHost,
		DefaultTimeout:   DefaultTimeout,
		MaxResponseBytes: DefaultMaxResponseBytes,
		UserAgent:        DefaultUserAgent,
	}
}

// Validate checks the configuration once at start-up; zero fields are valid (defaults).
func (c SenderConfig) Validate() error {
	var errs []error
	if c.MaxConnsPerHost < 0 || c.MaxConnsPerHost > maxConnsPerHostLimit {
		errs = append(errs, fmt.Errorf("actions: SenderConfig.MaxConnsPerHost is %d; use 0 for the default (%d) or 1..%d",
			c.MaxConnsPerHost, DefaultMaxConnsPerHost, maxConnsPerHostLimit))
	}
	if c.DefaultTimeout < 0 || c.DefaultTimeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("actions: SenderConfig.DefaultTimeout is %s; use 0 for the default (%s) or a duration up to %s",
			c.DefaultTimeout, DefaultTimeout, MaxTimeout))
	}
	if c.MaxResponseBytes < 0 || c.MaxResponseBytes > maxResponseBytesLimit {
		errs = append(errs, fmt.Errorf("actions: SenderConfig.MaxResponseBytes is %d; use 0 for the default (%d) or 1..%d",
			c.MaxResponseBytes, DefaultMaxResponseBytes, maxResponseBytesLimit))
	}
	if strings.ContainsAny(c.UserAgent, "\r\n\x00") {
		errs = append(errs, errors.New("actions: SenderConfig.UserAgent holds a line break or NUL; use a single-line value"))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero (and, defensively, out-of-range) fields with their defaults.
func (c SenderConfig) withDefaults() SenderConfig {
	d := DefaultSenderConfig()
	if c.MaxConnsPerHost <= 0 || c.MaxConnsPerHost > maxConnsPerHostLimit {
		c.MaxConnsPerHost = d.MaxConnsPerHost
	}
	if c.DefaultTimeout <= 0 || c.DefaultTimeout > MaxTimeout {
		c.DefaultTimeout = d.DefaultTimeout
	}
	if c.MaxResponseBytes <= 0 || c.MaxResponseBytes > maxResponseBytesLimit {
		c.MaxResponseBytes = d.MaxResponseBytes
	}
	if c.UserAgent == "" || strings.ContainsAny(c.UserAgent, "\r\n\x00") {
		c.UserAgent = d.UserAgent
	}
	return c
}
