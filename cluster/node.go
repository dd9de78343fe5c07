// Package cluster makes several Wayline nodes one system: membership and failure detection
// (hashicorp/memberlist), partition placement (rendezvous hashing, package ring), leadership
// fenced by epochs, forwarding of events to each partition's leader, replication of every
// committed batch to the partition's followers before it is acknowledged, catch-up and
// handoff by snapshot plus tail, and the spread of metadata (package metasync).
//
// The model, for an operator, is in docs/cluster.md. In short: a fixed number of partitions
// (the engine's), each with up to R replicas chosen by rendezvous hashing over the alive
// members; the first is the leader. A node becomes a partition's leader only by winning a
// claim: it asks every member to promise a new, higher epoch, and needs promises from a
// majority of the roster (every node that joined and did not leave). A member that promises
// stops leading the partition, and refuses replicated batches from older epochs, so two nodes
// never both get a batch acknowledged for one partition. The winner takes the most advanced
// copy among the promisers (by position: epoch, then LSN) before it serves.
//
// The cluster carries bytes: it knows engine batches as Pebble batch encodings and events as
// envelopes, never what a journey is.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/memberlist"

	"github.com/wayline/wayline/cluster/transport"
	"github.com/wayline/wayline/runtime/engine"
)

// Config configures a node's part in the cluster.
type Config struct {
	Name      string   // unique, stable across restarts
	Gossip    string   // HOST:PORT memberlist binds (UDP and TCP)
	Internal  string   // HOST:PORT of the node-to-node port
	Advertise string   // host others reach this node at; the gossip and internal hosts when empty
	Join      []string // gossip HOST:PORTs of nodes already in the cluster
	Secret    string   // encrypts gossip and signs internal requests; the same on every node
	APIURL    string   // this node's public API base URL, for forwarding reads and for clients
	// Replicas is the most copies of a partition (the leader included); fewer while fewer
	// nodes are alive. 3 by default.
	Replicas int
	// ReplicaTimeout is how long a leader waits for an in-sync follower that does not answer
	// before it drops it from the in-sync set (the follower then catches up and rejoins).
	ReplicaTimeout time.Duration
	// FaultInjection serves POST /internal/v1/faults, which cuts this node off from chosen
	// IPs: for partition tests only.
	FaultInjection bool
	Log            *slog.Logger
}

// Validate checks the config, naming the flag at fault.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("cluster: --node is required: a unique name for this node, kept across restarts")
	case c.Secret == "":
		return errors.New("cluster: --cluster-secret is required: the same secret on every node encrypts gossip and signs internal requests")
	case c.Replicas < 0 || c.Replicas > 7:
		return errors.New("cluster: --replicas must be from 1 to 7")
	}
	if _, _, err := splitHostPort(c.Gossip, "--gossip"); err != nil {
		return err
	}
	if _, _, err := splitHostPort(c.Internal, "--internal"); err != nil {
		return err
	}
	for _, j := range c.Join {
		if _, _, err := splitHostPort(j, "--join"); err != nil {
			return err
		}
	}
	return nil
}

// Node is this process's membership in the cluster.
type Node struct {
	cfg    Config
	eng    *engine.Engine
	db     *pebble.DB
	log    *slog.Logger
	key    transport.Key
	faults *transport.Faults
	client *transport.Client
	server *transport.Server
	ln     net.Listener
	ml     *memberlist.Memberlist

	broadcasts *memberlist.TransmitLimitedQueue
	meta       atomic.Pointer[metaHolder]

	mu      sync.Mutex
	members map[string]*member
	roster  map[string]bool
	pipes   map[string]*transport.Pipe

	parts   []*part
	table   atomic.Pointer[leaders] // the controller's latest placement
	quorum  atomic.Bool             // this node sees a majority of the roster
	kick    chan struct{}
	leaving atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New creates the node. The engine must not be started yet: New puts it in cluster mode.
func New(cfg Config, eng *engine.Engine, db *pebble.DB) (*Node, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 3
	}
	if cfg.ReplicaTimeout == 0 {
		cfg.ReplicaTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, eng: eng, db: db, log: cfg.Log.With("node", cfg.Name), key: transport.DeriveKey(cfg.Secret),
		faults: &transport.Faults{}, members: map[string]*member{}, roster: map[string]bool{}, pipes: map[string]*transport.Pipe{},
		kick: make(chan struct{}, 1)}
	if err := n.loadRoster(); err != nil {
		return nil, err
	}
	n.roster[cfg.Name] = true
	for pid := 0; pid < eng.Partitions(); pid++ {
		p, err := n.newPart(pid)
		if err != nil {
			return nil, err
		}
		n.parts = append(n.parts, p)
	}
	n.client = transport.NewClient(n.key, cfg.Name, n.faults)
	n.server = transport.NewServer(n.key, n.log)
	n.routes()
	eng.UseReplicator(n)
	return n, nil
}

