package journey

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
)

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// MaxNodes bounds the size of one journey.
const MaxNodes = 500

// Compile validates def and returns the compiled graph, or every problem found. Each error's
// Field is a path into the definition ("nodes[2].branches[0].expression") and its message starts
// with the node id, so the designer can pin it on the canvas.
func Compile(journeyID string, version int, name string, def *model.Definition, r Resolver) (*Graph, apierr.List) {
	c := &compiler{def: def, r: r, g: &Graph{
		JourneyID: journeyID, Version: version, Name: name,
		Nodes: make(map[string]*Node, len(def.Nodes)),
	}}
	c.run()
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return c.g, nil
}

type compiler struct {
	def  *model.Definition
	r    Resolver
	g    *Graph
	env  *expr.Env
	errs apierr.List
}

func (c *compiler) fail(field, nodeID, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if nodeID != "" {
		msg = "node " + nodeID + ": " + msg
	}
	c.errs = append(c.errs, &apierr.Error{Status: 422, Code: apierr.JourneyInvalid, Field: field, Message: msg})
}

func (c *compiler) run() {
	def := c.def
	if len(def.Nodes) == 0 {
		c.fail("nodes", "", "a journey needs at least an entry event node and an end node")
		return
	}
	if len(def.Nodes) > MaxNodes {
		c.fail("nodes", "", "%d nodes is more than the limit of %d; split the journey", len(def.Nodes), MaxNodes)
		return
	}
	eventTypes := c.collectEvents()
	env, err := expr.NewEnv(expr.Options{KnownEventField: c.knownEventField(eventTypes), KnownDataSourceField: c.knownDataSourceField})
	if err != nil {
		c.fail("", "", "expression environment: %v", err)
		return
	}
	c.env = env

	for i := range def.Nodes {
		n := &def.Nodes[i]
		field := fmt.Sprintf("nodes[%d]", i)
		if !nodeIDPattern.MatchString(n.ID) {
			c.fail(field+".id", n.ID, "id must be 1-64 letters, digits, '_' or '-'")
			continue
		}
		if _, dup := c.g.Nodes[n.ID]; dup {
			c.fail(field+".id", n.ID, "id is used by another node; ids must be unique")
			continue
		}
		c.g.Nodes[n.ID] = &Node{Node: *n, Index: i}
	}
	if len(c.errs) > 0 {
		return
	}
	c.g.Entry = c.g.Nodes[def.Nodes[0].ID]
	if c.g.Entry.Kind != model.NodeEvent {
		c.fail("nodes[0].kind", c.g.Entry.ID, "the first node is the entry and must be an event node, not %q", c.g.Entry.Kind)
	}
	for i := range def.Nodes {
		c.node(c.g.Nodes[def.Nodes[i].ID])
	}
	c.rules()
	if len(c.errs) > 0 {
		return
	}
	c.checkReachable()
	c.checkInstantLoops()
	c.g.EventTypes = eventTypes
	for _, n := range c.g.Nodes {
		n.DS = nodeDataSources(n)
	}
}

