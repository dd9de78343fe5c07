package journey

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// FuzzCompile decodes the fuzzer's bytes as a journey definition, as the API would, and
// compiles it: Compile must never panic or hang, and its answer must be either a consistent
// graph or a list of well-formed errors.
func FuzzCompile(f *testing.F) {
	r := newTestResolver(f)
	seeds := []string{
		`{"nodes":[{"id":"start","kind":"event","event":"signup","next":"end"},{"id":"end","kind":"end"}]}`,
		`{"nodes":[
			{"id":"start","kind":"event","event":"signup","condition":"event.data.age > 18","next":"is-pro"},
			{"id":"is-pro","kind":"condition","branches":[{"id":"pro","expression":"event.data.plan == 'pro'","next":"send"},
				{"id":"w","timeWindow":{"days":["mon"],"start":"22:00","end":"02:00","defaultTimeZone":"Europe/Paris"},"next":"pause"}],"else":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":50,"next":"pause"},{"id":"b","percent":50,"next":"buy"}]},
			{"id":"send","kind":"action","action":"hello","payload":{"x":"{{ event.data.email }}","n":[1,{"y":"{{ 1 + 2 }}"}]},"next":"end","errorNext":"mark"},
			{"id":"pause","kind":"wait","duration":"2d","next":"until"},
			{"id":"until","kind":"wait","untilExpression":"now + duration('1h')","next":"at"},
			{"id":"at","kind":"wait","until":"2030-01-01T00:00:00Z","next":"end"},
			{"id":"buy","kind":"event","event":"purchase","timeout":"3d","timeoutNext":"mark","next":"end"},
			{"id":"mark","kind":"update_profile","set":{"a.b":"1"},"unset":["c"],"vars":{"v":"'x'"},"next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"reentrance":{"mode":"after","wait":"7d"},"timeout":3600,"exitEvents":[{"event":"quit","condition":"true"}]}}`,
		`{"nodes":[{"id":"start","kind":"event","event":"signup","next":"c"},
			{"id":"c","kind":"condition","branches":[{"id":"x","expression":"true","next":"u"}],"else":"end"},
			{"id":"u","kind":"update_profile","set":{"n":"1"},"next":"c"},{"id":"end","kind":"end"}]}`,
		`{"nodes":[{"id":"start","kind":"event","event":"nosuch","next":"x"},{"id":"x","kind":"action","action":"nope"}],"rules":{"reentrance":{"mode":"??"}}}`,
		`{"nodes":[{"id":"a","kind":"wait"},{"id":"a","kind":"end"}]}`,
		`{"nodes":[{"id":"start","kind":"event","event":"signup","next":"start"}]}`,
		`{"nodes":[]}`,
		`{}`,
		`null`,
		`[]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d model.Definition
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		type result struct {
			g    *Graph
			errs []string
			bad  string
		}
		done := make(chan result, 1)
		go func() {
			g, errs := Compile("fuzz", 1, "Fuzz", &d, r)
			res := result{g: g}
			switch {
			case g == nil && len(errs) == 0:
				res.bad = "no graph and no errors"
			case g != nil && len(errs) > 0:
				res.bad = "a graph along with errors"
			}
			for _, e := range errs {
				if e == nil || e.Code == "" || e.Message == "" || e.Status < 400 || e.Status > 499 {
					res.bad = "malformed error"
				}
				if e != nil {
					res.errs = append(res.errs, e.Error())
				}
			}
			if g != nil {
				res.bad += checkGraph(g, &d)
			}
			done <- res
		}()
		select {
		case res := <-done:
			if res.bad != "" {
				t.Fatalf("%s\ninput: %s\nerrors: %s", res.bad, b, strings.Join(res.errs, "\n  "))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Compile did not return within 10s\ninput: %s", b)
		}
	})
}

// checkGraph returns what is inconsistent in a compiled graph ("" when nothing).
func checkGraph(g *Graph, d *model.Definition) string {
	if g.Entry == nil || g.Entry.Kind != model.NodeEvent {
		return "the graph's entry is missing or not an event node"
	}
	if len(g.Nodes) != len(d.Nodes) {
		return "the graph lost or gained nodes"
	}
	for id, n := range g.Nodes {
		if n.ID != id {
			return "node " + id + " is filed under another id"
		}
		for _, s := range successors(n) {
			if s != nil && g.Nodes[s.ID] != s {
				return "node " + id + " points outside the graph"
			}
			if s == g.Entry {
				return "node " + id + " points back at the entry"
			}
		}
		if n.Kind != model.NodeEnd && n.NextNode == nil && n.ElseNode == nil && len(n.Splits) == 0 {
			return "node " + id + " has no way out"
		}
	}
	if g.Timeout <= 0 {
		return "the graph has no positive timeout"
	}
	return ""
}
