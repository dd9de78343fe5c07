package transport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait bounds every wait in these tests: long enough never to fire on a slow machine, short
// enough that a hang fails instead of stalling the suite.
const wait = 10 * time.Second

// startServer serves s on a loopback port until the test ends and returns its address.
// Handlers must be registered before (the handler map is not locked).
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case <-served:
		case <-time.After(wait):
			t.Errorf("Serve did not return %v after Shutdown", wait)
		}
	})
	return ln.Addr().String()
}

func newServer(key Key) *Server { return NewServer(key, slog.New(slog.DiscardHandler)) }

// signedBy is the request signature as the wire protocol defines it, written out here rather
// than calling Key.sign, so that a change to the algorithm breaks this test: the signing key
// is SHA-256("wayline internal requests v1\x00" + secret) and the signature the hex
// HMAC-SHA256 of "METHOD\nPATH\nNODE\nUNIXMILLI\n" followed by the body.
func signedBy(secret, method, path, node string, unixMilli int64, body []byte) string {
	key := sha256.Sum256([]byte("wayline internal requests v1\x00" + secret))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(method + "\n" + path + "\n" + node + "\n" + strconv.FormatInt(unixMilli, 10) + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// rawRequest sends a hand-made request (no signing unless headers say so) and returns the
// status and trimmed body.
func rawRequest(t *testing.T, method, addr, path string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Timeout: wait}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(out))
}

func signedHeaders(secret, path, node string, ms int64, body []byte) map[string]string {
	return map[string]string{
		HeaderNode: node,
		HeaderTime: strconv.FormatInt(ms, 10),
		HeaderSig:  signedBy(secret, "POST", path, node, ms, body),
	}
}

// echoServer serves /echo, answering "from|body" and counting calls.
type echoServer struct {
	calls atomic.Int64
	addr  string
}

func startEcho(t *testing.T, secret string) *echoServer {
	t.Helper()
	e := &echoServer{}
	s := newServer(DeriveKey(secret))
	s.Handle("/echo", func(from string, body []byte) ([]byte, error) {
		e.calls.Add(1)
		return []byte(from + "|" + string(body)), nil
	})
	e.addr = startServer(t, s)
	return e
}

func TestSignedRequestReachesHandlerWithSendersName(t *testing.T) {
	t.Parallel()
	e := startEcho(t, "s3cret")
	c := NewClient(DeriveKey("s3cret"), "node-a", nil)
	for _, body := range [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{0, 0xff}, 1<<16)} {
		out, err := c.Post(context.Background(), e.addr, "/echo", body)
		if err != nil {
			t.Fatalf("signed Post of %d bytes: %v", len(body), err)
		}
		if want := "node-a|" + string(body); string(out) != want {
			t.Fatalf("signed Post of %d bytes: handler answered %d bytes %.40q, want %d bytes %.40q",
				len(body), len(out), out, len(want), want)
		}
	}
}

func TestHandMadeSignatureMatchesTheWireProtocol(t *testing.T) {
	t.Parallel()
	if got, want := DeriveKey("x").sign("POST", "/p", "n", 42, []byte("b")), signedBy("x", "POST", "/p", "n", 42, []byte("b")); got != want {
		t.Fatalf("Key.sign = %s, the documented algorithm gives %s: the wire protocol changed", got, want)
	}
	e := startEcho(t, "s3cret")
	body := []byte("by hand")
	status, out := rawRequest(t, "POST", e.addr, "/echo", signedHeaders("s3cret", "/echo", "node-h", time.Now().UnixMilli(), body), body)
	if status != http.StatusOK || out != "node-h|by hand" {
		t.Fatalf("hand-signed request: status %d %q, want 200 %q", status, out, "node-h|by hand")
	}
}

