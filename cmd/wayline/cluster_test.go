package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wayline/wayline/cluster/transport"
)

// These tests run real `wayline serve` processes as a cluster on 127.0.0.1, .2, .3 … (each node
// its own loopback address, so that fault injection can cut one off by IP), stream events at
// random nodes while nodes crash, leave, join and restart, and then check that every
// acknowledged event took effect exactly once. WAYLINE_CLUSTER_LOGS=DIR keeps the nodes' logs
// (debug level) of a run that found a duplicate effect.

const clusterSecret = "cluster-test-secret"

// callSink records each action call: the user in its path and its Idempotency-Key.
type callSink struct {
	mu    sync.Mutex
	keys  map[string]map[string]int // user → idempotency key → calls
	calls atomic.Int64
	url   string
}

func newCallSink(t *testing.T) *callSink {
	s := &callSink{keys: map[string]map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		key := r.Header.Get("Idempotency-Key")
		s.mu.Lock()
		if s.keys[user] == nil {
			s.keys[user] = map[string]int{}
		}
		s.keys[user][key]++
		s.mu.Unlock()
		s.calls.Add(1)
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// users returns how many users got a call, and the users that got calls under more than one
// idempotency key (a duplicate effect, not a retry).
func (s *callSink) users() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var dup []string
	for u, ks := range s.keys {
		if len(ks) > 1 {
			dup = append(dup, u)
		}
	}
	return len(s.keys), dup
}

type testCluster struct {
	t     *testing.T
	nodes []*node
	args  [][]string
	ips   []string
	seed  string // gossip address of the first node, for --join
	alive []bool
	mu    sync.Mutex
}

func freeAddrOn(t *testing.T, ip string) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		// Gossip needs the UDP port too.
		if pc, err := net.ListenPacket("udp", addr); err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatalf("no free port on %s", ip)
	return ""
}

// startTestCluster starts size nodes, one after the other, each joining the first.
func startTestCluster(t *testing.T, size int, extra ...string) *testCluster {
	c := &testCluster{t: t}
	for i := 0; i < size; i++ {
		c.add(extra...)
	}
	c.waitHealthy(30*time.Second, size)
	return c
}

// add starts one more node (a join).
func (c *testCluster) add(extra ...string) int {
	t := c.t
	i := len(c.nodes)
	ip := fmt.Sprintf("127.0.0.%d", i+1)
	gossip := freeAddrOn(t, ip)
	args := []string{"--node", fmt.Sprintf("n%d", i+1), "--gossip", gossip, "--internal", freeAddrOn(t, ip),
		"--cluster-secret", clusterSecret, "--fault-injection", "--allow-net", "127.0.0.0/8", "--log-level", "debug"}
	if c.seed == "" {
		c.seed = gossip
	} else {
		args = append(args, "--join", c.seed)
	}
	args = append(args, extra...)
	data := t.TempDir()
	n := startNode(t, data, freeAddrOn(t, ip), args...)
	c.mu.Lock()
	c.nodes, c.args, c.ips, c.alive = append(c.nodes, n), append(c.args, args), append(c.ips, ip), append(c.alive, true)
	c.mu.Unlock()
	return i
}

func (c *testCluster) setAlive(i int, v bool) {
	c.mu.Lock()
	c.alive[i] = v
	c.mu.Unlock()
}

// restart starts node i again on its data directory and addresses.
func (c *testCluster) restart(i int) {
	old := c.nodes[i]
	args := append([]string(nil), c.args[i]...)
	if i == 0 {
		// The first node joins whoever is up now.
		for j := range c.nodes {
			if j != 0 {
				args = append(args, "--join", c.args[j][3])
				break
			}
		}
	}
	n := startNode(c.t, old.data, old.addr, args...)
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	c.setAlive(i, true)
}

// pick returns a random node that is meant to be up.
func (c *testCluster) pick() *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		i := rand.N(len(c.nodes))
		if c.alive[i] {
			return c.nodes[i]
		}
	}
}

type clusterStatus struct {
	Quorum  bool `json:"quorum"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"members"`
	Partitions []struct {
		ID        int    `json:"id"`
		Leader    string `json:"leader"`
		Replicas  []string
		Followers []struct {
			Node   string `json:"node"`
			InSync bool   `json:"inSync"`
		} `json:"followers"`
	} `json:"partitions"`
}

