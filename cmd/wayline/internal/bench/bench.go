// Package bench is `wayline bench`: a load generator, built on the Go client, that measures a
// node against the limits of its parts — a bare fasthttp server answering 202 (the HTTP
// ceiling) and bare Pebble synced group-commit batches of the same record sizes (the storage
// ceiling) — with the same load generator on the same machine, and prints each figure beside
// its ceiling as a ratio.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	client "github.com/wayline/wayline/sdk/client/go"
)

// Config configures a run. Its zero value works with Binary set (or URL and Key).
type Config struct {
	// Binary is the wayline executable to start a node from (in a temp data dir); ignored
	// when URL is set.
	Binary string
	// URL and Key target a running node instead (its CPU and memory are then not measured).
	URL, Key string
	// Workloads to run, in order: "noop", "demo", "waits", "plugins", "cluster" (default all).
	Workloads []string
	// PluginDir holds the plugin modules `make plugins` builds (default bin/plugins).
	PluginDir string
	// Duration of each timed phase, after Warmup.
	Duration, Warmup time.Duration
	// Conns is the single-event shape's concurrent requests; Streams the NDJSON shape's batches
	// in flight, of Batch events each.
	Conns, Streams, Batch int
	// WaitInstances are parked on timers that fall due over WaitSpread.
	WaitInstances int
	WaitSpread    time.Duration
	// SkipCeilings leaves out the ceiling measurements (for a quick smoke).
	SkipCeilings bool
	// Progress receives one line per phase; nil for none.
	Progress io.Writer
}