// Start listens on the internal port, joins the gossip and starts placing partitions. The
// engine must have been started.
func (n *Node) Start() error {
	ln, err := net.Listen("tcp", n.cfg.Internal)
	if err != nil {
		return fmt.Errorf("cluster: internal port %s: %w (is it in use? choose another with --internal)", n.cfg.Internal, err)
	}
	n.ln = ln
	go func() { _ = n.server.Serve(ln) }()
	host, port, _ := splitHostPort(n.cfg.Gossip, "--gossip")
	tr, err := newFaultyTransport(host, port, n.faults)
	if err != nil {
		ln.Close()
		return err
	}
	mc, err := memberlistConfig(n.cfg, &delegate{n: n}, tr)
	if err != nil {
		ln.Close()
		return err
	}
	n.broadcasts = &memberlist.TransmitLimitedQueue{NumNodes: func() int { return max(1, n.aliveCount()) }, RetransmitMult: 3}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	ml, err := memberlist.Create(mc)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cluster: start gossip: %w", err)
	}
	n.ml = ml
	if len(n.cfg.Join) > 0 {
		// Any one reachable seed is enough; the others may still be starting.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err = ml.Join(n.cfg.Join); err == nil {
				break
			}
			if time.Now().After(deadline) {
				n.log.Warn("could not reach any --join address yet; running alone until one answers", "join", n.cfg.Join, "err", err)
				go n.keepJoining()
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	if err := n.checkPartitionCount(); err != nil {
		ml.Shutdown()
		ln.Close()
		return err
	}
	n.place() // lead what is ours before the API opens, when a majority is already here
	n.wg.Add(2)
	go n.controller()
	go n.reconnect()
	return nil
}

func (n *Node) keepJoining() {
	for n.ctx.Err() == nil {
		time.Sleep(time.Second)
		if n.aliveCount() > 1 {
			return
		}
		if _, err := n.ml.Join(n.cfg.Join); err == nil {
			return
		}
	}
}

// reconnect keeps trying the members gossip declared dead. memberlist stops talking to a dead
// node after a while, so two sides of a healed network partition, each thinking the other
// dead, would otherwise never meet again.
func (n *Node) reconnect() {
	defer n.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		var addrs []string
		for _, m := range n.members {
			if m.State == StateDead && n.roster[m.Name] {
				addrs = append(addrs, m.Addr)
			}
		}
		n.mu.Unlock()
		if len(addrs) > 0 {
			_, _ = n.ml.Join(addrs)
		}
	}
}

func (n *Node) checkPartitionCount() error {
	for _, m := range n.ml.Members() {
		var meta nodeMeta
		if m.Name == n.cfg.Name || len(m.Meta) == 0 || jsonUnmarshal(m.Meta, &meta) != nil {
			continue
		}
		if meta.Partitions != 0 && meta.Partitions != n.eng.Partitions() {
			return fmt.Errorf("cluster: the cluster has %d partitions and this data directory %d; the count is fixed when the cluster is created: start this node on an empty --data with --partitions %d",
				meta.Partitions, n.eng.Partitions(), meta.Partitions)
		}
	}
	return nil
}

func (n *Node) localMeta() nodeMeta {
	internal := n.cfg.Internal
	if n.cfg.Advertise != "" {
		_, port, _ := net.SplitHostPort(internal)
		internal = net.JoinHostPort(n.cfg.Advertise, port)
	}
	return nodeMeta{API: n.cfg.APIURL, Internal: internal, Partitions: n.eng.Partitions(), Leaving: n.leaving.Load()}
}

// Name is this node's name.
func (n *Node) Name() string { return n.cfg.Name }

// view is the membership this node acts on.
type view struct {
	alive  []string // alive members that take partitions, sorted
	quorum bool     // this node sees a majority of the roster alive
	roster int
}

