package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Markers delimit the section of docs/benchmarks.md that `wayline bench --write` replaces.
const (
	beginMarker = "<!-- wayline-bench:begin -->"
	endMarker   = "<!-- wayline-bench:end -->"
)

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

func perSec(v float64) string {
	if v <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func pct(ds []time.Duration, i int) string {
	if i >= len(ds) {
		return "–"
	}
	return ms(ds[i])
}

// Markdown renders the report as the docs section.
func (r *Report) Markdown(command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## `wayline bench` (HTTP, end to end)\n\n", beginMarker)
	fmt.Fprintf(&b, "Written by `%s` on %s: %d CPUs (%s), Go %s. The load generator (the Go client) runs on the same machine as the node.\n\n",
		command, r.Started.Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), cpuModel(), strings.TrimPrefix(runtime.Version(), "go"))
	fmt.Fprintf(&b, "Each phase: %s warm-up, then %s measured. Acknowledged = committed with fsync.\n\n", r.Config.Warmup, r.Config.Duration)
	b.WriteString("| workload | shape | events/s | ceiling (bare fasthttp 202) | ratio | ack p50 / p99 / p99.9 ms | event→action p50 / p99 ms | node CPU (cores) | node peak RSS | note |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |\n")
	for _, row := range r.Rows {
		ratio := "–"
		if row.Ceiling > 0 {
			ratio = fmt.Sprintf("%.2f", row.Rate/row.Ceiling)
		}
		ack := fmt.Sprintf("%s / %s / %s", pct(row.Ack, 0), pct(row.Ack, 1), pct(row.Ack, 2))
		action := fmt.Sprintf("%s / %s", pct(row.Action, 0), pct(row.Action, 1))
		if row.Workload == "waits" {
			ack = "–"
			action = fmt.Sprintf("lag %s / %s / max %s", pct(row.Action, 0), pct(row.Action, 1), pct(row.Action, 2))
		}
		cpu, rss := "–", "–"
		if row.CPU >= 0 {
			cpu = fmt.Sprintf("%.2f", row.CPU)
		}
		if row.PeakRSS > 0 {
			rss = fmt.Sprintf("%d MiB", row.PeakRSS>>20)
		}
		note := row.Note
		if row.Failed > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%d failed; %s", row.Failed, note))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.Workload, row.Shape, perSec(row.Rate), perSec(row.Ceiling), ratio, ack, action, cpu, rss, strings.ReplaceAll(note, "|", "/"))
	}
	if len(r.Storage) > 0 {
		b.WriteString("\nStorage ceiling (bare Pebble, synced batches, same store options as the node):\n\n| record | batch | writers | records/s |\n| ---: | ---: | ---: | ---: |\n")
		for _, s := range r.Storage {
			fmt.Fprintf(&b, "| %d B | %d | %d | %s |\n", s.Record, s.Batch, s.Writers, perSec(s.Rate))
		}
		b.WriteString("\nA journey step writes about 2.6–3.3 KB to the WAL per event and an event that matches no journey about 0.5 KB (see the Go benchmarks above), so compare the demo rows with the 3,000 B ceiling and the noop rows with the 600 B one.\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "%s\n", n)
		}
	}
	b.WriteString("\nThe cluster rows (workload `cluster`) run three nodes and the load generator on this one machine, so they share its cores: they show the cost of forwarding and replication, not a cluster's capacity. Their ceiling is the one-node demo NDJSON row of the same run.\n")
	fmt.Fprintf(&b, "%s\n", endMarker)
	return b.String()
}

// Text renders the report for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %-34s %10s %10s %6s %22s %18s %6s %8s\n", "WORK", "SHAPE", "EVENTS/S", "CEILING", "RATIO", "ACK P50/P99/P99.9 MS", "ACTION P50/P99 MS", "CPU", "RSS")
	for _, row := range r.Rows {
		ratio := "-"
		if row.Ceiling > 0 {
			ratio = fmt.Sprintf("%.2f", row.Rate/row.Ceiling)
		}
		cpu, rss := "-", "-"
		if row.CPU >= 0 {
			cpu = fmt.Sprintf("%.2f", row.CPU)
		}
		if row.PeakRSS > 0 {
			rss = fmt.Sprintf("%dMiB", row.PeakRSS>>20)
		}
		fmt.Fprintf(&b, "%-6s %-34s %10s %10s %6s %22s %18s %6s %8s\n", row.Workload, row.Shape, perSec(row.Rate), perSec(row.Ceiling), ratio,
			pct(row.Ack, 0)+"/"+pct(row.Ack, 1)+"/"+pct(row.Ack, 2), pct(row.Action, 0)+"/"+pct(row.Action, 1), cpu, rss)
		if row.Note != "" || row.Failed > 0 {
			fmt.Fprintf(&b, "       %d failed. %s\n", row.Failed, row.Note)
		}
	}
	for _, s := range r.Storage {
		fmt.Fprintf(&b, "pebble ceiling: %d B records, batches of %d, %d writers: %s records/s\n", s.Record, s.Batch, s.Writers, perSec(s.Rate))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(&b, n)
	}
	return b.String()
}

// WriteInto replaces the bench section of a Markdown file (or appends one).
func (r *Report) WriteInto(path, command string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	section := r.Markdown(command)
	var out []byte
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	if i >= 0 && j > i {
		rest := old[min(len(old), j+len(endMarker)+1):]
		out = append(append(append([]byte(nil), old[:i]...), section...), rest...)
	} else {
		out = append(append(append([]byte(nil), old...), '\n'), section...)
	}
	return os.WriteFile(path, out, 0o644)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return runtime.GOARCH
}