func (c *Config) fill() {
	if len(c.Workloads) == 0 {
		c.Workloads = []string{"noop", "demo", "waits", "plugins", "cluster"}
	}
	if c.PluginDir == "" {
		c.PluginDir = "bin/plugins"
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Conns == 0 {
		c.Conns = 64
	}
	if c.Streams == 0 {
		c.Streams = 8
	}
	if c.Batch == 0 {
		c.Batch = 500
	}
	if c.WaitInstances == 0 {
		c.WaitInstances = 100_000
	}
	if c.WaitSpread == 0 {
		c.WaitSpread = 10 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Binary == "" && c.URL == "" {
		return errors.New("bench: give the wayline binary to start a node from, or --url of a running one")
	}
	if c.URL != "" && c.Key == "" {
		return errors.New("bench: --url needs --key (an ingest, editor or admin key; admin to create the bench workspace)")
	}
	for _, w := range c.Workloads {
		if w != "noop" && w != "demo" && w != "waits" && w != "plugins" && w != "cluster" {
			return fmt.Errorf("bench: unknown workload %q: use noop, demo, waits or plugins", w)
		}
	}
	if c.Duration < 0 || c.Warmup < 0 || c.Conns < 0 || c.Streams < 0 || c.Batch < 0 || c.WaitInstances < 0 || c.WaitSpread < 0 {
		return errors.New("bench: durations and counts must not be negative")
	}
	return nil
}

// Row is one line of the report.
type Row struct {
	Workload, Shape string
	Rate            float64         // acknowledged events per second (timers fired per second for waits)
	Ceiling         float64         // the same shape against the ceiling; 0 when not measured
	CeilingName     string          // what the ceiling is
	Ack             []time.Duration // p50, p99, p99.9 of acknowledge latency
	Action          []time.Duration // p50, p99 of event → action latency, or of timer lag for waits
	CPU             float64         // node CPU cores used during the phase (-1: unknown)
	PeakRSS         int64           // node peak RSS after the phase, bytes (-1: unknown)
	Failed          int64
	Note            string
}

// Report is a whole run.
type Report struct {
	Rows    []Row
	Notes   []string // figures that are not rows (failover time)
	Storage []StorageRow
	Started time.Time
	Config  Config
}

// StorageRow is a bare-Pebble ceiling.
type StorageRow struct {
	Record, Batch, Writers int
	Rate                   float64
}

// Run measures every workload and ceiling.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	rep := &Report{Started: time.Now().UTC(), Config: cfg}
	sk, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sk.close()
	n := &node{url: cfg.URL, key: cfg.Key}
	if cfg.URL == "" {
		if n, err = startNode(cfg.Binary); err != nil {
			return nil, err
		}
		defer n.stop()
	}
	if err := setupWorkspace(n.url, n.key, sk.url); err != nil {
		return nil, err
	}
	var ceiling *ceilingServer
	if !cfg.SkipCeilings {
		if ceiling, err = startCeilingServer(); err != nil {
			return nil, err
		}
		defer ceiling.close()
	}
	httpCeiling := map[shape]float64{}
	measureCeiling := func(sh shape) float64 {
		if ceiling == nil {
			return 0
		}
		if v, ok := httpCeiling[sh]; ok {
			return v
		}
		fmt.Fprintf(cfg.Progress, "ceiling: bare fasthttp, %s ...\n", sh)
		r, err := runLoad(ctx, ceiling.url, "", sh, conns(cfg, sh), cfg.Batch, cfg.Warmup/2, cfg.Duration, noopEvent, 0)
		if err != nil {
			return 0
		}
		httpCeiling[sh] = r.rate
		return r.rate
	}
	var demoNDJSON float64 // the CEL twin of the plugin workload
	for _, w := range cfg.Workloads {
		switch w {
		case "noop", "demo":
			mk, typ := noopEvent, "bench.noop"
			if w == "demo" {
				mk, typ = demoEvent, "bench.signup"
			}
			maxSingle := 0.0
			for _, ph := range []struct {
				sh   shape
				half bool
			}{{shapeSingle, false}, {shapeSingle, true}, {shapeNDJSON, false}} {
				sh, pace := ph.sh, 0.0
				if ph.half {
					if maxSingle <= 0 {
						continue
					}
					pace = maxSingle / 2
				}
				label := string(sh)
				if ph.half {
					label = fmt.Sprintf("single paced at %.0f/s", pace)
				}
				fmt.Fprintf(cfg.Progress, "%s (%s), %s: %s warm-up + %s ...\n", w, typ, label, cfg.Warmup, cfg.Duration)
				sk.action.reset()
				before := n.usage()
				r, err := runLoad(ctx, n.url, n.key, sh, conns(cfg, sh), cfg.Batch, cfg.Warmup, cfg.Duration, mk, pace)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", w, sh, err)
				}
				after := n.usage()
				row := Row{Workload: w, Shape: shapeLabel(cfg, sh), Rate: r.rate, Ack: r.ack, Failed: r.failed, CPU: -1, PeakRSS: -1}
				if sh == shapeSingle && !ph.half {
					maxSingle = r.rate
				}
				if ph.half {
					row.Shape = fmt.Sprintf("single events paced at half that (%.0f/s)", pace)
				}
				if w == "demo" && sh == shapeNDJSON {
					demoNDJSON = r.rate
				}
				if before.ok && after.ok {
					row.CPU = (after.cpu - before.cpu).Seconds() / (cfg.Warmup + r.elapsed).Seconds()
					row.PeakRSS = after.peakRSS
				}
				if w == "demo" {
					row.Action = sk.action.percentiles(0.50, 0.99)
				}
				if r.firstErr != "" {
					row.Note = "first failure: " + r.firstErr
				}
				if !ph.half {
					row.Ceiling, row.CeilingName = measureCeiling(sh), "bare fasthttp 202"
				}
				rep.Rows = append(rep.Rows, row)
			}
		case "waits":
			row, err := runWaits(ctx, cfg, n, sk)
			if err != nil {
				return nil, err
			}
			rep.Rows = append(rep.Rows, row)
		case "plugins":
			rows, err := runPlugins(ctx, cfg, n, sk, demoNDJSON)
			if err != nil {
				return nil, err
			}
			rep.Rows = append(rep.Rows, rows...)
		case "cluster":
			if cfg.Binary == "" {
				return nil, fmt.Errorf("the cluster workload starts its own nodes: run it without --url")
			}
			rows, notes, err := runCluster(ctx, cfg, sk, demoNDJSON)
			if err != nil {
				return nil, err
			}
			rep.Rows = append(rep.Rows, rows...)
			rep.Notes = append(rep.Notes, notes...)
		}
	}
	if !cfg.SkipCeilings {
		for _, s := range []StorageRow{{Record: 600, Batch: 1, Writers: 64}, {Record: 600, Batch: 500, Writers: 8}, {Record: 3000, Batch: 1, Writers: 64}, {Record: 3000, Batch: 500, Writers: 8}} {
			fmt.Fprintf(cfg.Progress, "ceiling: bare Pebble, %d B records, batches of %d, %d writers ...\n", s.Record, s.Batch, s.Writers)
			rate, err := pebbleCeiling(ctx, s.Record, s.Batch, s.Writers, cfg.Duration)
			if err != nil {
				return nil, err
			}
			s.Rate = rate
			rep.Storage = append(rep.Storage, s)
		}
	}
	return rep, nil
}