func (n *Node) currentView() view {
	n.mu.Lock()
	defer n.mu.Unlock()
	var v view
	aliveInRoster := 0
	self := n.members[n.cfg.Name]
	for name, m := range n.members {
		if m.State != StateAlive {
			continue
		}
		if n.roster[name] {
			aliveInRoster++
		}
		if !m.Meta.Leaving && m.Meta.Partitions == n.eng.Partitions() {
			v.alive = append(v.alive, name)
		}
	}
	if self == nil { // before memberlist reported this node itself
		aliveInRoster++
	}
	sort.Strings(v.alive)
	v.roster = len(n.roster)
	v.quorum = aliveInRoster*2 > v.roster
	return v
}

// aliveOthers names the other members gossip sees alive.
func (n *Node) aliveOthers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var others []string
	for name, m := range n.members {
		if name != n.cfg.Name && m.State == StateAlive {
			others = append(others, name)
		}
	}
	return others
}

func (n *Node) aliveCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.members {
		if m.State == StateAlive {
			c++
		}
	}
	return c
}

func (n *Node) memberNamed(name string) (member, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.members[name]
	if !ok {
		return member{}, false
	}
	return *m, true
}

func (n *Node) alive(name string) bool {
	m, ok := n.memberNamed(name)
	return ok && m.State == StateAlive
}

// pipe returns the coalescing pipe to a node's internal path.
func (n *Node) pipe(node, path string) (*transport.Pipe, error) {
	m, ok := n.memberNamed(node)
	if !ok || m.Meta.Internal == "" {
		return nil, fmt.Errorf("cluster: node %q is not known", node)
	}
	k := m.Meta.Internal + path
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.pipes[k]
	if !ok {
		p = transport.NewPipe(n.client, m.Meta.Internal, path, 4, 4<<20)
		n.pipes[k] = p
	}
	return p, nil
}

// post sends one request to a node's internal port.
func (n *Node) post(ctx context.Context, node, path string, body []byte) ([]byte, error) {
	m, ok := n.memberNamed(node)
	if !ok || m.Meta.Internal == "" {
		return nil, fmt.Errorf("cluster: node %q is not known", node)
	}
	return n.client.Post(ctx, m.Meta.Internal, path, body)
}

func (n *Node) kickController() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Leave hands every partition this node leads to the others, then leaves the gossip. The
// others stop placing partitions here as soon as they see it leaving, and claim what it led;
// their claims reach it while it is still up, so each takes its latest copy. Leave waits until
// every partition it led has been claimed by another node (logging progress), or until timeout
// (the others then take over as after a crash).
func (n *Node) Leave(timeout time.Duration) {
	if n.ml == nil {
		return
	}
	held := map[int]uint64{}
	for pid, p := range n.parts {
		if n.eng.Leading(pid) {
			p.mu.Lock()
			held[pid] = p.promised
			p.mu.Unlock()
		}
	}
	n.log.Info("leaving: handing partitions off", "partitions", len(held))
	n.leaving.Store(true)
	_ = n.ml.UpdateNode(2 * time.Second) // returns once the others heard: they may have claimed already
	n.kickController()
	deadline := time.Now().Add(timeout)
	last := -1
	for time.Now().Before(deadline) && n.aliveCount() > 1 {
		waiting := 0
		for pid, epoch := range held {
			p := n.parts[pid]
			p.mu.Lock()
			if p.promised <= epoch {
				waiting++
			}
			p.mu.Unlock()
		}
		if waiting != last {
			n.log.Info("leaving: partitions not yet taken over", "waiting", waiting, "of", len(held))
			last = waiting
		}
		if waiting == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last > 0 {
		n.log.Warn("leaving before every partition was taken over; the others take the rest over as after a crash", "waiting", last)
	}
	if err := n.ml.Leave(3 * time.Second); err != nil {
		n.log.Warn("leave message not confirmed", "err", err)
	}
}

func (n *Node) ledCount() int {
	c := 0
	for pid := range n.parts {
		if n.eng.Leading(pid) {
			c++
		}
	}
	return c
}

// Close stops the node: no more partitions, gossip or internal requests. Call Leave first for
// a graceful exit. The engine is stopped by its owner.
func (n *Node) Close() {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.ml != nil {
		_ = n.ml.Shutdown()
	}
	n.mu.Lock()
	for _, p := range n.pipes {
		p.Close()
	}
	n.mu.Unlock()
	if n.ln != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.server.Shutdown(ctx)
		cancel()
	}
}