func TestServerRefusesWhatIsNotAValidMembersRequest(t *testing.T) {
	t.Parallel()
	e := startEcho(t, "s3cret")
	now := time.Now().UnixMilli()
	skew := MaxSkew.Milliseconds()
	body := []byte("payload")
	tampered := signedHeaders("s3cret", "/echo", "node-a", now, []byte("payloaD"))
	otherPath := signedHeaders("s3cret", "/other", "node-a", now, body)
	otherNode := signedHeaders("s3cret", "/echo", "node-a", now, body)
	otherNode[HeaderNode] = "node-b"
	noNode := signedHeaders("s3cret", "/echo", "", now, body)
	noSig := signedHeaders("s3cret", "/echo", "node-a", now, body)
	delete(noSig, HeaderSig)
	badTime := signedHeaders("s3cret", "/echo", "node-a", now, body)
	badTime[HeaderTime] = "soon"
	upperSig := signedHeaders("s3cret", "/echo", "node-a", now, body)
	upperSig[HeaderSig] = strings.ToUpper(upperSig[HeaderSig])

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		msg     string // a part of the answer
	}{
		{"unsigned", "POST", "/echo", nil, 401, "unsigned request"},
		{"no sender", "POST", "/echo", noNode, 401, "unsigned request"},
		{"unparsable time", "POST", "/echo", badTime, 401, "unsigned request"},
		{"no signature", "POST", "/echo", noSig, 401, "bad signature"},
		{"another secret", "POST", "/echo", signedHeaders("other", "/echo", "node-a", now, body), 401, "--cluster-secret"},
		{"tampered body", "POST", "/echo", tampered, 401, "bad signature"},
		{"signed for another path", "POST", "/echo", otherPath, 401, "bad signature"},
		{"signed by another node", "POST", "/echo", otherNode, 401, "bad signature"},
		{"signature in upper case", "POST", "/echo", upperSig, 401, "bad signature"},
		{"time too old", "POST", "/echo", signedHeaders("s3cret", "/echo", "node-a", now-skew-60_000, body), 401, "clock"},
		{"time too far ahead", "POST", "/echo", signedHeaders("s3cret", "/echo", "node-a", now+skew+60_000, body), 401, "clock"},
		{"unknown path", "POST", "/nope", signedHeaders("s3cret", "/nope", "node-a", now, body), 404, "no such internal endpoint"},
		{"GET", "GET", "/echo", signedHeaders("s3cret", "/echo", "node-a", now, body), 404, "no such internal endpoint"},
		{"PUT", "PUT", "/echo", signedHeaders("s3cret", "/echo", "node-a", now, body), 404, "no such internal endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.calls.Load()
			var reqBody []byte
			if tc.method != "GET" {
				reqBody = body
			}
			status, out := rawRequest(t, tc.method, e.addr, tc.path, tc.headers, reqBody)
			if status != tc.status || !strings.Contains(out, tc.msg) {
				t.Errorf("status %d %q, want %d with %q", status, out, tc.status, tc.msg)
			}
			if n := e.calls.Load() - before; n != 0 {
				t.Errorf("the handler ran %d times for a refused request", n)
			}
		})
	}
}

