package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wayline/wayline/runtime/engine"
)

// Reports are summed across the cluster: each node's engine reports the partitions it leads
// (so a partition held by three replicas counts once), and the node asked gathers the others'
// over the internal port. While a partition changes leader, a report may miss it or count it
// twice for a moment; the next read is right again.

type reportReq struct {
	Kind  string `json:"kind"` // counters, deadLetters
	Scope string `json:"scope,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

func (n *Node) handleReport(from string, body []byte) ([]byte, error) {
	var req reportReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("report: %v", err)
	}
	switch req.Kind {
	case "counters":
		c, err := n.eng.Counters(req.Scope)
		if err != nil {
			return nil, err
		}
		return json.Marshal(c)
	case "deadLetters":
		if req.Limit <= 0 || req.Limit > 10000 {
			return nil, badRequest("report: limit must be from 1 to 10000")
		}
		d, err := n.eng.DeadLetters(req.Limit)
		if err != nil {
			return nil, err
		}
		return json.Marshal(d)
	}
	return nil, badRequest("report: unknown kind %q", req.Kind)
}

// gather asks every other alive member for a report; it fails when one does not answer, as the
// sum would silently miss that node's partitions.
func (n *Node) gather(req reportReq) ([][]byte, error) {
	body, _ := json.Marshal(req)
	others := n.aliveOthers()
	out := make([][]byte, len(others))
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, name := range others {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			defer cancel()
			out[i], errs[i] = n.post(ctx, name, pathReport, body)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("node %s did not report (%v); the report would be incomplete, try again", name, errs[i])
			}
		}(i, name)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Counters sums report counters over the cluster.
func (n *Node) Counters(scopePrefix string) (map[string]map[string]int64, error) {
	sum, err := n.eng.Counters(scopePrefix)
	if err != nil {
		return nil, err
	}
	answers, err := n.gather(reportReq{Kind: "counters", Scope: scopePrefix})
	if err != nil {
		return nil, err
	}
	for _, a := range answers {
		var c map[string]map[string]int64
		if err := json.Unmarshal(a, &c); err != nil {
			return nil, fmt.Errorf("cluster: unreadable counters from a node: %w", err)
		}
		for scope, names := range c {
			m := sum[scope]
			if m == nil {
				m = map[string]int64{}
				sum[scope] = m
			}
			for name, v := range names {
				m[name] += v
			}
		}
	}
	return sum, nil
}

// Hourly is a journey's hourly totals over the cluster.
func (n *Node) Hourly(journeyID string) ([]engine.HourlyPoint, error) {
	m, err := n.Counters("h/" + journeyID + "/")
	if err != nil {
		return nil, err
	}
	return engine.HourlyFrom(m), nil
}

// DeadLetters lists the newest dead letters over the cluster.
func (n *Node) DeadLetters(limit int) ([]engine.DeadLetter, error) {
	all, err := n.eng.DeadLetters(limit)
	if err != nil {
		return nil, err
	}
	answers, err := n.gather(reportReq{Kind: "deadLetters", Limit: limit})
	if err != nil {
		return nil, err
	}
	for _, a := range answers {
		var d []engine.DeadLetter
		if err := json.Unmarshal(a, &d); err != nil {
			return nil, fmt.Errorf("cluster: unreadable dead letters from a node: %w", err)
		}
		all = append(all, d...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].FailedAt.After(all[j].FailedAt) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// PartitionOwnerAPI returns the API URL of the partition's leader and whether it is this node.
func (n *Node) PartitionOwnerAPI(pid int) (string, bool) {
	if pid < 0 || pid >= len(n.parts) {
		return "", false
	}
	if n.eng.Leading(pid) {
		return n.cfg.APIURL, true
	}
	table := n.table.Load()
	if table == nil || (*table)[pid] == "" {
		return "", false
	}
	m, ok := n.memberNamed((*table)[pid])
	if !ok {
		return "", false
	}
	return m.Meta.API, m.Name == n.cfg.Name
}
