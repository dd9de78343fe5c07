package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const profilesUsage = `Usage: wayline profiles import [--url URL] [--key KEY] FILE|-

Imports profiles from FILE (or standard input with "-"): NDJSON, one object per line,

  {"id":"email:ada@example.com","attributes":{"firstName":"Ada","plan":"pro"},"test":false}

each deep-merged into its profile (created when new), through POST /v1/profiles/import. Shows
progress while it runs, then a summary with the first rejected lines and why. Exit status: 0
when every line was imported, 1 when some were rejected or failed, 2 when the command could not
run.

`

// importReasons is how many rejected lines the summary shows.
const importReasons = 10

func profilesCmd(args []string) int {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Print(profilesUsage)
			return 0
		}
		fmt.Fprint(os.Stderr, profilesUsage)
		return 2
	}
	fs := flag.NewFlagSet("profiles import", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "node URL (WAYLINE_URL)")
	key := fs.String("key", "", "API key with the editor or admin role (WAYLINE_KEY)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), profilesUsage)
		fs.PrintDefaults()
	}
	if err := bindEnvOnly(fs, "url", "key"); err != nil {
		fmt.Fprintln(os.Stderr, "wayline profiles import:", err)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "wayline profiles import: give one FILE (or - for standard input)")
		return 2
	}
	var in io.Reader = os.Stdin
	name, size := "standard input", int64(0)
	if p := fs.Arg(0); p != "-" {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "wayline profiles import: %v\n", err)
			return 2
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in, name = f, p
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	imp := &importer{}
	body := &countingReader{r: in}
	start := time.Now()
	prog := imp.progress(body, size)
	err := imp.run(ctx, strings.TrimRight(*url, "/"), *key, body)
	prog()
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "read %s lines from %s in %s (%s lines/s)\n", thousands(imp.lines.Load()), name,
		elapsed.Round(time.Millisecond), thousands(int64(float64(imp.lines.Load())/max(elapsed.Seconds(), 1e-3))))
	imp.summary(os.Stdout)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "wayline profiles import: %v\n", err)
		return 2
	case imp.rejected.Load()+imp.failed.Load() > 0:
		return 1
	}
	return 0
}

// importer sends the file and tallies the answer lines.
type importer struct {
	lines, imported, rejected, failed atomic.Int64

	mu      sync.Mutex
	reasons []string
	stopped string // the summary's error: why the node stopped reading early
}

// run streams body to the node and reads its answer, one line per input line, as it comes.
func (imp *importer) run(ctx context.Context, url, key string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/profiles/import", body)
	if err != nil {
		return fmt.Errorf("--url: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sending to %s: %v (is the node running? see --url)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("the node answered %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("the node answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	gotSummary := false
	for sc.Scan() {
		var r struct {
			Line    int    `json:"line"`
			ID      string `json:"id"`
			Status  string `json:"status"`
			Error   *struct{ Code, Message, Field string }
			Summary *struct {
				Lines                      int64
				Imported, Rejected, Failed int64
				Error                      *struct{ Code, Message string }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("the node's answer is not NDJSON: %v", err)
		}
		if r.Summary != nil {
			gotSummary = true
			if r.Summary.Error != nil {
				imp.stopped = r.Summary.Error.Message
			}
			continue
		}
		imp.lines.Add(1)
		switch r.Status {
		case "imported":
			imp.imported.Add(1)
		case "rejected", "failed":
			if r.Status == "rejected" {
				imp.rejected.Add(1)
			} else {
				imp.failed.Add(1)
			}
			imp.mu.Lock()
			if len(imp.reasons) < importReasons && r.Error != nil {
				field := ""
				if r.Error.Field != "" {
					field = " " + r.Error.Field + ":"
				}
				imp.reasons = append(imp.reasons, fmt.Sprintf("line %d: %s%s %s", r.Line, r.Status, field, r.Error.Message))
			}
			imp.mu.Unlock()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the node's answer: %v", err)
	}
	if !gotSummary {
		return errors.New("the node's answer ended before its summary; lines not reported were not imported")
	}
	return nil
}

func (imp *importer) summary(w io.Writer) {
	fmt.Fprintf(w, "imported %s · rejected %s · failed %s\n", thousands(imp.imported.Load()), thousands(imp.rejected.Load()), thousands(imp.failed.Load()))
	for _, r := range imp.reasons {
		fmt.Fprintln(w, "  "+r)
	}
	if n := imp.rejected.Load() + imp.failed.Load() - int64(len(imp.reasons)); n > 0 {
		fmt.Fprintf(w, "  … and %s more\n", thousands(n))
	}
	if imp.failed.Load() > 0 {
		fmt.Fprintln(w, "failed lines were valid but not stored: import them again (importing a line twice is harmless)")
	}
	if imp.stopped != "" {
		fmt.Fprintln(w, "the node stopped reading early: "+imp.stopped)
	}
}

// progress shows, on a terminal, bytes sent (with a percentage when the size is known) and the
// tallies, until the returned function is called.
func (imp *importer) progress(body *countingReader, size int64) func() {
	if !isTerminal(os.Stderr) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-tick.C:
				pct := ""
				if size > 0 {
					pct = fmt.Sprintf(" (%d%%)", body.n.Load()*100/size)
				}
				fmt.Fprintf(os.Stderr, "\r\033[Ksent %s KiB%s · imported %s · rejected %s · failed %s",
					thousands(body.n.Load()>>10), pct, thousands(imp.imported.Load()), thousands(imp.rejected.Load()), thousands(imp.failed.Load()))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