func (c *testCluster) status(n *node) (clusterStatus, error) {
	var st clusterStatus
	r := n.call("GET", "/v1/cluster", nil)
	if r.status != 200 {
		return st, fmt.Errorf("status %d: %s", r.status, r.body)
	}
	return st, json.Unmarshal(r.body, &st)
}

// waitHealthy waits until the first alive node sees alive members alive, every partition
// led, and every follower of every partition in sync.
func (c *testCluster) waitHealthy(timeout time.Duration, alive int) {
	c.t.Helper()
	eventually(c.t, timeout, "cluster healthy", func() (bool, string) {
		st, err := c.status(c.pick())
		if err != nil {
			return false, err.Error()
		}
		up := 0
		for _, m := range st.Members {
			if m.State == "alive" {
				up++
			}
		}
		if up != alive || !st.Quorum {
			return false, fmt.Sprintf("%d alive members, quorum %v", up, st.Quorum)
		}
		for _, p := range st.Partitions {
			if p.Leader == "" {
				return false, fmt.Sprintf("partition %d has no leader", p.ID)
			}
			if len(p.Followers) != min(3, alive)-1 {
				return false, fmt.Sprintf("partition %d has %d followers", p.ID, len(p.Followers))
			}
			for _, f := range p.Followers {
				if !f.InSync {
					return false, fmt.Sprintf("partition %d: follower %s not in sync", p.ID, f.Node)
				}
			}
		}
		return true, ""
	})
}

// internal sends a signed request to node i's internal port.
func (c *testCluster) internal(i int, path string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	cl := transport.NewClient(transport.DeriveKey(clusterSecret), "test", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Post(ctx, c.args[i][5], path, b)
}

type digest struct {
	Pid  int `json:"pid"`
	Pos  struct{ Epoch, LSN uint64 }
	Hash string `json:"hash"`
	Keys int    `json:"keys"`
}

// checkNoDivergence compares every partition's content across the alive nodes that hold it at
// the same position as its leader: they must be byte-identical.
func (c *testCluster) checkNoDivergence() {
	c.t.Helper()
	st, err := c.status(c.pick())
	if err != nil {
		c.t.Fatal(err)
	}
	byNode := map[string][]digest{}
	for i := range c.nodes {
		if !c.alive[i] {
			continue
		}
		out, err := c.internal(i, "/internal/v1/digest", nil)
		if err != nil {
			c.t.Fatalf("digest of n%d: %v", i+1, err)
		}
		var ds []digest
		if err := json.Unmarshal(out, &ds); err != nil {
			c.t.Fatal(err)
		}
		byNode[fmt.Sprintf("n%d", i+1)] = ds
	}
	checked := 0
	for _, p := range st.Partitions {
		lead := byNode[p.Leader][p.ID]
		for _, f := range p.Followers {
			d := byNode[f.Node][p.ID]
			if d.Pos != lead.Pos || d.Hash != lead.Hash {
				c.t.Fatalf("partition %d diverged: leader %s at %v (%d keys, %s), follower %s at %v (%d keys, %s)",
					p.ID, p.Leader, lead.Pos, lead.Keys, lead.Hash[:8], f.Node, d.Pos, d.Keys, d.Hash[:8])
			}
			checked++
		}
	}
	if checked == 0 {
		c.t.Fatal("no follower to compare")
	}
}

// publishTestJourney defines, on one node, a journey whose effect per event is one call:
// signup → pro? → call now; else wait 1s → call → end. Then it waits until every node has it.
func (c *testCluster) publishTestJourney(sinkURL string) time.Duration {
	n := c.nodes[0]
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "signup", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string", "minLength": 1}, "plan": map[string]any{"type": "string"}}},
	})
	n.must(201, "POST", "/v1/actions", map[string]any{
		"id": "hello", "name": "Hello", "method": "POST", "url": sinkURL + "/hello/{{ event.data.userId }}",
		"timeout": "5s", "retry": map[string]any{"maxAttempts": 10, "initialBackoff": "100ms", "maxBackoff": "1s"},
	})
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "onboard", "name": "Onboarding", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "is-pro"},
			{"id": "is-pro", "kind": "condition", "branches": []map[string]any{{"id": "pro", "expression": `has(event.data.plan) && event.data.plan == "pro"`, "next": "hello-now"}}, "else": "pause"},
			{"id": "hello-now", "kind": "action", "action": "hello", "next": "end"},
			{"id": "pause", "kind": "wait", "duration": "1s", "next": "hello-later"},
			{"id": "hello-later", "kind": "action", "action": "hello", "next": "end"},
			{"id": "end", "kind": "end"},
		},
	}})
	start := time.Now()
	n.must(200, "POST", "/v1/journeys/onboard/publish", nil)
	for i := range c.nodes {
		if !c.alive[i] {
			continue
		}
		eventually(c.t, 20*time.Second, fmt.Sprintf("journey live on n%d", i+1), func() (bool, string) {
			r := c.nodes[i].call("GET", "/v1/journeys/onboard", nil)
			return r.status == 200 && bytes.Contains(r.body, []byte(`"status":"live"`)), string(r.body)
		})
	}
	return time.Since(start)
}