func TestClientWithAnotherSecretGets401NamingTheFlag(t *testing.T) {
	t.Parallel()
	e := startEcho(t, "s3cret")
	_, err := NewClient(DeriveKey("not the secret"), "node-a", nil).Post(context.Background(), e.addr, "/echo", []byte("x"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 401 || !strings.Contains(se.Msg, "--cluster-secret") {
		t.Fatalf("Post with another secret: %v (%T), want a 401 *StatusError naming --cluster-secret", err, err)
	}
	if n := e.calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for a wrongly signed request", n)
	}
}

func TestHandlerErrorsAnswerTheirStatus(t *testing.T) {
	t.Parallel()
	s := newServer(DeriveKey("k"))
	s.Handle("/conflict", func(string, []byte) ([]byte, error) {
		return nil, &StatusError{Status: 409, Msg: "promised epoch 7"}
	})
	s.Handle("/wrapped", func(string, []byte) ([]byte, error) {
		return nil, fmt.Errorf("install: %w", &StatusError{Status: 400, Msg: "bad snapshot"})
	})
	s.Handle("/fail", func(string, []byte) ([]byte, error) { return nil, errors.New("disk on fire") })
	addr := startServer(t, s)
	c := NewClient(DeriveKey("k"), "n", nil)
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/conflict", 409, "promised epoch 7"},
		{"/wrapped", 400, "install: bad snapshot"},
		{"/fail", 500, "disk on fire"},
	} {
		out, err := c.Post(context.Background(), addr, tc.path, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != tc.status || se.Msg != tc.msg {
			t.Errorf("%s: answered %q, %v (%T); want *StatusError{%d, %q}", tc.path, out, err, err, tc.status, tc.msg)
		}
	}
}

// Faults cut only what a node sends (a receiver on loopback cannot tell its peers apart by
// address); a partition test sets them on both sides.
func TestFaultsCutSends(t *testing.T) {
	t.Parallel()
	e := startEcho(t, "k")
	var faults Faults
	c := NewClient(DeriveKey("k"), "n", &faults)
	faults.Block([]string{"10.0.0.9", "127.0.0.1"})
	if _, err := c.Post(context.Background(), e.addr, "/echo", nil); !errors.Is(err, ErrBlocked) {
		t.Fatalf("Post to a blocked peer: %v, want ErrBlocked", err)
	}
	if n := e.calls.Load(); n != 0 {
		t.Fatalf("a blocked send reached the handler %d times", n)
	}
	p := NewPipe(c, e.addr, "/echo", 1, 1<<20)
	defer p.Close()
	if _, err := p.Do(context.Background(), []byte("x")); !errors.Is(err, ErrBlocked) {
		t.Fatalf("Pipe.Do to a blocked peer: %v, want ErrBlocked", err)
	}
	faults.Block([]string{"10.0.0.9"})
	if out, err := c.Post(context.Background(), e.addr, "/echo", []byte("x")); err != nil || string(out) != "n|x" {
		t.Fatalf("Post after unblocking 127.0.0.1 = %q, %v; want n|x", out, err)
	}
}

func TestFaultsBlockedMatchesIPsAndHostPorts(t *testing.T) {
	t.Parallel()
	var nilFaults *Faults
	if nilFaults.Blocked("127.0.0.1") {
		t.Fatal("nil Faults blocks 127.0.0.1")
	}
	var zero Faults
	if zero.Blocked("127.0.0.1:80") {
		t.Fatal("zero Faults blocks 127.0.0.1:80")
	}
	var f Faults
	f.Block([]string{"127.0.0.2", "::1"})
	for host, want := range map[string]bool{
		"127.0.0.2": true, "127.0.0.2:7946": true, "[::1]:80": true, "::1": true,
		"127.0.0.1": false, "127.0.0.1:7946": false, "127.0.0.20:1": false,
	} {
		if got := f.Blocked(host); got != want {
			t.Errorf("Blocked(%q) = %v, want %v", host, got, want)
		}
	}
	f.Block(nil)
	if f.Blocked("127.0.0.2") {
		t.Error("Block(nil) did not clear the blocked set")
	}
}

// itemsServer serves /items through HandleItems with h, and counts requests and their sizes.
type itemsServer struct {
	addr string
	mu   sync.Mutex
	reqs []int // items per request, in arrival order
}

func (s *itemsServer) requests() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.reqs...)
}

func startItems(t *testing.T, h func(items [][]byte) ([][]byte, error)) *itemsServer {
	t.Helper()
	is := &itemsServer{}
	s := newServer(DeriveKey("k"))
	s.HandleItems("/items", func(from string, items [][]byte) ([][]byte, error) {
		is.mu.Lock()
		is.reqs = append(is.reqs, len(items))
		is.mu.Unlock()
		return h(items)
	})
	is.addr = startServer(t, s)
	return is
}

func echoItems(items [][]byte) ([][]byte, error) {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = append([]byte("re:"), it...)
	}
	return out, nil
}

func newPipe(t *testing.T, addr string, senders, maxBytes int) *Pipe {
	p := NewPipe(NewClient(DeriveKey("k"), "n", nil), addr, "/items", senders, maxBytes)
	t.Cleanup(p.Close)
	return p
}