// nodeDataSources lists the data-source groups a node's expressions read (not a condition's
// branches: each branch fetches its own, so a branch that is never reached costs nothing).
func nodeDataSources(n *Node) []expr.DSRef {
	var out []expr.DSRef
	add := func(refs []expr.DSRef) {
		for _, r := range refs {
			if !containsRef(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, p := range []*expr.Program{n.Filter, n.UntilP} {
		if p != nil {
			add(p.DataSources())
		}
	}
	if n.URLT != nil {
		add(n.URLT.DataSources())
	}
	if n.PayloadT != nil {
		add(n.PayloadT.DataSources())
	}
	if n.Msg != nil {
		add(n.Msg.DataSources())
	}
	for _, ops := range [][]Assign{n.SetOps, n.VarOps} {
		for _, a := range ops {
			add(a.Expr.DataSources())
		}
	}
	return out
}

func containsRef(refs []expr.DSRef, r expr.DSRef) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}

// collectEvents returns every event type the journey names, checking that each exists.
func (c *compiler) collectEvents() []string {
	seen := map[string]bool{}
	var out []string
	add := func(name, field, nodeID string) {
		if name == "" {
			return
		}
		if _, _, ok := c.r.EventDefinition(name); !ok {
			c.fail(field, nodeID, "event type %q is not defined; create it under /v1/event-definitions first", name)
			return
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for i, n := range c.def.Nodes {
		if n.Kind == model.NodeEvent {
			add(n.Event, fmt.Sprintf("nodes[%d].event", i), n.ID)
		}
	}
	for i, x := range c.def.Rules.ExitEvents {
		add(x.Event, fmt.Sprintf("rules.exitEvents[%d].event", i), "")
	}
	sort.Strings(out)
	return out
}

// knownEventField accepts a path under event.data when any of the journey's event types
// declares it (the event in scope depends on the path an instance took).
func (c *compiler) knownEventField(types []string) func([]string) bool {
	return func(path []string) bool {
		if len(types) == 0 {
			return true
		}
		for _, t := range types {
			if _, sch, ok := c.r.EventDefinition(t); ok && (sch == nil || sch.Declares(path)) {
				return true
			}
		}
		return false
	}
}

func (c *compiler) edge(n *Node, field, target string, required bool) *Node {
	if target == "" {
		if required {
			c.fail(field, n.ID, "%s is missing; connect this node to the next one (use an end node to finish)", lastPart(field))
		}
		return nil
	}
	t, ok := c.g.Nodes[target]
	if !ok {
		c.fail(field, n.ID, "points at node %q, which does not exist", target)
		return nil
	}
	if t == c.g.Entry {
		c.fail(field, n.ID, "points back at the entry node %q; a journey cannot re-enter itself", target)
		return nil
	}
	if t == n {
		c.fail(field, n.ID, "points at itself")
		return nil
	}
	return t
}

func lastPart(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

func (c *compiler) compileErr(field, nodeID string, err error) {
	msg := err.Error()
	if e, ok := err.(*apierr.Error); ok {
		msg = e.Message
	}
	if nodeID != "" {
		msg = "node " + nodeID + ": " + msg
	}
	c.errs = append(c.errs, &apierr.Error{Status: 422, Code: apierr.InvalidExpression, Field: field, Message: msg})
}

func (c *compiler) node(n *Node) {
	f := fmt.Sprintf("nodes[%d]", n.Index)
	switch n.Kind {
	case model.NodeEvent:
		if n.Event == "" {
			c.fail(f+".event", n.ID, "event is required: the event type this node waits for")
		}
		if n.Condition != "" {
			p, err := c.env.CompileBool(n.Condition)
			if err != nil {
				c.compileErr(f+".condition", n.ID, err)
			}
			n.Filter = p
		}
		n.NextNode = c.edge(n, f+".next", n.Next, true)
		if n == c.g.Entry {
			if n.Timeout != 0 || n.TimeoutNext != "" {
				c.fail(f+".timeout", n.ID, "the entry node cannot have a timeout")
			}
		} else {
			if n.Timeout < 0 {
				c.fail(f+".timeout", n.ID, "timeout must be positive")
			}
			if n.Timeout > 0 {
				n.TimeoutNode = c.edge(n, f+".timeoutNext", n.TimeoutNext, true)
			} else if n.TimeoutNext != "" {
				c.fail(f+".timeout", n.ID, "timeoutNext is set but timeout is not; set a timeout like \"3d\"")
			}
		}
	case model.NodeCondition:
		c.condition(n, f)
	case model.NodeWait:
		set := 0
		if n.Duration != 0 {
			set++
			if n.Duration < 0 {
				c.fail(f+".duration", n.ID, "duration must be positive")
			}
		}
		if n.Node.Until != "" {
			set++
			t, err := time.Parse(time.RFC3339, n.Node.Until)
			if err != nil {
				c.fail(f+".until", n.ID, "until must be an RFC 3339 timestamp like \"2026-12-01T09:00:00Z\"")
			}
			n.UntilAt = t.UTC()
		}
		if n.UntilExpression != "" {
			set++
			p, err := c.env.CompileTimestamp(n.UntilExpression)
			if err != nil {
				c.compileErr(f+".untilExpression", n.ID, err)
			}
			n.UntilP = p
		}
		if set != 1 {
			c.fail(f+".duration", n.ID, "a wait needs exactly one of duration, until or untilExpression (found %d)", set)
		}
		n.NextNode = c.edge(n, f+".next", n.Next, true)
	case model.NodeAction:
		c.action(n, f)
	case model.NodeUpdateProfile:
		if len(n.Node.Set) == 0 && len(n.Unset) == 0 && len(n.Node.Vars) == 0 {
			c.fail(f+".set", n.ID, "update_profile needs at least one of set, unset or vars")
		}
		n.SetOps = c.assigns(n, f+".set", n.Node.Set)
		n.VarOps = c.assigns(n, f+".vars", n.Node.Vars)
		for i, u := range n.Unset {
			if u == "" {
				c.fail(fmt.Sprintf("%s.unset[%d]", f, i), n.ID, "attribute path is empty")
			}
		}
		n.NextNode = c.edge(n, f+".next", n.Next, true)
	case model.NodeEnd:
		if n.Next != "" {
			c.fail(f+".next", n.ID, "an end node has no next")
		}
	case "":
		c.fail(f+".kind", n.ID, "kind is required: one of event, condition, wait, action, update_profile, end")
	default:
		c.fail(f+".kind", n.ID, "unknown kind %q: use one of event, condition, wait, action, update_profile, end", n.Kind)
	}
}

func (c *compiler) condition(n *Node, f string) {
	if len(n.Node.Split) > 0 {
		if len(n.Node.Branches) > 0 || n.Else != "" {
			c.fail(f+".split", n.ID, "a node is either a percentage split or branches with else, not both")
		}
		total := 0
		for i, s := range n.Node.Split {
			sf := fmt.Sprintf("%s.split[%d]", f, i)
			if s.Percent <= 0 || s.Percent > 100 {
				c.fail(sf+".percent", n.ID, "percent must be between 1 and 100")
			}
			total += s.Percent
			n.Splits = append(n.Splits, SplitArm{ID: s.ID, Upper: total, Next: c.edge(n, sf+".next", s.Next, true)})
		}
		if total != 100 {
			c.fail(f+".split", n.ID, "split percentages add up to %d; they must add up to 100", total)
		}
		return
	}
	if len(n.Node.Branches) == 0 {
		c.fail(f+".branches", n.ID, "a condition needs at least one branch (or a percentage split)")
	}
	for i, b := range n.Node.Branches {
		bf := fmt.Sprintf("%s.branches[%d]", f, i)
		br := Branch{ID: b.ID}
		kinds := 0
		for _, set := range []bool{b.Expression != "", b.TimeWindow != nil, b.Plugin != nil} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds > 1:
			c.fail(bf, n.ID, "a branch has one of expression, timeWindow or plugin")
		case b.Plugin != nil:
			br.Plugin = c.pluginUse(b.Plugin, bf+".plugin", n.ID, "condition")
		case b.Expression != "":
			p, err := c.env.CompileBool(b.Expression)
			if err != nil {
				c.compileErr(bf+".expression", n.ID, err)
			}
			br.Expr = p
		case b.TimeWindow != nil:
			w, sub, err := compileWindow(b.TimeWindow)
			if err != nil {
				c.fail(bf+".timeWindow."+sub, n.ID, "%v", err)
			}
			br.Window = w
		default:
			c.fail(bf+".expression", n.ID, "a branch needs an expression, a timeWindow or a plugin")
		}
		br.Next = c.edge(n, bf+".next", b.Next, true)
		n.Conds = append(n.Conds, br)
	}
	if n.Else == "" {
		c.fail(f+".else", n.ID, "a condition needs an else path, taken when no branch matches")
	} else {
		n.ElseNode = c.edge(n, f+".else", n.Else, true)
	}
}

// pluginUse resolves a plugin reference: the version must exist (an empty one means the latest,
// and publishing pins it) and implement kind.
func (c *compiler) pluginUse(ref *model.PluginRef, f, nodeID, kind string) *PluginUse {
	if ref.Name == "" {
		c.fail(f+".name", nodeID, "plugin.name is required: the name of an uploaded plugin")
		return nil
	}
	v, ok := c.r.Plugin(ref.Name, ref.Version)
	if !ok {
		if ref.Version != "" {
			c.fail(f+".version", nodeID, "plugin %s has no version %q; upload it or pick an uploaded version", ref.Name, ref.Version)
		} else {
			c.fail(f+".name", nodeID, "no plugin named %q is uploaded; upload it with wayline plugin push", ref.Name)
		}
		return nil
	}
	if !contains(v.Kinds, kind) {
		c.fail(f+".name", nodeID, "plugin %s@%s is a %s plugin; this needs a %s plugin", ref.Name, v.Version, strings.Join(v.Kinds, "/"), kind)
		return nil
	}
	cfg := []byte(ref.Config)
	if len(cfg) == 0 || string(cfg) == "null" {
		cfg = []byte("{}")
	} else if cfg[0] != '{' {
		c.fail(f+".config", nodeID, "plugin.config must be a JSON object")
		return nil
	}
	c.checkPluginConfig(v, cfg, f, nodeID, ref.Name)
	return &PluginUse{Name: ref.Name, Version: v.Version, Config: cfg}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *compiler) knownDataSourceField(path []string) bool {
	ds, ok := c.r.DataSource(path[0])
	if !ok {
		return false
	}
	return datasource.KnownField(map[string]*model.DataSource{ds.ID: ds}, path)
}

func (c *compiler) action(n *Node, f string) {
	a, ok := c.r.Action(n.Action)
	switch {
	case n.Action == "":
		c.fail(f+".action", n.ID, "action is required: the id of a custom action")
	case !ok:
		c.errs = append(c.errs, &apierr.Error{Status: 422, Code: apierr.UnknownAction, Field: f + ".action",
			Message: fmt.Sprintf("node %s: action %q does not exist; create it under /v1/actions first", n.ID, n.Action)})
	default:
		if model.IsChannel(a.Kind) {
			m, err := CompileMessage(c.env, a)
			if err != nil {
				c.compileErr(f+".action", n.ID, err)
			}
			n.Msg = m
		} else if a.Kind == model.ActionPlugin {
			// The plugin is pinned by the action; check it still exists and acts.
			if a.Plugin == nil || a.Plugin.Version == "" {
				c.fail(f+".action", n.ID, "plugin action %q names no pinned plugin version", a.ID)
			} else {
				c.pluginUse(a.Plugin, f+".action", n.ID, "action")
			}
		} else {
			u, err := c.env.CompileStringTemplate(a.URL)
			if err != nil {
				c.compileErr(f+".action", n.ID, fmt.Errorf("the url of action %q: %v", a.ID, err))
			}
			n.URLT = u
		}
		payload := a.Payload
		field := f + ".action"
		if len(n.Node.Payload) > 0 {
			payload, field = n.Node.Payload, f+".payload"
		}
		if len(payload) > 0 && string(payload) != "null" {
			t, err := c.env.CompileJSONTemplate(payload)
			if err != nil {
				c.compileErr(field, n.ID, err)
			}
			n.PayloadT = t
		}
	}
	n.NextNode = c.edge(n, f+".next", n.Next, true)
	n.ErrorNode = c.edge(n, f+".errorNext", n.ErrorNext, false)
}

func (c *compiler) assigns(n *Node, f string, m map[string]string) []Assign {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Assign
	for _, k := range keys {
		path := strings.Split(k, ".")
		for _, p := range path {
			if p == "" {
				c.fail(f+"."+k, n.ID, "%q is not a valid attribute path (dot-separated names)", k)
			}
		}
		p, err := c.env.CompileValue(m[k])
		if err != nil {
			c.compileErr(f+"."+k, n.ID, err)
		}
		out = append(out, Assign{Path: path, Expr: p})
	}
	return out
}

func (c *compiler) rules() {
	r := c.def.Rules
	switch r.Reentrance.Mode {
	case "", model.ReenterNever:
		c.g.Reentrance = model.Reentrance{Mode: model.ReenterNever}
		if r.Reentrance.Wait != 0 {
			c.fail("rules.reentrance.wait", "", "wait only applies when mode is \"after\"")
		}
	case model.ReenterAfter:
		if r.Reentrance.Wait <= 0 {
			c.fail("rules.reentrance.wait", "", "mode \"after\" needs a positive wait, like \"7d\"")
		}
		c.g.Reentrance = r.Reentrance
	default:
		c.fail("rules.reentrance.mode", "", "unknown mode %q: use \"never\" or \"after\"", r.Reentrance.Mode)
	}
	c.g.Timeout = r.Timeout.D()
	if c.g.Timeout < 0 {
		c.fail("rules.timeout", "", "timeout must be positive")
	}
	if c.g.Timeout == 0 {
		c.g.Timeout = model.DefaultJourneyTimeout
	}
	for i, x := range r.ExitEvents {
		ex := ExitEvent{Event: x.Event}
		if x.Event == "" {
			c.fail(fmt.Sprintf("rules.exitEvents[%d].event", i), "", "event is required")
		}
		if x.Condition != "" {
			p, err := c.env.CompileBool(x.Condition)
			if err != nil {
				c.compileErr(fmt.Sprintf("rules.exitEvents[%d].condition", i), "", err)
			}
			ex.Condition = p
		}
		c.g.ExitEvents = append(c.g.ExitEvents, ex)
	}
}

// successors lists the nodes a node can move to.
func successors(n *Node) []*Node {
	out := []*Node{n.NextNode, n.TimeoutNode, n.ErrorNode, n.ElseNode}
	for _, b := range n.Conds {
		out = append(out, b.Next)
	}
	for _, s := range n.Splits {
		out = append(out, s.Next)
	}
	return out
}

func (c *compiler) checkReachable() {
	seen := map[*Node]bool{}
	stack := []*Node{c.g.Entry}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, successors(n)...)
	}
	for i, n := range c.def.Nodes {
		if !seen[c.g.Nodes[n.ID]] {
			c.fail(fmt.Sprintf("nodes[%d]", i), n.ID, "is unreachable from the entry node; connect it or delete it")
		}
	}
}

// checkInstantLoops rejects cycles that pass through no blocking node (wait or event): an
// instance on such a cycle would spin forever inside one step.
func (c *compiler) checkInstantLoops() {
	const (
		white = iota
		grey
		black
	)
	color := map[*Node]int{}
	var visit func(n *Node) bool
	visit = func(n *Node) bool {
		color[n] = grey
		for _, s := range successors(n) {
			if s == nil || s.Blocking() {
				continue
			}
			switch color[s] {
			case grey:
				c.fail(fmt.Sprintf("nodes[%d]", s.Index), s.ID, "is on a loop with no wait or event node; an instance would loop forever. Add a wait to the loop")
				return true
			case white:
				if visit(s) {
					return true
				}
			}
		}
		color[n] = black
		return false
	}
	for _, mn := range c.def.Nodes {
		n := c.g.Nodes[mn.ID]
		if color[n] == white {
			if visit(n) {
				return
			}
		}
	}
}

// Pin returns a copy of def in which every plugin reference without a version names the latest
// uploaded version, so that a published version keeps calling the plugin it was published
// with. def itself is not changed.
func Pin(def *model.Definition, r Resolver) *model.Definition {
	out := *def
	out.Nodes = append([]model.Node(nil), def.Nodes...)
	for i := range out.Nodes {
		n := &out.Nodes[i]
		var copied bool
		for j, b := range n.Branches {
			if b.Plugin == nil || b.Plugin.Version != "" {
				continue
			}
			v, ok := r.Plugin(b.Plugin.Name, "")
			if !ok {
				continue
			}
			if !copied {
				n.Branches = append([]model.Branch(nil), n.Branches...)
				copied = true
			}
			ref := *b.Plugin
			ref.Version = v.Version
			n.Branches[j].Plugin = &ref
		}
	}
	return &out
}
