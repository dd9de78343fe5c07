package demosink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T) (*Sink, string) {
	t.Helper()
	s, url, closeFn, err := Serve("")
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(closeFn)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url = %q, want a loopback address", url)
	}
	return s, url
}

func do(t *testing.T, method, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestSinkRecordsAndLists(t *testing.T) {
	s, url := serve(t)
	status, _, body := do(t, "POST", url+"/hooks/crm?src=test", `{"user":"u1"}`, map[string]string{
		"Idempotency-Key": "k1", "Authorization": "Bearer secret-token", "Content-Type": "application/json",
	})
	if status != 200 || body != `{"ok":true}` {
		t.Fatalf("POST answered %d %s, want 200 {\"ok\":true}", status, body)
	}
	do(t, "PUT", url+"/other", "not json", map[string]string{"Idempotency-Key": "k1"})
	do(t, "DELETE", url+"/x", "", map[string]string{"Idempotency-Key": "k2"})

	if s.Count() != 3 || s.DistinctKeys() != 2 {
		t.Errorf("Count %d DistinctKeys %d, want 3 and 2", s.Count(), s.DistinctKeys())
	}
	recent := s.Recent(0)
	if len(recent) != 3 || recent[0].Method != "DELETE" || recent[2].Method != "POST" {
		t.Fatalf("Recent = %+v, want 3 requests newest first", recent)
	}
	first := recent[2]
	if first.Path != "/hooks/crm" || first.Query != "src=test" || first.IdempotencyKey != "k1" || string(first.Body) != `{"user":"u1"}` || first.Status != 200 {
		t.Errorf("recorded %+v, want path, query, key, JSON body and status", first)
	}
	if first.Headers["Content-Type"] != "application/json" || first.Headers["Host"] == "" || first.Headers["User-Agent"] == "" {
		t.Errorf("recorded headers %v, want Content-Type, Host and User-Agent among them", first.Headers)
	}
	if first.Headers["Authorization"] != "Bearer secret-token" {
		t.Errorf("Recent header Authorization = %q, want it as received", first.Headers["Authorization"])
	}
	if string(recent[1].Body) != `"not json"` {
		t.Errorf("non-JSON body recorded as %s, want a JSON string", recent[1].Body)
	}

	status, hdr, body := do(t, "GET", url+"/anything", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET answered %d %s", status, hdr.Get("Content-Type"))
	}
	var got struct {
		Count                   int64     `json:"count"`
		DistinctIdempotencyKeys int       `json:"distinctIdempotencyKeys"`
		Items                   []Request `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET body %s: %v", body, err)
	}
	if got.Count != 3 || got.DistinctIdempotencyKeys != 2 || len(got.Items) != 3 || got.Items[0].Method != "DELETE" {
		t.Errorf("listing = %+v, want count 3, 2 keys, 3 items newest first", got)
	}
	if strings.Contains(body, "secret-token") || got.Items[2].Headers["Authorization"] != mask {
		t.Errorf("listing shows the Authorization header: %v", got.Items[2].Headers)
	}
	if s.Count() != 3 {
		t.Errorf("GET was recorded: Count %d, want 3", s.Count())
	}
	_, _, body = do(t, "GET", url+"/?limit=1", "", nil)
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Items) != 1 {
		t.Errorf("GET ?limit=1 gave %d items (%v), want 1", len(got.Items), err)
	}
}

func TestSinkInjectsFailures(t *testing.T) {
	s, url := serve(t)
	status, hdr, body := do(t, "POST", url+"/?fail=503&retryAfter=7", `{}`, nil)
	if status != 503 || hdr.Get("Retry-After") != "7" || !strings.Contains(body, `"ok":false`) {
		t.Errorf("fail=503 answered %d, Retry-After %q, %s", status, hdr.Get("Retry-After"), body)
	}
	if r := s.Recent(1); len(r) != 1 || r[0].Status != 503 {
		t.Errorf("failed request recorded as %+v, want status 503", r)
	}
	status, _, _ = do(t, "GET", url+"/?fail=500", "", nil)
	if status != 500 {
		t.Errorf("GET ?fail=500 answered %d, want 500", status)
	}

	// failAttempts: the first two attempts of a call fail, the third passes.
	for attempt, want := range map[int]int{1: 503, 2: 503, 3: 200} {
		status, _, _ := do(t, "POST", url+"/?failAttempts=2", `{}`, map[string]string{"Wayline-Attempt": fmt.Sprint(attempt)})
		if status != want {
			t.Errorf("failAttempts=2, attempt %d: status %d, want %d", attempt, status, want)
		}
	}
	if status, _, _ := do(t, "POST", url+"/?failAttempts=1&fail=429", `{}`, nil); status != 429 {
		t.Errorf("failAttempts=1&fail=429 without an attempt header: %d, want 429", status)
	}

	for _, q := range []string{"fail=abc", "fail=99", "fail=600", "failAttempts=-1", "delay=soon"} {
		if status, _, body := do(t, "POST", url+"/?"+q, `{}`, nil); status != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("?%s answered %d %s, want 400 invalid_request", q, status, body)
		}
	}

	start := time.Now()
	if status, _, _ := do(t, "POST", url+"/?delay=150ms", `{}`, nil); status != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delay=150ms answered %d after %s", status, time.Since(start))
	}
}

func handle(s *Sink, method, uri, body, key string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.SetBodyString(body)
	if key != "" {
		ctx.Request.Header.Set("Idempotency-Key", key)
	}
	s.Handler(&ctx)
	return &ctx
}

func TestSinkRingKeepsTheLastN(t *testing.T) {
	s := New(3)
	for i := 1; i <= 7; i++ {
		handle(s, "POST", "/n", fmt.Sprint(i), fmt.Sprintf("k%d", i%5))
	}
	r := s.Recent(10)
	if len(r) != 3 || string(r[0].Body) != "7" || string(r[2].Body) != "5" {
		t.Errorf("Recent after 7 requests in a ring of 3 = %+v, want bodies 7, 6, 5", r)
	}
	if s.Count() != 7 || s.DistinctKeys() != 5 {
		t.Errorf("Count %d DistinctKeys %d, want 7 and 5", s.Count(), s.DistinctKeys())
	}
	if r := s.Recent(2); len(r) != 2 || string(r[1].Body) != "6" {
		t.Errorf("Recent(2) = %+v, want bodies 7, 6", r)
	}
	s.Reset()
	if s.Count() != 0 || s.DistinctKeys() != 0 || len(s.Recent(0)) != 0 {
		t.Errorf("after Reset: Count %d, keys %d, %d kept; want all zero", s.Count(), s.DistinctKeys(), len(s.Recent(0)))
	}
	if New(0).Recent(0) == nil || len(New(-1).ring) != DefaultCapacity {
		t.Errorf("New(<=0) does not use the default capacity")
	}
}

func TestSinkCutsLargeBodies(t *testing.T) {
	s := New(2)
	handle(s, "POST", "/", `{"a":"`+strings.Repeat("x", MaxRecordedBody)+`"}`, "")
	r := s.Recent(1)[0]
	var str string
	if !r.BodyTruncated || json.Unmarshal(r.Body, &str) != nil || len(str) != MaxRecordedBody {
		t.Errorf("large body: truncated %v, %d bytes recorded; want a %d-byte JSON string", r.BodyTruncated, len(r.Body), MaxRecordedBody)
	}
}

func TestSinkIsSafeForConcurrentUse(t *testing.T) {
	s, url := serve(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				do(t, "POST", url, `{}`, map[string]string{"Idempotency-Key": fmt.Sprintf("%d-%d", g, i%10)})
				s.Recent(5)
			}
		}()
	}
	wg.Wait()
	if s.Count() != 100 || s.DistinctKeys() != 40 {
		t.Errorf("Count %d DistinctKeys %d, want 100 and 40", s.Count(), s.DistinctKeys())
	}
}
