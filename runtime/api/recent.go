package api

import (
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
)

// recentEvents is the event debugger: per event type, rings of the last accepted and rejected
// events. It is in memory on purpose — it is a debugging view, not a record.
type recentEvents struct {
	mu    sync.Mutex
	size  int
	types map[string]*recentRings
}

type recentRings struct {
	accepted []recentEvent
	rejected []recentEvent
}

type recentEvent struct {
	At       time.Time       `json:"at"`
	ID       string          `json:"id,omitempty"`
	Type     string          `json:"type"`
	Status   string          `json:"status"`
	Identity string          `json:"identity,omitempty"`
	Data     map[string]any  `json:"data,omitempty"`
	Error    *apierr.Error   `json:"error,omitempty"`
	Event    *model.Envelope `json:"-"`
}

// maxRecentTypes bounds how many distinct (possibly bogus) type names are tracked.
const maxRecentTypes = 1000

func newRecentEvents(size int) *recentEvents {
	return &recentEvents{size: size, types: map[string]*recentRings{}}
}

func (r *recentEvents) rings(typ string) *recentRings {
	rr := r.types[typ]
	if rr == nil {
		if len(r.types) >= maxRecentTypes {
			typ = "(other)"
			if rr = r.types[typ]; rr != nil {
				return rr
			}
		}
		rr = &recentRings{}
		r.types[typ] = rr
	}
	return rr
}

func push(ring []recentEvent, e recentEvent, size int) []recentEvent {
	if len(ring) >= size {
		copy(ring, ring[1:])
		ring = ring[:size-1]
	}
	return append(ring, e)
}

func (r *recentEvents) accept(env *model.Envelope, status string) {
	r.mu.Lock()
	rr := r.rings(env.Type)
	rr.accepted = push(rr.accepted, recentEvent{At: env.ReceivedAt, ID: env.ID, Type: env.Type, Status: status, Identity: env.Identity, Data: env.Data}, r.size)
	r.mu.Unlock()
}

func (r *recentEvents) reject(typ, id string, at time.Time, err *apierr.Error) {
	if len(typ) > 128 {
		typ = typ[:128]
	}
	r.mu.Lock()
	rr := r.rings(typ)
	rr.rejected = push(rr.rejected, recentEvent{At: at, ID: id, Type: typ, Status: statusRejected, Error: err}, r.size)
	r.mu.Unlock()
}

// GET /v1/events/recent?type=NAME
func (s *Server) recentEvents(ctx *fasthttp.RequestCtx) {
	only := string(ctx.QueryArgs().Peek("type"))
	s.recent.mu.Lock()
	defer s.recent.mu.Unlock()
	items := []map[string]any{}
	for typ, rr := range s.recent.types {
		if only != "" && typ != only {
			continue
		}
		acc := make([]recentEvent, len(rr.accepted))
		rej := make([]recentEvent, len(rr.rejected))
		for i := range rr.accepted {
			acc[len(acc)-1-i] = rr.accepted[i]
		}
		for i := range rr.rejected {
			rej[len(rej)-1-i] = rr.rejected[i]
		}
		items = append(items, map[string]any{"type": typ, "accepted": acc, "rejected": rej})
	}
	writeJSON(ctx, 200, map[string]any{"items": items})
}
