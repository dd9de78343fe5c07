package cluster

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/wayline/wayline/cluster/ring"
	"github.com/wayline/wayline/runtime/engine"
)

// Status is the cluster as one node sees it, with each partition's leader reporting its own
// followers (GET /v1/cluster, wayline cluster status).
type Status struct {
	Node              string            `json:"node"`
	Quorum            bool              `json:"quorum"`
	Roster            []string          `json:"roster"`
	PartitionCount    int               `json:"partitionCount"`
	ReplicationFactor int               `json:"replicationFactor"`
	Members           []MemberStatus    `json:"members"`
	Partitions        []PartitionStatus `json:"partitions"`
}

// MemberStatus is one node.
type MemberStatus struct {
	Name     string `json:"name"`
	APIURL   string `json:"apiUrl"`
	Internal string `json:"internal"`
	Gossip   string `json:"gossip"`
	State    string `json:"state"`
	Leaving  bool   `json:"leaving,omitempty"`
	Leads    int    `json:"leads"`
}

// PartitionStatus is one partition: its placement, and what its leader reports.
type PartitionStatus struct {
	ID        int              `json:"id"`
	Leader    string           `json:"leader"` // "" when no node reported leading it
	Epoch     uint64           `json:"epoch"`
	Position  engine.Position  `json:"position"`
	Replicas  []string         `json:"replicas"` // the placement this node computes
	Followers []FollowerStatus `json:"followers"`
}

// FollowerStatus is one follower of a partition, as its leader sees it.
type FollowerStatus struct {
	Node     string          `json:"node"`
	InSync   bool            `json:"inSync"`
	Position engine.Position `json:"position"`
	Lag      uint64          `json:"lag"` // batches behind the leader (same epoch), 0 in sync
}

// leaderReport is what a node answers on the status path: the partitions it leads.
type leaderReport struct {
	Node  string            `json:"node"`
	Parts []PartitionStatus `json:"parts"`
}

func (n *Node) report() leaderReport {
	r := leaderReport{Node: n.cfg.Name}
	for pid, p := range n.parts {
		if !n.eng.Leading(pid) {
			continue
		}
		p.mu.Lock()
		ls := p.lead
		if ls == nil {
			p.mu.Unlock()
			continue
		}
		ps := PartitionStatus{ID: pid, Leader: n.cfg.Name, Epoch: ls.epoch, Position: ls.pos, Followers: []FollowerStatus{}}
		for name, f := range ls.followers {
			fs := FollowerStatus{Node: name, InSync: f.inSync, Position: f.acked}
			if !f.inSync && ls.pos.LSN > f.acked.LSN {
				fs.Lag = ls.pos.LSN - f.acked.LSN
			}
			ps.Followers = append(ps.Followers, fs)
		}
		p.mu.Unlock()
		sort.Slice(ps.Followers, func(i, j int) bool { return ps.Followers[i].Node < ps.Followers[j].Node })
		r.Parts = append(r.Parts, ps)
	}
	return r
}

func (n *Node) handleStatus(from string, body []byte) ([]byte, error) {
	return json.Marshal(n.report())
}

// Status gathers the cluster's state: membership from gossip, and from every alive member the
// partitions it leads.
func (n *Node) Status(ctx context.Context) Status {
	v := n.currentView()
	st := Status{Node: n.cfg.Name, Quorum: v.quorum, PartitionCount: len(n.parts), ReplicationFactor: min(n.cfg.Replicas, len(v.alive))}
	n.mu.Lock()
	for name := range n.roster {
		st.Roster = append(st.Roster, name)
	}
	for _, m := range n.members {
		st.Members = append(st.Members, MemberStatus{Name: m.Name, APIURL: m.Meta.API, Internal: m.Meta.Internal, Gossip: m.Addr, State: m.State, Leaving: m.Meta.Leaving})
	}
	n.mu.Unlock()
	alive := n.aliveOthers()
	if n.ml != nil {
		// memberlist knows suspicion, which membership events do not carry.
		for _, m := range n.ml.Members() {
			if m.State == memberlist.StateSuspect {
				for i := range st.Members {
					if st.Members[i].Name == m.Name {
						st.Members[i].State = StateSuspect
					}
				}
			}
		}
	}
	sort.Strings(st.Roster)
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].Name < st.Members[j].Name })

	reports := []leaderReport{n.report()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range alive {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			out, err := n.post(rctx, name, pathStatus, nil)
			if err != nil {
				return
			}
			var r leaderReport
			if json.Unmarshal(out, &r) == nil {
				mu.Lock()
				reports = append(reports, r)
				mu.Unlock()
			}
		}(name)
	}
	wg.Wait()
	byID := map[int]PartitionStatus{}
	leads := map[string]int{}
	for _, r := range reports {
		for _, ps := range r.Parts {
			if cur, ok := byID[ps.ID]; !ok || cur.Epoch < ps.Epoch {
				byID[ps.ID] = ps
			}
		}
	}
	rf := min(n.cfg.Replicas, len(v.alive))
	for pid := range n.parts {
		ps, ok := byID[pid]
		if !ok {
			ps = PartitionStatus{ID: pid, Followers: []FollowerStatus{}}
		}
		ps.Replicas = ring.Replicas(pid, v.alive, rf)
		if ps.Leader != "" {
			leads[ps.Leader]++
		}
		st.Partitions = append(st.Partitions, ps)
	}
	for i := range st.Members {
		st.Members[i].Leads = leads[st.Members[i].Name]
	}
	return st
}

// MetaHooks connect the metadata spread (package metasync) to gossip and the internal port.
type MetaHooks struct {
	NotifyMsg        func(msg []byte)
	LocalState       func() []byte
	MergeRemoteState func(node string, buf []byte)
	// Serve answers another node's fetch of records (the request and answer bodies are the
	// metadata spread's own encoding).
	Serve func(body []byte) ([]byte, error)
}

type metaHolder struct{ h MetaHooks }

// UseMeta connects the metadata spread. Call it before Start.
func (n *Node) UseMeta(h MetaHooks) { n.meta.Store(&metaHolder{h: h}) }

func (n *Node) metaSync() *MetaHooks {
	if m := n.meta.Load(); m != nil {
		return &m.h
	}
	return nil
}

// Broadcast queues a small message for gossip to every member (best effort).
func (n *Node) Broadcast(msg []byte) {
	if n.broadcasts == nil {
		return
	}
	n.broadcasts.QueueBroadcast(simpleBroadcast(append([]byte(nil), msg...)))
}

// FetchMeta asks a node for metadata records (metasync's Fetch).
func (n *Node) FetchMeta(ctx context.Context, node string, body []byte) ([]byte, error) {
	return n.post(ctx, node, pathMeta, body)
}

func (n *Node) handleMeta(from string, body []byte) ([]byte, error) {
	m := n.metaSync()
	if m == nil || m.Serve == nil {
		return nil, badRequest("meta: this node does not spread metadata")
	}
	return m.Serve(body)
}

type simpleBroadcast []byte

func (b simpleBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b simpleBroadcast) Message() []byte                       { return b }
func (b simpleBroadcast) Finished()                             {}

// StatusJSON is Status for the API (which knows the cluster only through an interface).
func (n *Node) StatusJSON(ctx context.Context) any { return n.Status(ctx) }