// stream sends total signup events (unique ids, one user each) in batches to random nodes,
// re-sending what is not acknowledged (to another node) until it is. during is called with the
// share sent so far, for the test's chaos. It returns the acknowledged event count.
func (c *testCluster) stream(total int, during func(sent int)) int {
	const batch = 50
	work := make(chan int, total/batch+1)
	for i := 0; i < total; i += batch {
		work <- i
	}
	close(work)
	var sent, acked atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	stop := make(chan struct{})
	chaos := make(chan struct{})
	go func() {
		defer close(chaos)
		last := -1
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if s := int(sent.Load()); s != last {
				during(s)
				last = s
			}
		}
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range work {
				var evs []map[string]any
				for i := first; i < min(first+batch, total); i++ {
					plan := "free"
					if i%2 == 0 {
						plan = "pro"
					}
					evs = append(evs, map[string]any{"id": fmt.Sprintf("ev-%d", i), "type": "signup", "data": map[string]any{"userId": fmt.Sprintf("u%d", i), "plan": plan}})
				}
				deadline := time.Now().Add(2 * time.Minute)
				for len(evs) > 0 {
					if time.Now().After(deadline) {
						c.t.Errorf("events %d..: not acknowledged within 2 minutes", first)
						return
					}
					n := c.pick()
					body, _ := json.Marshal(evs)
					req, _ := http.NewRequest("POST", n.url+"/v1/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testAdminKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					var res struct {
						Results []struct {
							Index  int    `json:"index"`
							Status string `json:"status"`
						} `json:"results"`
					}
					err = json.NewDecoder(resp.Body).Decode(&res)
					resp.Body.Close()
					if err != nil || len(res.Results) != len(evs) {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					var again []map[string]any
					for _, r := range res.Results {
						switch r.Status {
						case "accepted", "duplicate":
							acked.Add(1)
						default:
							again = append(again, evs[r.Index])
						}
					}
					evs = again
					if len(again) > 0 {
						time.Sleep(50 * time.Millisecond)
					}
				}
				sent.Add(int64(min(batch, total-first)))
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-chaos
	during(total)
	return int(acked.Load())
}

// missingCalls describes, for a failure message, a few users the stream sent (u0, u1, ...)
// that got no call: their traces as a node answers them, and the outbox and timers (status) of
// the nodes. With WAYLINE_CLUSTER_LOGS=DIR the nodes' logs are written there too.
func (c *testCluster) missingCalls(sink *callSink, total int) string {
	sink.mu.Lock()
	var missing []string
	for i := 0; i < total; i++ {
		if u := fmt.Sprintf("u%d", i); sink.keys[u] == nil {
			missing = append(missing, u)
		}
	}
	sink.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d users without a call: %s", len(missing), strings.Join(missing[:min(len(missing), 200)], " "))
	for _, u := range missing[:min(len(missing), 3)] {
		r := c.pick().call("GET", "/v1/profiles/user:"+u+"/trace", nil)
		fmt.Fprintf(&b, "\n%s: trace %d %s", u, r.status, clip(r.body, 2000))
	}
	if dir := os.Getenv("WAYLINE_CLUSTER_LOGS"); dir != "" {
		for i, n := range c.nodes {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d.log", i+1)), []byte(n.stderr.String()), 0o644)
		}
		fmt.Fprintf(&b, "\nnode logs in %s", dir)
	}
	return b.String()
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// checkEffects waits for every acknowledged event's call and checks each happened under one
// idempotency key only, and that the journey counted each profile once.
func (c *testCluster) checkEffects(sink *callSink, acked int) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if u, _ := sink.users(); u >= acked {
			break
		} else if time.Now().After(deadline) {
			c.t.Fatalf("a call for every acknowledged event: %d of %d users called after 90s%s", u, acked, c.missingCalls(sink, acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	users, dup := sink.users()
	if users != acked {
		c.t.Fatalf("%d users called for %d acknowledged events", users, acked)
	}
	if len(dup) > 0 {
		sink.mu.Lock()
		keys := fmt.Sprint(sink.keys[dup[0]])
		sink.mu.Unlock()
		trace := c.pick().call("GET", "/v1/profiles/user:"+dup[0]+"/trace", nil)
		if dir := os.Getenv("WAYLINE_CLUSTER_LOGS"); dir != "" {
			for i, n := range c.nodes {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d.log", i+1)), []byte(n.stderr.String()), 0o644)
			}
		}
		c.t.Fatalf("%d users were called under two idempotency keys (a duplicate effect), e.g. %v: keys %s\ntrace: %s", len(dup), dup[:min(5, len(dup))], keys, trace.body)
	}
	eventually(c.t, 30*time.Second, "the report counts every profile once", func() (bool, string) {
		r := c.pick().must(200, "GET", "/v1/journeys/onboard/report", nil)
		tot := r["totals"].(map[string]any)
		return tot["entered"] == float64(acked) && tot["completed"] == float64(acked), fmt.Sprint(tot)
	})
	c.t.Logf("%d events acknowledged, %d users called, %d calls (retries with the same key: %d)", acked, users, sink.calls.Load(), sink.calls.Load()-int64(users))
}

func TestClusterSIGKILLAndRestartLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	sink := newCallSink(t)
	c := startTestCluster(t, 3)
	took := c.publishTestJourney(sink.url)
	t.Logf("journey live on every node %s after publishing", took)
	const total = 20000
	killed, restarted := false, false
	start := time.Now()
	acked := c.stream(total, func(sent int) {
		switch {
		case !killed && sent >= total*3/10:
			killed = true
			c.setAlive(2, false)
			c.nodes[2].kill()
			t.Logf("SIGKILL n3 after %d events", sent)
			// Metadata written while n3 is down reaches it when it is back.
			c.nodes[0].must(201, "POST", "/v1/event-definitions", map[string]any{
				"name": "while-n3-was-down", "identityField": "userId", "identityNamespace": "user", "schema": map[string]any{"type": "object"}})
		case killed && !restarted && sent >= total*7/10:
			restarted = true
			c.restart(2)
			t.Logf("restarted n3 after %d events", sent)
		}
	})
	start = time.Now()
	eventually(t, 20*time.Second, "metadata written while n3 was down reached it", func() (bool, string) {
		r := c.nodes[2].call("GET", "/v1/event-definitions/while-n3-was-down", nil)
		return r.status == 200, string(r.body)
	})
	t.Logf("n3 had the metadata written while it was down %s after the stream ended", time.Since(start))
	if acked != total {
		t.Fatalf("acknowledged %d of %d", acked, total)
	}
	c.checkEffects(sink, acked)
	c.waitHealthy(30*time.Second, 3)
	c.checkNoDivergence()
}

func TestClusterGracefulLeaveAndJoinUnderLoadLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	sink := newCallSink(t)
	c := startTestCluster(t, 3)
	c.publishTestJourney(sink.url)
	const total = 20000
	left, joined := false, false
	acked := c.stream(total, func(sent int) {
		switch {
		case !left && sent >= total*3/10:
			left = true
			c.setAlive(2, false)
			start := time.Now()
			if err := c.nodes[2].term(); err != nil {
				t.Error(err)
			}
			t.Logf("n3 left gracefully (SIGTERM) after %d events, in %s:\n%s", sent, time.Since(start), grepLines(c.nodes[2].stderr.String(), "leaving"))
		case left && !joined && sent >= total*6/10:
			joined = true
			i := c.add()
			t.Logf("n%d joined after %d events", i+1, sent)
		}
	})
	if acked != total {
		t.Fatalf("acknowledged %d of %d", acked, total)
	}
	c.checkEffects(sink, acked)
	c.waitHealthy(30*time.Second, 3)
	c.checkNoDivergence()
}

func TestClusterRollingRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	sink := newCallSink(t)
	c := startTestCluster(t, 3)
	c.publishTestJourney(sink.url)
	const total = 20000
	next := 0
	acked := c.stream(total, func(sent int) {
		if next < 3 && sent >= total*(2+next*3)/10 {
			i := next
			next++
			c.setAlive(i, false)
			if err := c.nodes[i].term(); err != nil {
				t.Error(err)
			}
			c.restart(i)
			t.Logf("restarted n%d after %d events", i+1, sent)
		}
	})
	if acked != total {
		t.Fatalf("acknowledged %d of %d", acked, total)
	}
	c.checkEffects(sink, acked)
	c.waitHealthy(30*time.Second, 3)
	c.checkNoDivergence()
	c.checkProfilesRouteToOwners()
}

// checkProfilesRouteToOwners imports profiles through one node and reads and changes them
// through the others: each request reaches the node that leads the profile's partition.
func (c *testCluster) checkProfilesRouteToOwners() {
	c.t.Helper()
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"user:imp%d","attributes":{"tier":"gold","n":%d}}`, i, i))
	}
	r := c.nodes[0].call("POST", "/v1/profiles/import", strings.Join(lines, "\n")+"\n", "Content-Type", "application/x-ndjson")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"imported":40`)) {
		c.t.Fatalf("import through n1: %d %s", r.status, r.body)
	}
	for i := 0; i < 40; i++ {
		n := c.nodes[1+i%2]
		got := n.must(200, "GET", fmt.Sprintf("/v1/profiles/user:imp%d", i), nil)
		attrs := got["attributes"].(map[string]any)
		if attrs["tier"] != "gold" || attrs["n"] != float64(i) {
			c.t.Fatalf("profile imp%d read through another node: %v", i, got)
		}
		n.must(200, "PUT", fmt.Sprintf("/v1/profiles/user:imp%d", i), map[string]any{"attributes": map[string]any{"seen": true}})
	}
}

