package api

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/model"
)

// EventRouter commits events: the engine on a single node; in a cluster, the router that sends
// each event to its partition's leader.
type EventRouter interface {
	Submit(ctx context.Context, events []*model.Envelope, qualified []bool) []engine.Outcome
}

// ClusterView is what the API needs of the cluster: its state for GET /v1/cluster, and where a
// profile's reads and writes go.
type ClusterView interface {
	// StatusJSON is the cluster state as JSON (see cluster.Status).
	StatusJSON(ctx context.Context) any
	// OwnerAPI is the API base URL of the node leading the profile's partition, and whether
	// that node is this one ("" when no leader is known right now).
	OwnerAPI(profileID string) (url string, local bool)
	// PartitionOwnerAPI is OwnerAPI for a partition number.
	PartitionOwnerAPI(pid int) (url string, local bool)
}

// ProfileWriter merges attributes into profiles (profile import): the engine on a single node;
// in a cluster, the router that sends each profile to its partition's leader.
type ProfileWriter interface {
	UpsertProfile(ctx context.Context, id string, attrs map[string]any, test *bool) (*model.Profile, error)
}

// Reports reads report counters and dead letters: the engine's on a single node; in a cluster,
// the sum over every node of the partitions each leads.
type Reports interface {
	Counters(scopePrefix string) (map[string]map[string]int64, error)
	Hourly(journeyID string) ([]engine.HourlyPoint, error)
	DeadLetters(limit int) ([]engine.DeadLetter, error)
}

// headerForwarded marks a request one node passed to the profile's owner, so that a stale view
// on the owner cannot bounce it back.
const headerForwarded = "X-Wayline-Forwarded"

var proxyClient = &fasthttp.Client{NoDefaultUserAgentHeader: true, MaxConnsPerHost: 256,
	ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxIdleConnDuration: time.Minute}

// toOwner passes a profile request to the node that leads the profile's partition, unless that
// is this node. It reports whether it answered the request.
func (s *Server) toOwner(ctx *fasthttp.RequestCtx, profileID string) bool {
	if s.d.Cluster == nil {
		return false
	}
	url, local := s.d.Cluster.OwnerAPI(profileID)
	return s.proxyTo(ctx, url, local)
}

// toPartitionOwner is toOwner for a request about one partition (a dead letter).
func (s *Server) toPartitionOwner(ctx *fasthttp.RequestCtx, pid int) bool {
	if s.d.Cluster == nil {
		return false
	}
	url, local := s.d.Cluster.PartitionOwnerAPI(pid)
	return s.proxyTo(ctx, url, local)
}

func (s *Server) proxyTo(ctx *fasthttp.RequestCtx, url string, local bool) bool {
	if local {
		return false
	}
	if url == "" || len(ctx.Request.Header.Peek(headerForwarded)) > 0 {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "the partition is changing leader; try again in a moment"))
		return true
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	ctx.Request.CopyTo(req)
	req.SetRequestURI(url + string(ctx.Request.URI().RequestURI()))
	req.Header.Set(headerForwarded, "1")
	req.SetBody(ctx.Request.Body())
	if err := proxyClient.DoTimeout(req, &ctx.Response, 30*time.Second); err != nil {
		ctx.Response.Reset()
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "the node that leads the partition did not answer (%v); try again", err))
	}
	return true
}

// GET /v1/cluster: members, partition leaders and followers, epochs, lag. A single node
// answers with itself as the only member.
func (s *Server) clusterStatus(ctx *fasthttp.RequestCtx) {
	if s.d.Cluster == nil {
		writeJSON(ctx, 200, map[string]any{
			"node": "", "quorum": true, "partitionCount": s.d.Engine.Partitions(), "replicationFactor": 1,
			"members": []map[string]any{{"name": "", "apiUrl": s.publicBase(ctx), "state": "alive", "leads": s.d.Engine.Partitions()}},
		})
		return
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	writeJSON(ctx, 200, s.d.Cluster.StatusJSON(c))
}

func (s *Server) publicBase(ctx *fasthttp.RequestCtx) string {
	return "http://" + string(ctx.Host())
}
