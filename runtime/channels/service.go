package channels

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wayline/wayline/runtime/model"
)

// Service sends rendered messages through the provider of their kind.
type Service struct {
	// Providers by action kind (model.ActionEmail, ActionSMS, ActionPush).
	Providers map[string]Provider
}

// Send decodes the outbox body and sends it.
func (s *Service) Send(ctx context.Context, a *model.Action, body []byte, ref Ref) Result {
	var m Rendered
	if err := json.Unmarshal(body, &m); err != nil {
		return Result{Err: "the queued message cannot be read: " + err.Error()}
	}
	p := s.Providers[a.Kind]
	if p == nil {
		return Result{Err: fmt.Sprintf("the %s channel is not enabled on this node", a.Kind)}
	}
	return p.Send(ctx, a, &m, ref)
}

// Close closes every provider's connections.
func (s *Service) Close() {
	for _, p := range s.Providers {
		p.Close()
	}
}
