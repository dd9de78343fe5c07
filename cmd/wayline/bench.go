package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wayline/wayline/cmd/wayline/internal/bench"
)

// benchCmd is `wayline bench`: it starts a node of this same binary in a temp dir (or targets
// --url), runs the workloads and the ceilings, prints the table and, with --write, replaces the
// bench section of a Markdown file.
func benchCmd(args []string) int {
	var cfg bench.Config
	var workloads, write string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.URL, "url", "", "benchmark a running node at this base URL instead of starting one")
	fs.StringVar(&cfg.Key, "key", os.Getenv("WAYLINE_KEY"), "admin key of the node given with --url (WAYLINE_KEY)")
	fs.StringVar(&workloads, "workloads", "noop,demo,waits,plugins,cluster", "comma-separated: noop, demo, waits, plugins, cluster")
	fs.StringVar(&cfg.PluginDir, "plugin-dir", "bin/plugins", "where make plugins put the plugin modules (the plugins workload)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each phase")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before each measured phase")
	fs.IntVar(&cfg.Conns, "conns", 64, "concurrent single-event requests")
	fs.IntVar(&cfg.Streams, "streams", 8, "NDJSON batches in flight")
	fs.IntVar(&cfg.Batch, "batch", 500, "events per NDJSON request")
	fs.IntVar(&cfg.WaitInstances, "wait-instances", 100_000, "instances parked on timers in the waits workload")
	fs.DurationVar(&cfg.WaitSpread, "wait-spread", 10*time.Second, "the timers fall due evenly over this time")
	fs.BoolVar(&cfg.SkipCeilings, "no-ceilings", false, "skip the bare fasthttp and Pebble ceilings")
	fs.StringVar(&write, "write", "", "replace the bench section of this Markdown file (docs/benchmarks.md)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, w := range strings.Split(workloads, ",") {
		if w = strings.TrimSpace(w); w != "" {
			cfg.Workloads = append(cfg.Workloads, w)
		}
	}
	if cfg.URL == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "wayline bench:", err)
			return 1
		}
		cfg.Binary = exe
	}
	cfg.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wayline bench:", err)
		return 1
	}
	fmt.Print(rep.Text())
	if write != "" {
		if err := rep.WriteInto(write, "wayline bench "+strings.Join(args, " ")); err != nil {
			fmt.Fprintln(os.Stderr, "wayline bench: --write:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "wrote the table to %s\n", write)
	}
	return 0
}
