package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"

	"github.com/wayline/wayline/runtime/engine"
)

// Internal paths (POST, signed).
const (
	pathSubmit    = "/internal/v1/submit"    // forwarded events (framed items)
	pathReplicate = "/internal/v1/replicate" // replicated batches (framed items)
	pathClaim     = "/internal/v1/claim"     // leadership claims
	pathSnapshot  = "/internal/v1/snapshot"  // a copy of a partition
	pathInstall   = "/internal/v1/install"   // a leader's snapshot for a follower
	pathStatus    = "/internal/v1/status"    // what this node leads
	pathMeta      = "/internal/v1/meta"      // metadata records by key
	pathFaults    = "/internal/v1/faults"    // fault injection (tests)
	pathDigest    = "/internal/v1/digest"    // per-partition content hashes (tests, operators)
	pathProfile   = "/internal/v1/profile"   // a profile merge (import) for the partition's leader
	pathReport    = "/internal/v1/report"    // counters and dead letters of the partitions a node leads
)

func (n *Node) routes() {
	s := n.server
	s.HandleItems(pathSubmit, n.handleSubmit)
	s.HandleItems(pathReplicate, n.handleReplicate)
	s.Handle(pathClaim, n.handleClaim)
	s.Handle(pathSnapshot, n.handleSnapshot)
	s.Handle(pathInstall, n.handleInstall)
	s.Handle(pathStatus, n.handleStatus)
	s.Handle(pathMeta, n.handleMeta)
	s.Handle(pathDigest, n.handleDigest)
	s.Handle(pathReport, n.handleReport)
	s.Handle(pathProfile, n.handleProfile)
	if n.cfg.FaultInjection {
		s.Handle(pathFaults, n.handleFaults)
	}
}

// faultsReq cuts this node off from IPs (both directions, gossip and internal port).
type faultsReq struct {
	Block []string `json:"block"`
}

func (n *Node) handleFaults(from string, body []byte) ([]byte, error) {
	var req faultsReq
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("faults: %v", err)
	}
	for _, ip := range req.Block {
		if net.ParseIP(ip) == nil {
			return nil, badRequest("faults: %q is not an IP", ip)
		}
	}
	n.faults.Block(req.Block)
	n.log.Warn("fault injection: traffic with these addresses is cut", "block", req.Block)
	return []byte("{}"), nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// partitionDigest is a partition's position and a hash of everything in it: replicas at the
// same position must have the same hash (the partition tests compare them across nodes).
type partitionDigest struct {
	Pid  int             `json:"pid"`
	Pos  engine.Position `json:"pos"`
	Hash string          `json:"hash"`
	Keys int             `json:"keys"`
}

func (n *Node) handleDigest(from string, body []byte) ([]byte, error) {
	out := make([]partitionDigest, 0, len(n.parts))
	for pid := range n.parts {
		snap, err := snapshot(n.db, pid)
		if err != nil {
			return nil, err
		}
		d := partitionDigest{Pid: pid, Pos: engine.DecodePosition(snap[:16])}
		h := sha256.New()
		_, err = decodeSnapshot(snap, pid, func(k, v []byte) error {
			d.Keys++
			h.Write(k)
			h.Write(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		d.Hash = hex.EncodeToString(h.Sum(nil))
		out = append(out, d)
	}
	return json.Marshal(out)
}
