package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/cluster/ring"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/store"
)

// part is this node's state for one partition.
type part struct {
	id int

	mu        sync.Mutex
	promised  uint64     // the highest epoch this node promised (persisted: store.PromiseKey)
	seenEpoch uint64     // the highest epoch heard of from others (refusals), to claim above it
	retryAt   time.Time  // a lost claim is retried after a jittered pause
	lead      *leadState // non-nil while this node leads the partition

	// applyMu serialises what followers write to the partition: replicated batches and
	// snapshot installs.
	applyMu sync.Mutex
}

// leadState is what a leader knows about its followers.
type leadState struct {
	epoch     uint64
	pos       engine.Position
	followers map[string]*follower
	tail      []tailEntry // the latest batches, oldest first, for followers catching up
	tailBytes int
}

type follower struct {
	inSync   bool
	acked    engine.Position
	catching bool
}

// tailEntry is one replicated batch kept for catch-up.
type tailEntry struct {
	prev, pos engine.Position
	frame     []byte
}

// Bounds of the catch-up tail per partition; a follower further behind gets a snapshot.
const (
	tailMaxEntries = 4096
	tailMaxBytes   = 16 << 20
)

func (n *Node) newPart(pid int) (*part, error) {
	p := &part{id: pid}
	b, ok, err := store.Get(n.db, store.PromiseKey(pid))
	if err != nil {
		return nil, err
	}
	if ok {
		p.promised = store.ReadU64(b)
	}
	return p, nil
}

// leaders is the controller's latest placement: the leader of each partition as this node
// sees it ("" while it has no quorum).
type leaders []string

// controller places partitions whenever membership changes, and every half second.
func (n *Node) controller() {
	defer n.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		n.place()
		select {
		case <-n.ctx.Done():
			return
		case <-n.kick:
		case <-t.C:
		}
	}
}

func (n *Node) place() {
	v := n.currentView()
	n.quorum.Store(v.quorum)
	rf := min(n.cfg.Replicas, len(v.alive))
	table := make(leaders, len(n.parts))
	var claims []int
	now := time.Now()
	for pid, p := range n.parts {
		reps := ring.Replicas(pid, v.alive, rf)
		if v.quorum && len(reps) > 0 {
			table[pid] = reps[0]
		}
		want := v.quorum && !n.leaving.Load() && len(reps) > 0 && reps[0] == n.cfg.Name
		leading := n.eng.Leading(pid)
		switch {
		case leading && !want:
			n.resign(pid, "placement moved it")
		case !leading && want:
			p.mu.Lock()
			due := now.After(p.retryAt)
			p.mu.Unlock()
			if due {
				claims = append(claims, pid)
			}
		case leading:
			n.setFollowers(pid, reps[1:])
		}
	}
	n.table.Store(&table)
	if len(claims) > 0 {
		n.claim(claims, v)
	}
}

// resign stops leading a partition here.
func (n *Node) resign(pid int, why string) {
	n.eng.Resign(pid)
	p := n.parts[pid]
	p.mu.Lock()
	was := p.lead != nil
	p.lead = nil
	p.mu.Unlock()
	if was {
		n.log.Info("stopped leading partition", "partition", pid, "why", why)
	}
}

// setFollowers brings a leader's follower set in line with the placement: new replicas start
// out of sync and catch up; replicas no longer placed are forgotten.
func (n *Node) setFollowers(pid int, names []string) {
	p := n.parts[pid]
	p.mu.Lock()
	defer p.mu.Unlock()
	ls := p.lead
	if ls == nil {
		return
	}
	want := map[string]bool{}
	for _, name := range names {
		want[name] = true
		if ls.followers[name] == nil {
			f := &follower{catching: true}
			ls.followers[name] = f
			go n.catchUp(pid, name, ls.epoch)
		}
	}
	for name := range ls.followers {
		if !want[name] {
			delete(ls.followers, name)
		}
	}
}

type claimReq struct {
	Claims []claim `json:"claims"`
}

type claim struct {
	Pid   int    `json:"pid"`
	Epoch uint64 `json:"epoch"`
}

type claimResp struct {
	Answers []claimAnswer `json:"answers"`
}

type claimAnswer struct {
	Pid      int             `json:"pid"`
	Accepted bool            `json:"accepted"`
	Promised uint64          `json:"promised"`
	Pos      engine.Position `json:"pos"`
}

