package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/wayline/wayline/cluster/transport"
	"github.com/wayline/wayline/runtime/store"
)

// nodeMeta is what a node tells the others about itself through gossip (memberlist node meta,
// at most 512 bytes).
type nodeMeta struct {
	API        string `json:"api"`      // public API base URL
	Internal   string `json:"internal"` // HOST:PORT of the internal port
	Partitions int    `json:"partitions"`
	Leaving    bool   `json:"leaving,omitempty"` // handing its partitions off before it exits
}

// member is one node as this node sees it.
type member struct {
	Name  string
	Addr  string // gossip HOST:PORT
	Meta  nodeMeta
	State string // alive, suspect, dead, left
}

// State names.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

func memberlistConfig(c Config, d *delegate, tr memberlist.Transport) (*memberlist.Config, error) {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.Name
	host, port, err := splitHostPort(c.Gossip, "--gossip")
	if err != nil {
		return nil, err
	}
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertiseAddr, mc.AdvertisePort = c.Advertise, port
	if mc.AdvertiseAddr == "" {
		mc.AdvertiseAddr = host
	}
	key := sha256.Sum256([]byte("wayline gossip v1\x00" + c.Secret))
	mc.SecretKey = key[:]
	mc.Delegate, mc.Events = d, d
	mc.Transport = tr
	// Failure detection tuned for a LAN: a node is probed every 500 ms; a probe that gets no
	// answer in 250 ms (directly or through 3 others) makes it suspect, and a suspect that does
	// not refute within the suspicion timeout (3 × 500 ms × log10(n), at least 1.5 s, shrinking
	// as others confirm) is declared dead. docs/cluster.md has the measured figure.
	mc.ProbeInterval = 500 * time.Millisecond
	mc.ProbeTimeout = 250 * time.Millisecond
	mc.SuspicionMult = 3
	mc.SuspicionMaxTimeoutMult = 4
	mc.GossipInterval = 100 * time.Millisecond
	mc.GossipToTheDeadTime = 10 * time.Second
	mc.PushPullInterval = 5 * time.Second
	mc.TCPTimeout = 2 * time.Second
	mc.DeadNodeReclaimTime = time.Second // a node restarted under its name (new address or not) is taken back at once
	mc.Logger = log.New(&memberlistLog{log: c.Log}, "", 0)
	return mc, nil
}

func splitHostPort(hp, flag string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("cluster: %s %q: want HOST:PORT, like 127.0.0.1:7946", flag, hp)
	}
	var port int
	if _, err := fmt.Sscanf(p, "%d", &port); err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("cluster: %s %q: the port must be a number from 1 to 65535", flag, hp)
	}
	return host, port, nil
}

// memberlistLog passes memberlist's warnings and errors to slog and drops its debug chatter.
type memberlistLog struct{ log *slog.Logger }

func (l *memberlistLog) Write(p []byte) (int, error) {
	s := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(s, "[ERR]"):
		l.log.Error("gossip: " + s)
	case strings.Contains(s, "[WARN]"):
		l.log.Debug("gossip: " + s) // failed probes of dead nodes; the state changes are logged by us
	}
	return len(p), nil
}

// delegate receives memberlist's callbacks.
type delegate struct{ n *Node }

