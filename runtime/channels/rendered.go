package channels

import (
	"context"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// Rendered is a message ready to send, as the outbox stores it (JSON). WARNING: ONLY APPEND
// fields; entries written by an older node must still send.
type Rendered struct {
	Kind    string            `json:"kind"` // model.ActionEmail, ActionSMS, ActionPush
	To      []string          `json:"to"`   // email address, phone number, or push tokens
	Subject string            `json:"subject,omitempty"`
	HTML    string            `json:"html,omitempty"`
	Text    string            `json:"text,omitempty"`
	Title   string            `json:"title,omitempty"`
	Body    string            `json:"body,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}

// Ref ties a message to the journey instance that sent it: tracking links and delivery
// callbacks carry it (signed) back. WARNING: ONLY APPEND; short names keep links short.
type Ref struct {
	Profile  string `json:"p"`
	Journey  string `json:"j,omitempty"`
	Version  int    `json:"v,omitempty"`
	Node     string `json:"n,omitempty"`
	Instance string `json:"i,omitempty"`
	Action   string `json:"a"`
	Kind     string `json:"k"` // the channel
	// Key is the send's idempotency key, so a delivery report names one send.
	Key string `json:"x,omitempty"`
}

// Result is one attempt's outcome, as the dispatcher classifies it: OK, Retryable (network
// errors, timeouts, 429, 5xx, SMTP 4xx) or final.
type Result struct {
	OK        bool
	Retryable bool
	Status    int // HTTP status, or SMTP reply code when known
	Err       string
	// ProviderID is the provider's id of the message (Twilio's sid, FCM's name), when given.
	ProviderID string
	RetryAfter time.Duration
}

// Provider sends one kind of message. Send is called from many goroutines at once, must
// honour ctx, and must not log secrets.
type Provider interface {
	Send(ctx context.Context, a *model.Action, m *Rendered, ref Ref) Result
	// Close releases pooled connections.
	Close()
}