// claim tries to become the leader of the partitions: promises of higher epochs from a majority
// of the roster, the most advanced copy among them, then the engine starts leading.
func (n *Node) claim(pids []int, v view) {
	req := claimReq{}
	self := map[int]engine.Position{}
	b := n.db.NewBatch()
	for _, pid := range pids {
		p := n.parts[pid]
		pos, err := engine.ReadPosition(n.db, pid)
		if err != nil {
			b.Close()
			n.log.Error("reading a partition position", "partition", pid, "err", err)
			return
		}
		p.mu.Lock()
		e := max(p.promised, p.seenEpoch, pos.Epoch) + 1
		p.promised = e
		p.mu.Unlock()
		_ = b.Set(store.PromiseKey(pid), store.U64(e), nil)
		self[pid] = pos
		req.Claims = append(req.Claims, claim{Pid: pid, Epoch: e})
	}
	if err := b.Commit(pebble.Sync); err != nil {
		b.Close()
		n.log.Error("saving promises", "err", err)
		return
	}
	b.Close()
	body, _ := json.Marshal(req)

	type vote struct {
		node string
		ans  claimAnswer
	}
	var mu sync.Mutex
	votes := map[int][]vote{}
	var wg sync.WaitGroup
	others := n.aliveOthers()
	for _, name := range others {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, 3*time.Second)
			defer cancel()
			out, err := n.post(ctx, name, pathClaim, body)
			if err != nil {
				return
			}
			var resp claimResp
			if json.Unmarshal(out, &resp) != nil {
				return
			}
			mu.Lock()
			for _, a := range resp.Answers {
				votes[a.Pid] = append(votes[a.Pid], vote{name, a})
			}
			mu.Unlock()
		}(name)
	}
	wg.Wait()

	sem := make(chan struct{}, 4)
	var won atomic.Int32
	for _, c := range req.Claims {
		pid := c.Pid
		p := n.parts[pid]
		accepted := 1 // this node's own promise
		best, bestNode := self[pid], n.cfg.Name
		positions := map[string]engine.Position{n.cfg.Name: self[pid]}
		for _, vt := range votes[pid] {
			if !vt.ans.Accepted {
				p.mu.Lock()
				p.seenEpoch = max(p.seenEpoch, vt.ans.Promised)
				p.mu.Unlock()
				continue
			}
			accepted++
			positions[vt.node] = vt.ans.Pos
			if best.Less(vt.ans.Pos) {
				best, bestNode = vt.ans.Pos, vt.node
			}
		}
		if accepted*2 <= v.roster {
			n.backoff(pid)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if n.takeLead(pid, c.Epoch, best, bestNode, positions) {
				won.Add(1)
			} else {
				n.backoff(pid)
			}
		}()
	}
	wg.Wait()
	if w := won.Load(); w > 0 {
		n.log.Info("leading partitions after claims", "won", w, "claimed", len(pids))
	}
}

func (n *Node) backoff(pid int) {
	p := n.parts[pid]
	p.mu.Lock()
	p.retryAt = time.Now().Add(200*time.Millisecond + rand.N(600*time.Millisecond))
	p.mu.Unlock()
}