func (d *delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(d.n.localMeta())
	if len(b) > limit {
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg(b []byte) {
	if s := d.n.metaSync(); s != nil {
		s.NotifyMsg(append([]byte(nil), b...))
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.n.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState is the metadata digest for push/pull, prefixed with this node's name so that the
// receiver knows whom to fetch newer records from.
func (d *delegate) LocalState(join bool) []byte {
	s := d.n.metaSync()
	if s == nil {
		return nil
	}
	var b bytes.Buffer
	name := d.n.cfg.Name
	b.WriteByte(byte(len(name)))
	b.WriteString(name)
	b.Write(s.LocalState())
	return b.Bytes()
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	s := d.n.metaSync()
	if s == nil || len(buf) < 1 || len(buf) < 1+int(buf[0]) {
		return
	}
	name := string(buf[1 : 1+int(buf[0])])
	s.MergeRemoteState(name, append([]byte(nil), buf[1+int(buf[0]):]...))
}

func (d *delegate) NotifyJoin(n *memberlist.Node)   { d.n.observe(n, StateAlive) }
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.n.observe(n, StateAlive) }

// NotifyLeave: memberlist v0.7 hands over a Node whose State field is not updated, so a
// graceful leave is recognised by the leaving flag the node gossiped before it left.
func (d *delegate) NotifyLeave(n *memberlist.Node) { d.n.observe(n, StateDead) }

// observe records a membership change and wakes the controller.
func (n *Node) observe(m *memberlist.Node, state string) {
	var meta nodeMeta
	if len(m.Meta) > 0 {
		if err := json.Unmarshal(m.Meta, &meta); err != nil {
			n.log.Warn("gossip: a node sent unreadable metadata; ignoring it", "node", m.Name, "err", err)
			return
		}
	}
	if state == StateDead && meta.Leaving {
		state = StateLeft
	}
	n.mu.Lock()
	old := n.members[m.Name]
	n.members[m.Name] = &member{Name: m.Name, Addr: m.Address(), Meta: meta, State: state}
	rosterChanged := false
	switch {
	case state == StateLeft && n.roster[m.Name]:
		delete(n.roster, m.Name)
		rosterChanged = true
	case state == StateAlive && !n.roster[m.Name] && meta.Partitions == n.eng.Partitions():
		n.roster[m.Name] = true
		rosterChanged = true
	}
	n.mu.Unlock()
	if old == nil || old.State != state || old.Meta != meta {
		n.log.Info("cluster member", "node", m.Name, "state", state, "leaving", meta.Leaving, "api", meta.API)
	}
	if meta.Partitions != 0 && meta.Partitions != n.eng.Partitions() {
		n.log.Error("a node with another partition count tried to join; it gets no partitions", "node", m.Name,
			"its", meta.Partitions, "ours", n.eng.Partitions())
	}
	if rosterChanged {
		n.saveRoster()
	}
	n.kickController()
}

func (n *Node) loadRoster() error {
	b, ok, err := store.Get(n.db, store.NodeKey(store.NodeRoster))
	if err != nil || !ok {
		return err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("cluster: stored roster is unreadable: %w", err)
	}
	for _, name := range names {
		n.roster[name] = true
	}
	return nil
}

func (n *Node) saveRoster() {
	n.mu.Lock()
	names := make([]string, 0, len(n.roster))
	for name := range n.roster {
		names = append(names, name)
	}
	n.mu.Unlock()
	sort.Strings(names)
	b, _ := json.Marshal(names)
	if err := n.db.Set(store.NodeKey(store.NodeRoster), b, nil); err != nil {
		n.log.Error("saving the roster", "err", err)
	}
}

// faultyTransport wraps memberlist's network transport so that Faults can cut the gossip this
// node sends to chosen IPs (see transport.Faults).
type faultyTransport struct {
	*memberlist.NetTransport
	faults *transport.Faults
}

func newFaultyTransport(host string, port int, faults *transport.Faults) (*faultyTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{host}, BindPort: port,
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip on %s:%d: %w (is the port in use? choose another with --gossip)", host, port, err)
	}
	return &faultyTransport{NetTransport: nt, faults: faults}, nil
}

func (t *faultyTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.faults.Blocked(addr) {
		return time.Now(), nil // lost on the wire
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *faultyTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.faults.Blocked(addr) {
		return nil, transport.ErrBlocked
	}
	return t.NetTransport.DialTimeout(addr, timeout)
}

// WriteToAddress and DialAddressTimeout are the node-aware forms memberlist prefers when the
// transport has them (NetTransport does); they must be cut as well.
func (t *faultyTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

func (t *faultyTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}