func conns(cfg Config, sh shape) int {
	if sh == shapeSingle {
		return cfg.Conns
	}
	return cfg.Streams
}

func shapeLabel(cfg Config, sh shape) string {
	if sh == shapeSingle {
		return fmt.Sprintf("single events, %d conns", cfg.Conns)
	}
	return fmt.Sprintf("NDJSON %d/request, %d streams", cfg.Batch, cfg.Streams)
}

func stamp() string { return strconv.FormatInt(time.Now().UnixNano(), 10) }

// profiles numbers the profiles of a whole run: every event is for a new profile, so that
// each demo event enters the journey (re-entrance is "never") in every phase.
var profiles atomic.Int64

func noopEvent(int64) client.Event {
	return client.Event{Type: "bench.noop", Data: map[string]any{"userId": "n" + strconv.FormatInt(profiles.Add(1), 36), "sentAt": stamp()}}
}

func demoEvent(int64) client.Event {
	return client.Event{Type: "bench.signup", Data: map[string]any{"userId": "d" + strconv.FormatInt(profiles.Add(1), 36), "sentAt": stamp()}}
}

// runWaits parks cfg.WaitInstances instances on timers due evenly over WaitSpread, starting
// once they are all parked, and measures the rate at which they fire and how late each is.
func runWaits(ctx context.Context, cfg Config, n *node, sk *sink) (Row, error) {
	total := cfg.WaitInstances
	// Due times start after the expected parking time, so every instance is parked first.
	parkBudget := time.Duration(total/5000+2) * time.Second
	firstDue := time.Now().Add(parkBudget)
	fmt.Fprintf(cfg.Progress, "waits: parking %d instances, due over %s from %s ...\n", total, cfg.WaitSpread, firstDue.Format(time.TimeOnly))
	sk.lag.reset()
	c, err := client.New(client.Config{URLs: []string{n.url}, APIKey: n.key, BatchSize: cfg.Batch, Concurrency: cfg.Streams})
	if err != nil {
		return Row{}, err
	}
	step := cfg.WaitSpread / time.Duration(max(total, 1))
	for i := 0; i < total; i++ {
		due := firstDue.Add(time.Duration(i) * step)
		ev := client.Event{Type: "bench.wait", Data: map[string]any{"userId": "w" + strconv.Itoa(i), "sentAt": stamp(),
			"dueAt": due.UTC().Format(time.RFC3339Nano), "dueNs": strconv.FormatInt(due.UnixNano(), 10)}}
		if err := c.Enqueue(ctx, ev); err != nil {
			c.Close(context.Background())
			return Row{}, err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, parkBudget+time.Minute)
	err = c.Close(fctx)
	cancel()
	if err != nil {
		return Row{}, fmt.Errorf("waits: parking: %w", err)
	}
	late := ""
	if time.Now().After(firstDue) {
		late = fmt.Sprintf("parking took longer than planned: the first timers fell due %s before all were parked; ", time.Since(firstDue).Round(time.Millisecond))
	}
	before := n.usage()
	deadline := firstDue.Add(cfg.WaitSpread + 60*time.Second)
	for sk.lag.count() < int64(total) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	fired := sk.lag.count()
	elapsed := time.Since(firstDue)
	after := n.usage()
	row := Row{Workload: "waits", Shape: fmt.Sprintf("%d timers due over %s", total, cfg.WaitSpread),
		Rate: float64(fired) / elapsed.Seconds(), Action: sk.lag.percentiles(0.50, 0.99, 1), CPU: -1, PeakRSS: -1,
		Note: late + fmt.Sprintf("target rate %.0f/s; fired %d of %d", float64(total)/cfg.WaitSpread.Seconds(), fired, total)}
	if before.ok && after.ok {
		row.CPU = (after.cpu - before.cpu).Seconds() / elapsed.Seconds()
		row.PeakRSS = after.peakRSS
	}
	if fired < int64(total) {
		row.Failed = int64(total) - fired
	}
	return row, nil
}