// takeLead finishes a won claim: fetch the most advanced copy if it is elsewhere, then lead.
func (n *Node) takeLead(pid int, epoch uint64, best engine.Position, bestNode string, positions map[string]engine.Position) bool {
	if bestNode != n.cfg.Name {
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		snap, err := n.post(ctx, bestNode, pathSnapshot, encodePid(pid))
		cancel()
		if err != nil {
			n.log.Warn("claim won but the latest copy could not be fetched; trying again", "partition", pid, "from", bestNode, "err", err)
			return false
		}
		got, err := n.install(pid, epoch, snap)
		if err != nil {
			n.log.Warn("claim won but the latest copy could not be installed; trying again", "partition", pid, "from", bestNode, "err", err)
			return false
		}
		if got.Less(best) {
			n.log.Warn("the fetched copy is older than promised; trying again", "partition", pid, "from", bestNode, "got", got, "want", best)
			return false
		}
		positions[n.cfg.Name] = got
	}
	p := n.parts[pid]
	pos, err := engine.ReadPosition(n.db, pid)
	if err != nil {
		return false
	}
	// Before it serves, the new leader makes sure a majority of the partition's replicas hold
	// its copy: its copy may hold batches that never reached a majority under the old leader
	// (not acknowledged, so free to keep or drop), and once it leads it acts on them — fires
	// their timers, dispatches their outbox. If it then lost the partition before the
	// followers caught up, the next leader would act on an older copy and act twice.
	v := n.currentView()
	reps := ring.Replicas(pid, v.alive, min(n.cfg.Replicas, len(v.alive)))
	inSync := map[string]bool{}
	var behind []string
	for _, name := range reps {
		if name == n.cfg.Name {
			continue
		}
		if fp, known := positions[name]; known && fp == pos {
			inSync[name] = true
		} else {
			behind = append(behind, name)
		}
	}
	need := len(reps) / 2 // followers that, with this node, make a majority of the replicas
	for _, name := range behind {
		if len(inSync) >= need {
			break
		}
		if err := n.sendCatchUp(pid, name, epoch, nil, nil); err != nil {
			n.log.Debug("new leader could not bring a follower to its copy", "partition", pid, "follower", name, "err", err)
			continue
		}
		inSync[name] = true
	}
	if len(inSync) < need {
		n.log.Warn("claim won but too few followers hold the new leader's copy; trying again", "partition", pid, "in sync", len(inSync), "need", need)
		return false
	}
	ls := &leadState{epoch: epoch, pos: pos, followers: map[string]*follower{}}
	p.mu.Lock()
	if p.promised != epoch {
		p.mu.Unlock()
		return false // a later claim by someone else got our promise meanwhile
	}
	var catchUp []string
	for _, name := range reps {
		if name == n.cfg.Name {
			continue
		}
		f := &follower{acked: positions[name], inSync: inSync[name]}
		if f.inSync {
			f.acked = pos
		} else {
			f.catching = true
			catchUp = append(catchUp, name)
		}
		ls.followers[name] = f
	}
	p.lead = ls // before the engine leads: its first commit replicates through it
	p.mu.Unlock()
	if _, err := n.eng.Lead(pid, epoch); err != nil {
		p.mu.Lock()
		p.lead = nil
		p.mu.Unlock()
		n.log.Error("the engine refused to lead", "partition", pid, "err", err)
		return false
	}
	for _, name := range catchUp {
		go n.catchUp(pid, name, epoch)
	}
	n.log.Debug("leading partition", "partition", pid, "epoch", epoch, "position", pos)
	return true
}

// handleClaim answers another node's claims: a higher epoch than promised is promised (and
// this node stops leading that partition); a lower or equal one is refused.
func (n *Node) handleClaim(from string, body []byte) ([]byte, error) {
	req, err := decodeClaims(body, len(n.parts))
	if err != nil {
		return nil, err
	}
	resp := claimResp{}
	b := n.db.NewBatch()
	defer b.Close()
	var resign []int
	for _, c := range req.Claims {
		p := n.parts[c.Pid]
		// Promise under applyMu: a replicated batch from the older epoch is either applied
		// before the promise (and counted in the position answered below) or refused after it.
		p.applyMu.Lock()
		p.mu.Lock()
		a := claimAnswer{Pid: c.Pid, Promised: p.promised}
		if c.Epoch > p.promised {
			p.promised, a.Accepted, a.Promised = c.Epoch, true, c.Epoch
			_ = b.Set(store.PromiseKey(c.Pid), store.U64(c.Epoch), nil)
			if p.lead != nil || n.eng.Leading(c.Pid) {
				resign = append(resign, c.Pid)
			}
		}
		p.mu.Unlock()
		p.applyMu.Unlock()
		resp.Answers = append(resp.Answers, a)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, err
	}
	// A leader stops before it answers, so that its position includes every batch it
	// committed (its worker refuses further work once the promise is raised).
	for _, pid := range resign {
		n.resign(pid, "node "+from+" claimed it")
	}
	for i, a := range resp.Answers {
		if a.Accepted {
			pos, err := engine.ReadPosition(n.db, a.Pid)
			if err != nil {
				return nil, err
			}
			resp.Answers[i].Pos = pos
		}
	}
	return json.Marshal(resp)
}

// decodeClaims reads a claim request, refusing partitions that do not exist.
func decodeClaims(body []byte, partitions int) (claimReq, error) {
	var req claimReq
	if err := json.Unmarshal(body, &req); err != nil {
		return req, badRequest("claim: %v", err)
	}
	for _, c := range req.Claims {
		if c.Pid < 0 || c.Pid >= partitions {
			return req, badRequest("claim: partition %d does not exist (this cluster has %d)", c.Pid, partitions)
		}
	}
	return req, nil
}

var errFenced = errors.New("cluster: a newer leader holds the partition")
var errNoQuorum = errors.New("cluster: this node does not see a majority of the cluster")
