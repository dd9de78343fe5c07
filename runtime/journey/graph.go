// Package journey validates journey definitions and compiles them into immutable graphs with
// pre-compiled CEL programs and templates. Validation runs when a draft is validated or
// published; the engine only walks compiled graphs on the event path.
package journey

import (
	"time"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// Resolver looks up what a journey refers to. Implementations must be safe for concurrent use.
type Resolver interface {
	EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool)
	Action(id string) (*model.Action, bool)
	// Plugin finds an uploaded plugin version; an empty version means the latest.
	Plugin(name, version string) (model.PluginVersion, bool)
	// DataSource finds a data source definition.
	DataSource(id string) (*model.DataSource, bool)
}

// Graph is a compiled, immutable journey version.
type Graph struct {
	JourneyID  string
	Version    int
	Name       string
	Entry      *Node
	Nodes      map[string]*Node
	ExitEvents []ExitEvent
	Reentrance model.Reentrance
	Timeout    time.Duration
	// EventTypes lists every event type the graph listens to (entry, waits, exits).
	EventTypes []string
}

// ExitEvent is a compiled exit rule.
type ExitEvent struct {
	Event     string
	Condition *expr.Program // nil: always
}

// Node is a compiled node. Next pointers are resolved; the model fields stay available.
type Node struct {
	model.Node
	Index int // position in the definition, for error fields

	NextNode    *Node
	TimeoutNode *Node // event waits
	ErrorNode   *Node // actions
	ElseNode    *Node // conditions

	Filter  *expr.Program // event: optional condition on the event
	Conds   []Branch      // condition branches, in order
	Splits  []SplitArm    // condition: cumulative upper bounds
	UntilAt time.Time     // wait
	UntilP  *expr.Program // wait

	URLT     *expr.StringTemplate // action
	PayloadT *expr.Template       // action; nil: no body
	Msg      *Message             // channel action (email, sms, push)
	SetOps   []Assign             // update_profile
	VarOps   []Assign

	// DS lists the data-source groups the node's expressions read (conditions: per branch
	// instead), fetched before they are evaluated.
	DS []expr.DSRef
}

// Branch is a compiled condition branch.
type Branch struct {
	ID     string
	Expr   *expr.Program
	Window *Window
	Plugin *PluginUse
	Next   *Node
}

// PluginUse is a pinned plugin call with its config (the installation's config is merged
// under it when the call is made).
type PluginUse struct {
	Name, Version string
	Config        []byte // a JSON object
}

// SplitArm is a percentage arm: a profile whose bucket (0-99) is below Upper and at or above the
// previous arm's Upper takes Next.
type SplitArm struct {
	ID    string
	Upper int
	Next  *Node
}

// Assign is one update_profile assignment.
type Assign struct {
	Path []string
	Expr *expr.Program
}

// Blocking reports whether an instance stops at this node until something happens.
func (n *Node) Blocking() bool {
	return n.Kind == model.NodeWait || n.Kind == model.NodeEvent
}

// Message is a channel action's compiled message and send rules.
type Message struct {
	Kind                             string // model.ActionEmail, ActionSMS or ActionPush
	Subject, HTML, Text, Title, Body *expr.MessageTemplate
	Data                             map[string]*expr.MessageTemplate
	Quiet                            *Window // nil: no quiet hours
	QuietSkip                        bool    // skip (error path) rather than hold
}

// DataSources lists the data-source groups the message reads.
func (m *Message) DataSources() []expr.DSRef {
	var out []expr.DSRef
	add := func(t *expr.MessageTemplate) {
		if t == nil {
			return
		}
		for _, r := range t.DataSources() {
			if !containsRef(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, t := range []*expr.MessageTemplate{m.Subject, m.HTML, m.Text, m.Title, m.Body} {
		add(t)
	}
	for _, t := range m.Data {
		add(t)
	}
	return out
}
