package client

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/bytedance/sonic"
)

// NodeInfo describes one node as the client sees it.
type NodeInfo struct {
	URL string
	// Latency is the last measured round trip of GET /readyz; 0 when not measured yet.
	Latency time.Duration
	// Healthy is false from a network error or 503 until the node answers a probe.
	Healthy bool
}

// endpoint is one node. Its fields are guarded by nodes.mu.
type endpoint struct {
	url       string
	latency   time.Duration // 0: unknown
	healthy   bool
	fails     int       // consecutive failures, for the probe backoff
	nextProbe time.Time // when a down node is probed again
	downSince time.Time
}

// nodes chooses where requests go: the healthy node with the lowest latency; when every node is
// down, the one down the longest (a request is then also a probe).
type nodes struct {
	mu   sync.Mutex
	list []*endpoint
}

// Probe backoff for down nodes.
const (
	probeFirst = 250 * time.Millisecond
	probeMax   = 10 * time.Second
	// probeTimeout bounds one latency probe.
	probeTimeout = 2 * time.Second
)

func newNodes(urls []string) *nodes {
	n := &nodes{}
	for _, u := range urls {
		n.list = append(n.list, &endpoint{url: u, healthy: true})
	}
	return n
}

// pick returns the node to send to.
func (n *nodes) pick() *endpoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	var best *endpoint
	for _, e := range n.list {
		if !e.healthy {
			continue
		}
		// Unmeasured nodes rank after measured ones, in list order.
		if best == nil || (e.latency != 0 && (best.latency == 0 || e.latency < best.latency)) {
			best = e
		}
	}
	if best != nil {
		return best
	}
	for _, e := range n.list {
		if best == nil || e.downSince.Before(best.downSince) {
			best = e
		}
	}
	return best
}

// anotherHealthy reports whether a healthy node other than e exists: a retry can go there at
// once instead of waiting out a backoff.
func (n *nodes) anotherHealthy(e *endpoint) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range n.list {
		if o != e && o.healthy {
			return true
		}
	}
	return false
}

// down marks e as failing (a network error or a 503).
func (n *nodes) down(e *endpoint) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	if e.healthy {
		e.healthy = false
		e.downSince = now
		e.fails = 0
	}
	e.fails++
	e.nextProbe = now.Add(probeDelay(e.fails))
}

// up marks e as answering.
func (n *nodes) up(e *endpoint, latency time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e.healthy = true
	e.fails = 0
	if latency > 0 {
		if e.latency == 0 {
			e.latency = latency
		} else {
			e.latency = (e.latency*3 + latency) / 4 // smooth one slow answer
		}
	}
}

func probeDelay(fails int) time.Duration {
	d := probeFirst
	for i := 1; i < fails && d < probeMax; i++ {
		d *= 2
	}
	return min(d, probeMax)
}

// info returns a copy of the list.
func (n *nodes) info() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]NodeInfo, len(n.list))
	for i, e := range n.list {
		out[i] = NodeInfo{URL: e.url, Latency: e.latency, Healthy: e.healthy}
	}
	return out
}

// all returns the endpoints; due, those down whose probe is due.
func (n *nodes) all(dueOnly bool) []*endpoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	var out []*endpoint
	for _, e := range n.list {
		if !dueOnly || (!e.healthy && !now.Before(e.nextProbe)) {
			out = append(out, e)
		}
	}
	return out
}

// replace sets a new list of URLs, keeping what is known of the nodes that stay.
func (n *nodes) replace(urls []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := map[string]*endpoint{}
	for _, e := range n.list {
		old[e.url] = e
	}
	list := make([]*endpoint, 0, len(urls))
	for _, u := range urls {
		if e := old[u]; e != nil {
			list = append(list, e)
		} else {
			list = append(list, &endpoint{url: u, healthy: true})
		}
	}
	n.list = list
}

// probe measures the latency of each endpoint with GET /readyz, all at once, and marks each up
// or down.
func (c *Client) probe(ctx context.Context, eps []*endpoint) {
	var wg sync.WaitGroup
	for _, e := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(pctx, "GET", e.url+"/readyz", nil)
			if err != nil {
				return
			}
			start := time.Now()
			resp, err := c.http.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					c.nodes.down(e)
				}
				return
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode != 200 {
				c.nodes.down(e)
				return
			}
			c.nodes.up(e, max(time.Since(start), time.Nanosecond))
		}()
	}
	wg.Wait()
}

// clusterView is what the client reads from GET /v1/cluster: the members' API URLs. Members
// whose state is "dead" or "left" are skipped. Either "members" or "nodes" is read, and for
// each the first of "apiUrl", "url", "apiURL".
type clusterView struct {
	Members []clusterMember `json:"members"`
	Nodes   []clusterMember `json:"nodes"`
}

type clusterMember struct {
	APIUrl  string `json:"apiUrl"`
	URL     string `json:"url"`
	APIURL2 string `json:"apiURL"`
	State   string `json:"state"`
}

// refresh reads the node list from GET /v1/cluster on the current node. A node without that
// endpoint (404), an error or an empty list keeps the list as it is.
func (c *Client) refresh(ctx context.Context) {
	e := c.nodes.pick()
	rctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "GET", e.url+"/v1/cluster", nil)
	if err != nil {
		return
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != 200 {
		return
	}
	var v clusterView
	if sonic.Unmarshal(body, &v) != nil {
		return
	}
	var urls []string
	seen := map[string]bool{}
	for _, m := range append(v.Members, v.Nodes...) {
		if m.State == "dead" || m.State == "left" {
			continue
		}
		u := m.APIUrl
		if u == "" {
			u = m.URL
		}
		if u == "" {
			u = m.APIURL2
		}
		nu, err := normaliseURL(u)
		if err != nil || seen[nu] {
			continue
		}
		seen[nu] = true
		urls = append(urls, nu)
	}
	if len(urls) > 0 {
		c.nodes.replace(urls)
	}
}

// maintain probes down nodes as their probes fall due and, with a RefreshInterval, refreshes
// the node list and measures every node again.
func (c *Client) maintain() {
	defer c.bg.Done()
	tick := time.NewTicker(probeFirst)
	defer tick.Stop()
	nextRefresh := time.Now().Add(c.cfg.RefreshInterval)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		if c.cfg.RefreshInterval > 0 && !time.Now().Before(nextRefresh) {
			c.refresh(c.ctx)
			c.probe(c.ctx, c.nodes.all(false))
			nextRefresh = time.Now().Add(c.cfg.RefreshInterval)
			continue
		}
		if due := c.nodes.all(true); len(due) > 0 {
			c.probe(c.ctx, due)
		}
	}
}