// gate holds the first request in the handler until opened, so that the test can queue calls
// behind it without relying on timing.
type gate struct {
	entered chan struct{}
	release chan struct{}
	first   sync.Once
	opened  sync.Once
}

// gatedPipe serves /items with echoItems behind a gate and returns a pipe to it. The gate opens
// when the test ends at the latest, before the pipe closes, so that a failing test does not hang.
func gatedPipe(t *testing.T, senders, maxBytes int) (*itemsServer, *Pipe, *gate) {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	is := startItems(t, func(items [][]byte) ([][]byte, error) {
		g.hold()
		return echoItems(items)
	})
	p := newPipe(t, is.addr, senders, maxBytes)
	t.Cleanup(g.open)
	return is, p, g
}

func (g *gate) hold() {
	held := false
	g.first.Do(func() { held = true })
	if held {
		close(g.entered)
		<-g.release
	}
}

func (g *gate) open() { g.opened.Do(func() { close(g.release) }) }

func (g *gate) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(wait):
		t.Fatal("the first request never reached the handler")
	}
}

// waitQueued waits until n calls wait in the pipe's queue.
func waitQueued(t *testing.T, p *Pipe, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for len(p.q) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued after %v, want %d", len(p.q), wait, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type answer struct {
	res []byte
	err error
}

// doAll starts one Do per item and returns their answers, in item order, once all returned.
func doAll(ctx context.Context, p *Pipe, items []string) func(t *testing.T) []answer {
	out := make([]answer, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Do(ctx, []byte(it))
			out[i] = answer{res, err}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return func(t *testing.T) []answer {
		t.Helper()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatalf("%d Do calls did not all return within %v", len(items), wait)
		}
		return out
	}
}

func itemNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestPipeConcurrentCallersGetTheirOwnAnswers(t *testing.T) {
	t.Parallel()
	is := startItems(t, echoItems)
	p := newPipe(t, is.addr, 4, 1<<20)
	items := itemNames("item", 500)
	answers := doAll(context.Background(), p, items)(t)
	for i, a := range answers {
		if a.err != nil || string(a.res) != "re:"+items[i] {
			t.Fatalf("Do(%q) = %q, %v; want %q", items[i], a.res, a.err, "re:"+items[i])
		}
	}
	total := 0
	for _, n := range is.requests() {
		total += n
	}
	if total != len(items) {
		t.Fatalf("the server saw %d items, want %d", total, len(items))
	}
}

func TestPipeCoalescesCallsQueuedBehindABusySender(t *testing.T) {
	t.Parallel()
	is, p, g := gatedPipe(t, 1, 1<<20)
	first := doAll(context.Background(), p, []string{"first"})
	g.waitEntered(t)
	items := itemNames("queued", 99)
	rest := doAll(context.Background(), p, items)
	waitQueued(t, p, len(items))
	g.open()

	if a := first(t)[0]; a.err != nil || string(a.res) != "re:first" {
		t.Fatalf("first Do = %q, %v; want re:first", a.res, a.err)
	}
	for i, a := range rest(t) {
		if a.err != nil || string(a.res) != "re:"+items[i] {
			t.Fatalf("Do(%q) = %q, %v; want %q", items[i], a.res, a.err, "re:"+items[i])
		}
	}
	if got := is.requests(); len(got) != 2 || got[0] != 1 || got[1] != len(items) {
		t.Fatalf("items per request %v for 100 calls, want [1 %d]: the queued calls should share one request", got, len(items))
	}
}

