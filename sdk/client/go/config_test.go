package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "Config.URLs is empty"},
		{Config{URLs: []string{"ftp://x"}}, "Config.URLs[0]"},
		{Config{URLs: []string{"http://a:1", "http://"}}, "Config.URLs[1]"},
		{Config{URLs: []string{"a:1"}, BatchSize: -1}, "Config.BatchSize"},
		{Config{URLs: []string{"a:1"}, QueueSize: -5}, "Config.QueueSize"},
		{Config{URLs: []string{"a:1"}, Linger: -time.Second}, "Config.Linger"},
		{Config{URLs: []string{"a:1"}, Overflow: 7}, "Config.Overflow"},
		{Config{URLs: []string{"a:1"}, Backoff: time.Second, MaxBackoff: time.Millisecond}, "Config.MaxBackoff"},
		{Config{URLs: []string{"a:1"}}, ""},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one naming %s", tc.cfg, err, tc.want)
		}
	}
	d := Config{URLs: []string{"x:1"}}.withDefaults()
	if d.BatchSize != 500 || d.BatchBytes != 512<<10 || d.Linger != 5*time.Millisecond || d.QueueSize != 10000 ||
		d.MaxAttempts != 8 || d.Backoff != 100*time.Millisecond || d.MaxBackoff != 5*time.Second || d.Timeout != 30*time.Second ||
		d.Concurrency != 4 || d.Overflow != Block || d.RefreshInterval != 0 {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestEventEncodingMatchesEncodingJSON(t *testing.T) {
	ts := time.Date(2024, 5, 1, 14, 0, 0, 123000000, time.FixedZone("x", 2*3600))
	for _, ev := range []Event{
		{Type: "signup"},
		{ID: "a-1", Type: "t\"y\\p\ne\x01\u2028", Timestamp: ts, Identity: "user:é", Data: map[string]any{"a": 1.5, "b": []any{"x", nil, true}}, Test: true},
		{Type: "bad utf-8 \xff\xfe", Data: map[string]any{}},
	} {
		got, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back, want map[string]any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("not JSON: %s", got)
		}
		type plain Event // the struct tags without the MarshalJSON method
		p := plain(ev)
		p.Timestamp = p.Timestamp.UTC()
		std, _ := json.Marshal(p)
		json.Unmarshal(std, &want)
		if gs, ws := mustMarshal(back), mustMarshal(want); gs != ws {
			t.Errorf("encoded %s\n want %s", gs, ws)
		}
	}
	if _, err := json.Marshal(Event{Type: "x", Data: map[string]any{"c": make(chan int)}}); err == nil {
		t.Fatal("data that is not JSON should be an error")
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNewIDsAreUniqueTimeOrderedHex(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := NewID()
		if len(id) != 48 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 48 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		if id[:16] < prev {
			t.Fatalf("ids go back in time: %s after %s", id[:16], prev)
		}
		prev = id[:16]
		seen[id] = true
	}
}

func TestReindexRewritesTheBatchIndex(t *testing.T) {
	for in, want := range map[string]string{"[3].data.email": "[42].data.email", "[0]": "[42]", `["a b"]`: `["a b"]`, "type": "type"} {
		if got := reindex(&APIError{Field: in}, 42).Field; got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestBackoffIsFullJitterUnderACap(t *testing.T) {
	c := &Client{cfg: Config{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for attempt := 1; attempt < 10; attempt++ {
		ceil := min(100*time.Millisecond<<(attempt-1), time.Second)
		var maxSeen time.Duration
		for i := 0; i < 200; i++ {
			d := c.backoff(attempt)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %s outside [0, %s]", attempt, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < ceil/2 {
			t.Fatalf("attempt %d: backoffs never came near the ceiling %s (max %s)", attempt, ceil, maxSeen)
		}
	}
}

// GET /v1/cluster may not exist yet: the client reads it when it does and keeps its list on 404.
func TestRefreshReadsTheClusterListAndKeepsItsOwnOn404(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer other.Close()
	var self string
	clustered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(200)
		case "/v1/cluster":
			if r.Header.Get("Authorization") != "Bearer k-0123456789abcdef" {
				w.WriteHeader(401)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"members": []map[string]any{
				{"apiUrl": self, "state": "alive"}, {"apiUrl": other.URL + "/", "state": "alive"}, {"apiUrl": "http://10.0.0.9:1", "state": "dead"},
			}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer clustered.Close()
	self = clustered.URL
	c, err := New(Config{URLs: []string{clustered.URL}, APIKey: "k-0123456789abcdef", RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	eventually(t, 5*time.Second, "the list read from /v1/cluster", func() (bool, string) {
		n := c.Nodes()
		return len(n) == 2 && n[0].URL == clustered.URL && n[1].URL == other.URL && n[1].Latency > 0, mustMarshal(n)
	})

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(200)
			return
		}
		http.NotFound(w, r)
	}))
	defer plain.Close()
	c2, err := New(Config{URLs: []string{plain.URL, other.URL}, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(t.Context())
	time.Sleep(600 * time.Millisecond) // a couple of refreshes
	if n := c2.Nodes(); len(n) != 2 || n[0].URL != plain.URL || n[1].URL != other.URL {
		t.Fatalf("a 404 should keep the list: %+v", n)
	}
}
