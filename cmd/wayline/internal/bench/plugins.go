package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	client "github.com/wayline/wayline/sdk/client/go"
)

// pluginLangs are the loyalty-tier conditions per SDK language that `make plugins` builds into
// the plugin directory: the Rust example and its twins in Go, C-free AssemblyScript, and the C
// propensity example (a condition of the same size).
var pluginLangs = []struct{ lang, module string }{
	{"rust", "loyalty-tier"},
	{"c", "propensity-score"},
	{"go", "goloyalty"},
	{"assemblyscript", "asloyalty"},
}

// setupPluginJourney uploads one language's condition plugin and publishes a journey of the demo
// shape whose condition is the plugin: entry → plugin branch → REST action to the sink → end.
func setupPluginJourney(nodeURL, key, dir, lang, module string) (string, error) {
	wasm, err := os.ReadFile(filepath.Join(dir, module+".wasm"))
	if err != nil {
		return "", fmt.Errorf("%w (run make plugins)", err)
	}
	name := "bench-" + lang
	manifest := fmt.Sprintf(`{"name":%q,"version":"1.0.0","kinds":["condition"],"limits":{"timeout":"2s"}}`, name)
	if err := upload(nodeURL, key, []byte(manifest), wasm); err != nil {
		return "", err
	}
	typ := "bench.plugin-" + lang
	steps := []struct {
		path string
		body any
	}{
		{"/v1/event-definitions", map[string]any{"name": typ, "identityField": "userId", "identityNamespace": "bench",
			"schema": map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{
				"userId": map[string]any{"type": "string"}, "sentAt": map[string]any{"type": "string"},
				"dueAt": map[string]any{"type": "string"}, "dueNs": map[string]any{"type": "string"}}}}},
		{"/v1/journeys", map[string]any{"id": "bench-plugin-" + lang, "name": "Bench: plugin condition (" + lang + ")", "draft": map[string]any{"nodes": []map[string]any{
			{"id": "in", "kind": "event", "event": typ, "next": "tier"},
			{"id": "tier", "kind": "condition", "branches": []map[string]any{{"id": "yes", "plugin": map[string]any{"name": name, "config": map[string]any{"tier": "gold"}}, "next": "call"}}, "else": "call"},
			{"id": "call", "kind": "action", "action": "bench-sink", "next": "end"},
			{"id": "end", "kind": "end"},
		}}}},
		{"/v1/journeys/bench-plugin-" + lang + "/publish", nil},
	}
	for _, s := range steps {
		status, body, err := post(nodeURL+s.path, key, s.body)
		if err != nil {
			return "", err
		}
		if status >= 300 && status != 409 {
			return "", fmt.Errorf("POST %s: %d %s", s.path, status, body)
		}
	}
	return typ, nil
}

func upload(nodeURL, key string, manifest, wasm []byte) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, part := range []struct {
		name string
		data []byte
	}{{"manifest", manifest}, {"module", wasm}} {
		fw, err := w.CreateFormFile(part.name, part.name)
		if err != nil {
			return err
		}
		fw.Write(part.data)
	}
	w.Close()
	req, err := http.NewRequest("POST", nodeURL+"/v1/plugins", &b)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode != 409 {
		return fmt.Errorf("upload: %d %s", resp.StatusCode, body)
	}
	return nil
}

func pluginEvent(typ string) func(int64) client.Event {
	return func(int64) client.Event {
		return client.Event{Type: typ, Data: map[string]any{"userId": "p" + strconv.FormatInt(profiles.Add(1), 36), "sentAt": stamp()}}
	}
}

// runPlugins measures each language's plugin journey with NDJSON batches (the engine then
// answers a micro-batch's plugin branches with one call) beside the same journey with a CEL
// condition, measured in the same run.
func runPlugins(ctx context.Context, cfg Config, n *node, sk *sink, celRate float64) ([]Row, error) {
	var rows []Row
	for _, l := range pluginLangs {
		typ, err := setupPluginJourney(n.url, n.key, cfg.PluginDir, l.lang, l.module)
		if err != nil {
			rows = append(rows, Row{Workload: "plugin (" + l.lang + ")", Shape: "-", CPU: -1, PeakRSS: -1, Note: "skipped: " + err.Error()})
			continue
		}
		fmt.Fprintf(cfg.Progress, "plugin condition (%s), NDJSON: %s warm-up + %s ...\n", l.lang, cfg.Warmup, cfg.Duration)
		sk.action.reset()
		before := n.usage()
		r, err := runLoad(ctx, n.url, n.key, shapeNDJSON, cfg.Streams, cfg.Batch, cfg.Warmup, cfg.Duration, pluginEvent(typ), 0)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", l.lang, err)
		}
		after := n.usage()
		row := Row{Workload: "plugin (" + l.lang + ")", Shape: shapeLabel(cfg, shapeNDJSON), Rate: r.rate, Ack: r.ack, Failed: r.failed,
			Action: sk.action.percentiles(0.50, 0.99), CPU: -1, PeakRSS: -1, Ceiling: celRate, CeilingName: "same journey, CEL condition"}
		if before.ok && after.ok {
			row.CPU = (after.cpu - before.cpu).Seconds() / (cfg.Warmup + r.elapsed).Seconds()
			row.PeakRSS = after.peakRSS
		}
		if r.firstErr != "" {
			row.Note = "first failure: " + r.firstErr
		}
		rows = append(rows, row)
	}
	return rows, nil
}