func TestPipeSplitsRequestsAtMaxBytes(t *testing.T) {
	t.Parallel()
	is, p, g := gatedPipe(t, 1, 10)
	first := doAll(context.Background(), p, []string{"0000"})
	g.waitEntered(t)
	items := []string{"aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg", "hhhh", "iiii"}
	rest := doAll(context.Background(), p, items)
	waitQueued(t, p, len(items))
	g.open()
	first(t)
	for i, a := range rest(t) {
		if a.err != nil || string(a.res) != "re:"+items[i] {
			t.Fatalf("Do(%q) = %q, %v; want %q", items[i], a.res, a.err, "re:"+items[i])
		}
	}
	// A request takes items until it holds maxBytes or more: 4+4+4 ≥ 10.
	if got := fmt.Sprint(is.requests()); got != "[1 3 3 3]" {
		t.Fatalf("items per request %s with maxBytes 10 and 4-byte items, want [1 3 3 3]", got)
	}
}

func TestPipeCallerWithDoneContextGetsItsError(t *testing.T) {
	t.Parallel()
	is := startItems(t, echoItems)
	p := newPipe(t, is.addr, 1, 1<<20)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Do(canceled, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a canceled context: %v, want context.Canceled", err)
	}
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := p.Do(expired, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do with an expired context: %v, want context.DeadlineExceeded", err)
	}
	// The pipe still works for others.
	if res, err := p.Do(context.Background(), []byte("y")); err != nil || string(res) != "re:y" {
		t.Fatalf("Do after canceled calls = %q, %v; want re:y", res, err)
	}
}

func TestPipeCallerCanceledWhileInFlightReturnsAtOnce(t *testing.T) {
	t.Parallel()
	_, p, g := gatedPipe(t, 1, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	answers := doAll(ctx, p, []string{"held"})
	g.waitEntered(t)
	cancel()
	if a := answers(t)[0]; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("Do canceled while its request is held: %q, %v; want context.Canceled", a.res, a.err)
	}
}

func TestPipeReportsBadAnswersToEveryCaller(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		h    func([][]byte) ([][]byte, error)
		want func(error) bool
	}{
		{"too few answers", func(items [][]byte) ([][]byte, error) { return items[:len(items)-1], nil },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "answered") }},
		{"status error", func([][]byte) ([][]byte, error) { return nil, &StatusError{Status: 409, Msg: "fenced"} },
			func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.Status == 409 && se.Msg == "fenced"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := startItems(t, tc.h)
			p := newPipe(t, is.addr, 2, 1<<20)
			for i, a := range doAll(context.Background(), p, itemNames("x", 20))(t) {
				if !tc.want(a.err) {
					t.Errorf("call %d: %q, %v", i, a.res, a.err)
				}
			}
		})
	}
}

func TestPipeClosedAnswersErrClosed(t *testing.T) {
	t.Parallel()
	is := startItems(t, echoItems)
	p := newPipe(t, is.addr, 2, 1<<20)
	if _, err := p.Do(context.Background(), []byte("before")); err != nil {
		t.Fatalf("Do before Close: %v", err)
	}
	p.Close()
	p.Close() // idempotent
	// Each call must fail at once with ErrClosed; the bounded context only keeps a failure
	// from hanging the suite. Repeated, since a wrong select may pass by chance.
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := p.Do(ctx, []byte("after"))
		cancel()
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Do #%d on a closed pipe: %v, want ErrClosed", i, err)
		}
	}
}

func TestPipeCloseFailsOrAnswersQueuedCalls(t *testing.T) {
	t.Parallel()
	_, p, g := gatedPipe(t, 1, 1<<20)
	first := doAll(context.Background(), p, []string{"first"})
	g.waitEntered(t)
	items := itemNames("queued", 20)
	rest := doAll(context.Background(), p, items)
	waitQueued(t, p, len(items))
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	g.open()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
	if a := first(t)[0]; a.err != nil || string(a.res) != "re:first" {
		t.Fatalf("in-flight Do across Close = %q, %v; want re:first", a.res, a.err)
	}
	// A queued call is either sent by the sender before it sees the stop, or failed by Close.
	for i, a := range rest(t) {
		if !errors.Is(a.err, ErrClosed) && (a.err != nil || string(a.res) != "re:"+items[i]) {
			t.Errorf("queued Do(%q) across Close = %q, %v; want its answer or ErrClosed", items[i], a.res, a.err)
		}
	}
}