// A network partition cuts n3 off from n1 and n2. The minority side stops taking events; the
// majority takes n3's partitions over and goes on, metadata published meanwhile included; after
// healing, n3 converges and no partition has diverged.
func TestClusterPartitionMinorityStopsAndHealsWithoutDivergence(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	sink := newCallSink(t)
	c := startTestCluster(t, 3)
	c.publishTestJourney(sink.url)
	const total = 6000
	cut, healed := false, false
	block := func(i int, ips ...string) {
		if _, err := c.internal(i, "/internal/v1/faults", map[string]any{"block": ips}); err != nil {
			t.Fatalf("fault injection on n%d: %v", i+1, err)
		}
	}
	acked := c.stream(total, func(sent int) {
		switch {
		case !cut && sent >= total*3/10:
			cut = true
			c.setAlive(2, false) // the stream goes to the majority side
			block(0, c.ips[2])
			block(1, c.ips[2])
			block(2, c.ips[0], c.ips[1])
			t.Logf("n3 cut off after %d events", sent)
			n3 := c.nodes[2]
			eventually(t, 20*time.Second, "n3 sees it has no majority", func() (bool, string) {
				st, err := c.status(n3)
				return err == nil && !st.Quorum, fmt.Sprint(err)
			})
			r := n3.call("POST", "/v1/events", []map[string]any{{"id": "minority-1", "type": "signup", "data": map[string]any{"userId": "minority-1"}}}).json(t)
			if r["failed"] != float64(1) {
				t.Errorf("the minority side accepted an event: %v", r)
			}
			// Metadata changed on the majority side reaches n3 after healing.
			c.nodes[0].must(201, "POST", "/v1/event-definitions", map[string]any{
				"name": "during-partition", "identityField": "userId", "identityNamespace": "user",
				"schema": map[string]any{"type": "object"}})
		case cut && !healed && sent >= total*7/10:
			healed = true
			for i := range c.nodes {
				block(i)
			}
			c.setAlive(2, true)
			t.Logf("healed after %d events", sent)
		}
	})
	if acked != total {
		t.Fatalf("acknowledged %d of %d", acked, total)
	}
	c.checkEffects(sink, acked)
	c.waitHealthy(30*time.Second, 3)
	c.checkNoDivergence()
	eventually(t, 20*time.Second, "metadata written during the partition reached n3", func() (bool, string) {
		r := c.nodes[2].call("GET", "/v1/event-definitions/during-partition", nil)
		return r.status == 200, string(r.body)
	})
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
