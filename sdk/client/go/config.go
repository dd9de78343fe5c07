package client

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Overflow says what Enqueue does when the queue is full.
type Overflow int

// Overflow modes.
const (
	// Block waits for room in the queue, or until the context ends.
	Block Overflow = iota
	// DropOldest drops the oldest queued event (counted in Stats.Dropped, reported to OnResult
	// with the status "dropped") to make room.
	DropOldest
	// ErrorWhenFull returns ErrQueueFull at once.
	ErrorWhenFull
)

func (o Overflow) String() string {
	switch o {
	case Block:
		return "block"
	case DropOldest:
		return "drop-oldest"
	case ErrorWhenFull:
		return "error"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// Config configures a Client. Its zero value works once URLs is set: every zero field takes the
// default that DefaultConfig shows.
type Config struct {
	// URLs are the nodes' base URLs, like "http://127.0.0.1:8080". Events go to the one with
	// the lowest measured latency; the others take over when it fails.
	URLs []string
	// APIKey is sent as "Authorization: Bearer KEY" (a key with the ingest, editor or admin
	// role). Empty: no key, which only public event types accept.
	APIKey string

	// BatchSize is the most events in one request (default 500). The node refuses JSON arrays
	// of more than its --max-batch (1000 by default); SendBatch halves a batch the node finds
	// too large.
	BatchSize int
	// BatchBytes is the most encoded bytes in one request (default 512 KiB; the node's default
	// body limit for JSON arrays is 1 MiB). A single larger event is still sent, alone.
	BatchBytes int
	// Linger is how long the batcher waits for more events before it sends a batch that is not
	// full (default 5ms).
	Linger time.Duration
	// QueueSize is the most events Enqueue holds before they are taken into a batch (default
	// 10000).
	QueueSize int
	// Overflow is what Enqueue does when the queue is full (default Block).
	Overflow Overflow

	// MaxAttempts is how many times one event is sent before it counts as failed (default 8).
	MaxAttempts int
	// Backoff is the first retry's backoff (default 100ms); each retry doubles it up to
	// MaxBackoff (default 5s). The actual wait is drawn uniformly from [0, backoff) ("full
	// jitter"), so that many clients retrying at once do not retry in step.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Timeout bounds one HTTP request, the reading of its answer included (default 30s).
	Timeout time.Duration
	// Concurrency is how many streamed batches may be in flight at once (default 4).
	Concurrency int

	// RefreshInterval, when positive, is how often the node list is refreshed from
	// GET /v1/cluster and every node's latency measured again. 0: never. A node that does not
	// serve /v1/cluster (404) keeps the configured list.
	RefreshInterval time.Duration

	// OnResult, when set, is called once with the outcome of each event given to Enqueue:
	// acknowledged (accepted, duplicate, not_qualified), rejected, failed (after MaxAttempts or
	// on Close) or dropped. It is called from the client's sending goroutines, several at once:
	// it must be safe for concurrent use and should return quickly, as the batch it belongs to
	// waits for it; it must not call Flush or Close, nor Enqueue with Overflow Block. Dropped
	// events are reported from the Enqueue call that dropped them.
	OnResult func(Event, Result)
}

// Defaults.
const (
	DefaultBatchSize   = 500
	DefaultBatchBytes  = 512 << 10
	DefaultLinger      = 5 * time.Millisecond
	DefaultQueueSize   = 10000
	DefaultMaxAttempts = 8
	DefaultBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 4
)

// DefaultConfig returns a Config with every default filled in and no URLs.
func DefaultConfig() Config {
	return Config{
		BatchSize:   DefaultBatchSize,
		BatchBytes:  DefaultBatchBytes,
		Linger:      DefaultLinger,
		QueueSize:   DefaultQueueSize,
		Overflow:    Block,
		MaxAttempts: DefaultMaxAttempts,
		Backoff:     DefaultBackoff,
		MaxBackoff:  DefaultMaxBackoff,
		Timeout:     DefaultTimeout,
		Concurrency: DefaultConcurrency,
	}
}

// Validate checks the config; the error names the field and says what to do.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return fmt.Errorf("client: Config.URLs is empty; give at least one node URL, like http://127.0.0.1:8080")
	}
	for i, u := range c.URLs {
		if _, err := normaliseURL(u); err != nil {
			return fmt.Errorf("client: Config.URLs[%d]: %v", i, err)
		}
	}
	ints := []struct {
		name string
		v    int
	}{{"BatchSize", c.BatchSize}, {"BatchBytes", c.BatchBytes}, {"QueueSize", c.QueueSize},
		{"MaxAttempts", c.MaxAttempts}, {"Concurrency", c.Concurrency}}
	for _, f := range ints {
		if f.v < 0 {
			return fmt.Errorf("client: Config.%s is %d; it must be positive, or 0 for the default", f.name, f.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{{"Linger", c.Linger}, {"Backoff", c.Backoff}, {"MaxBackoff", c.MaxBackoff}, {"Timeout", c.Timeout},
		{"RefreshInterval", c.RefreshInterval}}
	for _, f := range durs {
		if f.v < 0 {
			return fmt.Errorf("client: Config.%s is %s; it must be positive, or 0 for the default", f.name, f.v)
		}
	}
	if c.Overflow < Block || c.Overflow > ErrorWhenFull {
		return fmt.Errorf("client: Config.Overflow is %d; use Block, DropOldest or ErrorWhenFull", int(c.Overflow))
	}
	if c.Backoff > 0 && c.MaxBackoff > 0 && c.MaxBackoff < c.Backoff {
		return fmt.Errorf("client: Config.MaxBackoff (%s) is less than Config.Backoff (%s); raise MaxBackoff", c.MaxBackoff, c.Backoff)
	}
	return nil
}

// withDefaults fills every zero field with its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = d.BatchBytes
	}
	if c.Linger == 0 {
		c.Linger = d.Linger
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = d.Backoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(d.MaxBackoff, c.Backoff)
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	return c
}

// normaliseURL checks a node URL and returns it without a trailing slash. A bare host:port gets
// "http://".
func normaliseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is empty; give a node URL like http://127.0.0.1:8080")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL (%v); give one like http://127.0.0.1:8080", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: the scheme must be http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host; give one like http://127.0.0.1:8080", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: a node URL has no query or fragment", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
