package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/pluginrun"
	"github.com/wayline/wayline/runtime/store"
)

// readSources fills act.DS with the data-source groups refs names that it does not hold yet.
// A group that cannot be read stays absent (the expression that needs it then fails to
// evaluate) and the first such error is returned, for the node's error count and trace.
func (st *stepCtx) readSources(act *expr.Activation, refs []expr.DSRef) error {
	if len(refs) == 0 {
		return nil
	}
	if st.p.e.sources == nil {
		return errors.New("data sources are not enabled on this node")
	}
	return readSources(context.Background(), st.p.e.sources, st.cat, act, refs)
}

// readSources reads the groups refs names into act.DS through the service (cache,
// single-flight, the source's fallback), for steps and previews alike.
func readSources(ctx context.Context, svc *datasource.Service, cat *journey.Catalog, act *expr.Activation, refs []expr.DSRef) error {
	var first error
	for _, r := range refs {
		if m, ok := act.DS[r.Source].(map[string]any); ok {
			if _, ok := m[r.Group]; ok {
				continue
			}
		}
		var fields map[string]any
		var err error
		if src, ok := cat.DataSource(r.Source); !ok {
			err = fmt.Errorf("data source %q does not exist (any more)", r.Source)
		} else {
			fields, err = svc.Read(ctx, src, r.Group, act)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if act.DS == nil {
			act.DS = map[string]any{}
		}
		m, _ := act.DS[r.Source].(map[string]any)
		if m == nil {
			m = map[string]any{}
			act.DS[r.Source] = m
		}
		m[r.Group] = fields
	}
	return first
}

// conditionInput is a condition plugin's input (sdk/ABI.md).
type conditionInput struct {
	ABI     int             `json:"abi"`
	Kind    string          `json:"kind"`
	Config  json.RawMessage `json:"config"`
	Event   map[string]any  `json:"event"`
	Profile pluginProfile   `json:"profile"`
	Vars    map[string]any  `json:"vars"`
	Now     string          `json:"now"`
}

type pluginProfile struct {
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
}

// pluginCondition asks a condition plugin whether the branch matches. Its key-value writes go
// into this step's batch, so they commit (or not) with the step that made them.
func (st *stepCtx) pluginCondition(prof *storedProfile, use *journey.PluginUse, act *expr.Activation) (bool, string, error) {
	run := st.p.e.plugins
	if run == nil {
		return false, "", errors.New("plugins are not enabled on this node")
	}
	in, err := sonic.Marshal(conditionInput{ABI: 1, Kind: "condition", Config: use.Config, Event: act.Event,
		Profile: pluginProfile{ID: prof.ID, Attributes: prof.Attributes}, Vars: act.Vars, Now: st.now.Format(time.RFC3339Nano)})
	if err != nil {
		return false, "", fmt.Errorf("plugin %s: encoding the input: %w", use.Name, err)
	}
	out, err := run.Run(context.Background(), &pluginrun.Call{Name: use.Name, Version: use.Version, Kind: "condition",
		Input: in, KV: &stepKV{st: st, prefix: append(store.PartKey(st.pid(), store.KindPluginKV, use.Name), 0)}})
	if err != nil {
		return false, "", fmt.Errorf("plugin %s@%s: %w", use.Name, use.Version, err)
	}
	ok, reason, err := decodeConditionAnswer(out)
	if err != nil {
		return false, "", fmt.Errorf("plugin %s@%s: %w", use.Name, use.Version, err)
	}
	return ok, reason, nil
}

// conditionAnswer is one condition's output, alone or as an item of a batch answer.
type conditionAnswer struct {
	Result *bool  `json:"result"`
	Reason string `json:"reason"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// decodeConditionAnswer reads a condition plugin's output (bytes a guest chose).
func decodeConditionAnswer(out []byte) (bool, string, error) {
	var res conditionAnswer
	if err := sonic.Unmarshal(out, &res); err != nil || res.Result == nil {
		return false, "", fmt.Errorf("answered %.200q, not {\"result\":true|false}", out)
	}
	return *res.Result, res.Reason, nil
}

// decodeBatchAnswer reads a batch condition output for n items: one answer per item, in order,
// each a result or an error.
func decodeBatchAnswer(raw []byte, n int) ([]branchAnswer, error) {
	var res struct {
		Results []conditionAnswer `json:"results"`
	}
	if err := sonic.Unmarshal(raw, &res); err != nil || len(res.Results) != n {
		return nil, fmt.Errorf("the batch answer %.200q is not {\"results\":[...]} with %d items", raw, n)
	}
	out := make([]branchAnswer, n)
	for i, r := range res.Results {
		switch {
		case r.Error != nil:
			out[i].err = fmt.Errorf("error %d: %s", r.Error.Code, r.Error.Message)
		case r.Result == nil:
			out[i].err = fmt.Errorf("item %d has no result", i)
		default:
			out[i].ok, out[i].reason = *r.Result, r.Reason
		}
	}
	return out, nil
}

// stepKV is a plugin's key-value store inside the partition: reads see the batch being built,
// writes join it.
type stepKV struct {
	st     *stepCtx
	prefix []byte
}

func (k *stepKV) key(key []byte) []byte {
	return append(append(make([]byte, 0, len(k.prefix)+len(key)), k.prefix...), key...)
}

func (k *stepKV) Get(key []byte) ([]byte, bool, error) {
	v, ok, err := store.Get(k.st.b, k.key(key))
	return v, ok, err
}

func (k *stepKV) Set(key, value []byte) error { return k.st.b.Set(k.key(key), value, nil) }

func (k *stepKV) Delete(key []byte) error { return k.st.b.Delete(k.key(key), nil) }
