package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	client "github.com/wayline/wayline/sdk/client/go"
)

const sendUsage = `Usage: wayline send [--url URL[,URL...]] [--key KEY] [FILE|-]

Streams NDJSON events (one JSON object per line, as POST /v1/events takes them) from FILE, or
from standard input when FILE is "-" or absent, to the node with the lowest latency, and prints
a summary. Events without an id get one before they are sent, so a retry never stores an event
twice. Exit status: 0 when every event was stored, 1 when some were rejected or failed, 2 when
the command could not run.

`

// sendMaxLine bounds one input line; the node's own limit is 256 KiB.
const sendMaxLine = 4 << 20

// sendReasons is how many rejection reasons the summary shows.
const sendReasons = 5

func send(args []string) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	urls := fs.String("url", "http://127.0.0.1:8080", "node URL, or several separated by commas (WAYLINE_URL)")
	key := fs.String("key", "", "API key with the ingest, editor or admin role (WAYLINE_KEY)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sendUsage)
		fs.PrintDefaults()
	}
	if err := bindEnv(fs); err != nil {
		fmt.Fprintln(os.Stderr, "wayline send:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(os.Stderr, "wayline send: one input at most, got %d: %s\n", fs.NArg(), strings.Join(fs.Args(), " "))
		return 2
	}
	var in io.Reader = os.Stdin
	name := "standard input"
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "wayline send: %v\n", err)
			return 2
		}
		defer f.Close()
		in, name = f, p
	} else if isTerminal(os.Stdin) {
		fmt.Fprintln(os.Stderr, "wayline send: reading NDJSON events from the terminal; end with Ctrl-D (or give a FILE)")
	}

	s := &sender{lines: map[string]int{}}
	cfg := client.Config{URLs: splitList(*urls), APIKey: *key, OnResult: s.onResult}
	c, err := client.New(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wayline send: --url: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	prog := startProgress(c, start)
	readErr := s.read(ctx, c, in)
	// Flush what was read; an interrupt gives the queue a few seconds more.
	closeCtx := context.Background()
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		closeCtx, cancel = context.WithTimeout(closeCtx, 5*time.Second)
		defer cancel()
	}
	c.Close(closeCtx)
	prog.stop()
	elapsed := time.Since(start)

	st := c.Stats()
	fmt.Fprintf(os.Stderr, "sent %s events from %s in %s (%s events/s)\n", thousands(st.Sent), name,
		elapsed.Round(time.Millisecond), thousands(int64(float64(st.Acked)/max(elapsed.Seconds(), 1e-3))))
	s.summary(os.Stdout)
	switch {
	case readErr != nil:
		fmt.Fprintf(os.Stderr, "wayline send: reading %s: %v\n", name, readErr)
		return 2
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "wayline send: interrupted; events not acknowledged are counted as failed")
		return 1
	case s.rejected.Load()+s.failed.Load() > 0:
		return 1
	}
	return 0
}

// sender reads events and keeps the tallies of their outcomes.
type sender struct {
	accepted, duplicates, notQualified, rejected, failed atomic.Int64

	mu      sync.Mutex
	lines   map[string]int // event id → input line, while the event is on its way
	reasons []sendReason   // the first rejection and failure reasons
}

type sendReason struct {
	line int // 0: not known
	text string
}

