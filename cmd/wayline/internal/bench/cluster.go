package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/wayline/wayline/sdk/client/go"

	"github.com/wayline/wayline/runtime/store"
)

// The cluster workload: three nodes of this binary on 127.0.0.1, .2 and .3, for replication
// factors 1, 2 and 3; the demo journey's events in NDJSON batches sent to the first node, once
// for profiles whose partitions it leads (the owner) and once for profiles led elsewhere (a
// non-owner forwards each batch to the leaders); then the failover time after a SIGKILL.

const clusterPartitions = 64 // the serve default: placement is read from GET /v1/cluster

type benchCluster struct {
	nodes []*node
	key   string
}

func freePortOn(ip string) (string, error) {
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if pc, err := net.ListenPacket("udp", addr); err == nil {
			pc.Close()
			return addr, nil
		}
	}
	return "", fmt.Errorf("no free port on %s", ip)
}

// startBenchCluster starts three nodes, each joining the first.
func startBenchCluster(binary string, replicas int) (*benchCluster, error) {
	kb := make([]byte, 16)
	_, _ = rand.Read(kb)
	c := &benchCluster{key: "bench-" + hex.EncodeToString(kb)}
	seed := ""
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		var addrs [3]string
		for j := range addrs {
			a, err := freePortOn(ip)
			if err != nil {
				c.stop()
				return nil, err
			}
			addrs[j] = a
		}
		dir, err := os.MkdirTemp("", "wayline-bench-cluster-")
		if err != nil {
			c.stop()
			return nil, err
		}
		args := []string{"serve", "--data", dir, "--listen", addrs[0], "--admin-key", c.key, "--log-level", "warn", "--allow-net", "127.0.0.1",
			"--node", fmt.Sprintf("n%d", i), "--gossip", addrs[1], "--internal", addrs[2], "--cluster-secret", c.key, "--replicas", strconv.Itoa(replicas)}
		if seed != "" {
			args = append(args, "--join", seed)
		} else {
			seed = addrs[1]
		}
		n := &node{url: "http://" + addrs[0], key: c.key, dir: dir}
		n.cmd = exec.Command(binary, args...)
		n.cmd.Stdout, n.cmd.Stderr = &n.log, &n.log
		if err := n.cmd.Start(); err != nil {
			os.RemoveAll(dir)
			c.stop()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		if err := waitReady(n); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, c.waitHealthy(60 * time.Second)
}

func waitReady(n *node) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(n.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("a cluster node did not become ready in 30s:\n%s", n.log.String())
}

func (c *benchCluster) stop() {
	for _, n := range c.nodes {
		if n != nil {
			n.stop()
		}
	}
}

type benchStatus struct {
	Members []struct {
		Name, State string
	}
	Partitions []struct {
		ID        int
		Leader    string
		Followers []struct{ InSync bool }
	}
}

func getJSON(url, key string, v any) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

// waitHealthy waits until every partition has a leader and every follower is in sync.
func (c *benchCluster) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		var st benchStatus
		if err := getJSON(c.nodes[0].url+"/v1/cluster", c.key, &st); err != nil {
			last = err.Error()
		} else {
			ok := len(st.Partitions) > 0
			for _, p := range st.Partitions {
				if p.Leader == "" {
					ok, last = false, fmt.Sprintf("partition %d has no leader", p.ID)
				}
				for _, f := range p.Followers {
					if !f.InSync {
						ok, last = false, fmt.Sprintf("partition %d has a follower out of sync", p.ID)
					}
				}
			}
			if ok {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the cluster did not become healthy: %s", last)
}

// leaders maps each partition to its leader's name.
func (c *benchCluster) leaders() ([]string, error) {
	var st benchStatus
	if err := getJSON(c.nodes[0].url+"/v1/cluster", c.key, &st); err != nil {
		return nil, err
	}
	out := make([]string, clusterPartitions)
	for _, p := range st.Partitions {
		if p.ID < len(out) {
			out[p.ID] = p.Leader
		}
	}
	return out, nil
}

// eventsLedBy makes demo events for profiles whose partition is (or is not) led by name.
func eventsLedBy(leaders []string, name string, owner bool) makeEvent {
	return func(int64) client.Event {
		for {
			id := "c" + strconv.FormatInt(profiles.Add(1), 36)
			if (leaders[store.PartitionOf("bench:"+id, len(leaders))] == name) == owner {
				return client.Event{Type: "bench.signup", Data: map[string]any{"userId": id, "sentAt": stamp()}}
			}
		}
	}
}

func runCluster(ctx context.Context, cfg Config, sk *sink, oneNode float64) ([]Row, []string, error) {
	var rows []Row
	var notes []string
	for _, rf := range []int{1, 2, 3} {
		fmt.Fprintf(cfg.Progress, "cluster: starting three nodes, replication factor %d ...\n", rf)
		c, err := startBenchCluster(cfg.Binary, rf)
		if err != nil {
			return nil, nil, err
		}
		if err := setupWorkspace(c.nodes[0].url, c.key, sk.url); err != nil {
			c.stop()
			return nil, nil, err
		}
		time.Sleep(time.Second) // metadata spreads in tens of milliseconds; the journey must be live everywhere
		leaders, err := c.leaders()
		if err != nil {
			c.stop()
			return nil, nil, err
		}
		for _, owner := range []bool{true, false} {
			via := "the owner"
			if !owner {
				via = "a non-owner (forwarded)"
			}
			fmt.Fprintf(cfg.Progress, "cluster rf=%d, NDJSON via %s: %s warm-up + %s ...\n", rf, via, cfg.Warmup, cfg.Duration)
			sk.action.reset()
			r, err := runLoad(ctx, c.nodes[0].url, c.key, shapeNDJSON, cfg.Streams, cfg.Batch, cfg.Warmup, cfg.Duration, eventsLedBy(leaders, "n1", owner), 0)
			if err != nil {
				c.stop()
				return nil, nil, fmt.Errorf("cluster rf=%d: %w", rf, err)
			}
			row := Row{Workload: "cluster", Shape: fmt.Sprintf("3 nodes, rf %d, NDJSON via %s", rf, via), Rate: r.rate, Ack: r.ack, Failed: r.failed,
				Action: sk.action.percentiles(0.50, 0.99), CPU: -1, PeakRSS: -1, Ceiling: oneNode, CeilingName: "one node"}
			if r.firstErr != "" {
				row.Note = "first failure: " + r.firstErr
			}
			rows = append(rows, row)
		}
		if rf == 3 {
			note, err := measureFailover(c, leaders)
			if err != nil {
				note = "failover not measured: " + err.Error()
			}
			notes = append(notes, note)
			fmt.Fprintln(cfg.Progress, note)
		}
		c.stop()
	}
	return rows, notes, nil
}

// measureFailover kills n3 with SIGKILL and times, from the kill: gossip declaring it dead (as
// n1 sees it), and the acknowledgement through n1 of one event for each partition n3 led.
func measureFailover(c *benchCluster, leaders []string) (string, error) {
	var probes []string
	seen := map[int]bool{}
	for i := 0; len(probes) < 64 && i < 100000; i++ {
		id := "f" + strconv.Itoa(i)
		pid := store.PartitionOf("bench:"+id, len(leaders))
		if leaders[pid] == "n3" && !seen[pid] {
			seen[pid] = true
			probes = append(probes, id)
		}
	}
	if len(probes) == 0 {
		return "", fmt.Errorf("n3 leads no partition")
	}
	cl, err := client.New(client.Config{URLs: []string{c.nodes[0].url}, APIKey: c.key})
	if err != nil {
		return "", err
	}
	defer cl.Close(context.Background())
	victim := c.nodes[2]
	start := time.Now()
	_ = victim.cmd.Process.Kill()
	var detected atomic.Int64
	go func() {
		for time.Since(start) < time.Minute {
			var st benchStatus
			if getJSON(c.nodes[0].url+"/v1/cluster", c.key, &st) == nil {
				for _, m := range st.Members {
					if m.Name == "n3" && m.State == "dead" {
						detected.Store(int64(time.Since(start)))
						return
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	var worst atomic.Int64
	var failed atomic.Int64
	for _, id := range probes {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for ctx.Err() == nil {
				res, err := cl.Send(ctx, client.Event{ID: "failover-" + id, Type: "bench.signup", Data: map[string]any{"userId": id, "sentAt": stamp()}})
				if err == nil && res.Acked() {
					d := int64(time.Since(start))
					for {
						w := worst.Load()
						if d <= w || worst.CompareAndSwap(w, d) {
							break
						}
					}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			failed.Add(1)
		}(id)
	}
	wg.Wait()
	victim.cmd.Wait()
	victim.cmd = nil
	if failed.Load() > 0 {
		return "", fmt.Errorf("%d of %d probe events were not acknowledged within a minute", failed.Load(), len(probes))
	}
	return fmt.Sprintf("Failover after SIGKILL of one of three nodes (rf 3): gossip declared it dead after %s; an event for each of the %d partitions it led, sent through a surviving node from the moment of the kill, was acknowledged at most %s after the kill.",
		time.Duration(detected.Load()).Round(time.Millisecond), len(probes), time.Duration(worst.Load()).Round(time.Millisecond)), nil
}