// read enqueues every event of in, until its end or ctx ends.
func (s *sender) read(ctx context.Context, c *client.Client, in io.Reader) error {
	r := bufio.NewReaderSize(in, 256<<10)
	for lineNo := 1; ctx.Err() == nil; lineNo++ {
		line, tooLong, err := readLine(r)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			if tooLong {
				s.reject(lineNo, "", fmt.Sprintf("the line is longer than %d bytes; the node takes at most 256 KiB per event", sendMaxLine))
			} else if ev, reason := decodeEvent(line); reason != "" {
				s.reject(lineNo, "", reason)
			} else {
				if ev.ID == "" {
					ev.ID = client.NewID()
				}
				s.mu.Lock()
				s.lines[ev.ID] = lineNo
				s.mu.Unlock()
				if err := c.Enqueue(ctx, ev); err != nil {
					s.mu.Lock()
					delete(s.lines, ev.ID)
					s.mu.Unlock()
					if ctx.Err() != nil {
						return nil
					}
					s.reject(lineNo, ev.ID, err.Error())
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLine reads one line without its line ending; a line over sendMaxLine is skipped to its
// end and reported as too long.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > sendMaxLine+2 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// decodeEvent decodes one input line strictly, or says what is wrong with it.
func decodeEvent(line []byte) (client.Event, string) {
	var raw struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Identity  string         `json:"identity"`
		Data      map[string]any `json:"data"`
		Test      bool           `json:"test"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	dec.UseNumber() // keep large integers exact
	if err := dec.Decode(&raw); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return client.Event{}, fmt.Sprintf("%s: must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		case errors.As(err, &te):
			return client.Event{}, "an event must be a JSON object such as {\"type\":\"signup\",\"data\":{...}}, not " + te.Value
		case errors.As(err, &se):
			return client.Event{}, fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(err.Error(), "json: "))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return client.Event{}, fmt.Sprintf("%s: unknown field; an event has only id, type, timestamp, identity, data and test: put your own fields inside \"data\"", f)
		default:
			return client.Event{}, "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
		}
	}
	if dec.More() {
		return client.Event{}, "more than one JSON value on the line; put one event per line"
	}
	if strings.TrimSpace(raw.Type) == "" {
		return client.Event{}, "type: is required: name the event's definition, e.g. \"type\":\"signup\""
	}
	ev := client.Event{ID: raw.ID, Type: raw.Type, Identity: raw.Identity, Data: raw.Data, Test: raw.Test}
	if raw.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, raw.Timestamp)
		if err != nil {
			return client.Event{}, fmt.Sprintf("timestamp: %q is not an RFC 3339 date-time such as \"2024-05-01T12:00:00Z\"; or leave it out for the time of receipt", raw.Timestamp)
		}
		ev.Timestamp = ts
	}
	return ev, ""
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	}
	return goKind
}

func (s *sender) onResult(ev client.Event, r client.Result) {
	switch r.Status {
	case client.StatusAccepted:
		s.accepted.Add(1)
	case client.StatusDuplicate:
		s.duplicates.Add(1)
	case client.StatusNotQualified:
		s.notQualified.Add(1)
	case client.StatusRejected:
		s.rejected.Add(1)
	default: // failed, dropped
		s.failed.Add(1)
	}
	s.mu.Lock()
	lineNo := s.lines[ev.ID]
	delete(s.lines, ev.ID)
	if r.Err != nil && len(s.reasons) < sendReasons {
		s.reasons = append(s.reasons, reason(lineNo, ev.ID, r.Status+": "+strings.TrimPrefix(r.Err.Error(), "wayline: ")))
	}
	s.mu.Unlock()
}

// reject counts a line the node never saw.
func (s *sender) reject(lineNo int, id, why string) {
	s.rejected.Add(1)
	s.mu.Lock()
	if len(s.reasons) < sendReasons {
		s.reasons = append(s.reasons, reason(lineNo, id, "rejected: "+why))
	}
	s.mu.Unlock()
}

func reason(lineNo int, id, why string) sendReason {
	where := "line " + strconv.Itoa(lineNo)
	if lineNo == 0 {
		where = "event " + id
	}
	return sendReason{line: lineNo, text: where + ": " + why}
}

func (s *sender) summary(w io.Writer) {
	row := func(name string, n int64) { fmt.Fprintf(w, "%-14s %s\n", name, thousands(n)) }
	row("accepted", s.accepted.Load())
	row("duplicates", s.duplicates.Load())
	if n := s.notQualified.Load(); n > 0 {
		row("not qualified", n)
	}
	row("rejected", s.rejected.Load())
	row("failed", s.failed.Load())
	s.mu.Lock()
	defer s.mu.Unlock()
	// In input order: lines refused here are known before those the node refused.
	sort.SliceStable(s.reasons, func(i, j int) bool {
		a, b := s.reasons[i].line, s.reasons[j].line
		return a != 0 && (b == 0 || a < b)
	})
	for _, r := range s.reasons {
		fmt.Fprintf(w, "  %s\n", r.text)
	}
	if n := s.rejected.Load() + s.failed.Load(); n > int64(len(s.reasons)) && len(s.reasons) > 0 {
		fmt.Fprintf(w, "  (and %s more; see GET /v1/events/recent on the node)\n", thousands(n-int64(len(s.reasons))))
	}
}

// progress redraws one status line on a terminal stderr at most every 200ms.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
	tty  bool
}

func startProgress(c *client.Client, start time.Time) *progress {
	p := &progress{done: make(chan struct{}), tty: isTerminal(os.Stderr)}
	if !p.tty {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		last, lastAt := client.Stats{}, start
		for {
			select {
			case <-p.done:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case now := <-tick.C:
				st := c.Stats()
				dt := now.Sub(lastAt).Seconds()
				fmt.Fprintf(os.Stderr, "\r\033[Ksent %s (%s/s) · acked %s (%s/s) · rejected %s · failed %s",
					thousands(st.Sent), thousands(int64(float64(st.Sent-last.Sent)/dt)),
					thousands(st.Acked), thousands(int64(float64(st.Acked-last.Acked)/dt)),
					thousands(st.Rejected), thousands(st.Failed))
				last, lastAt = st, now
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// thousands writes n with thin separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
