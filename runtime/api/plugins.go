package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// PluginHost checks and runs WebAssembly plugins for the API. cmd/wayline implements it on the
// wazero host in plugins/ (runtime never imports plugins). It is called from many request
// goroutines at once and must be safe for that. Check compiles the module (up to a second or
// two for a large one); Run blocks for at most the plugin's deadline (or ctx).
type PluginHost interface {
	// Check validates a module against its manifest: the manifest's fields, the module's ABI
	// version, exports and imports, and that it starts within its limits. It returns what the
	// manifest says, with its defaults filled. A module or manifest that does not fit is a
	// *PluginError naming the field; any other error is the host's own failure.
	Check(ctx context.Context, wasm, manifest []byte) (PluginCheck, error)
	// Run calls a stored plugin version's handler for kind once, with the input JSON (the ABI's
	// abi, kind and config members are filled in by the host), the merged config object and the
	// installation's secrets. A failure of the plugin is in PluginRun.Error, never a panic.
	Run(ctx context.Context, name, version, kind string, input, config []byte, secrets map[string]string) PluginRun
}

// PluginCheck is what Check found in a valid upload.
type PluginCheck struct {
	Name     string
	Version  string
	Kinds    []string
	Manifest json.RawMessage // the normalised manifest: defaults filled, as stored
}

// PluginError is a module or manifest that Check refuses.
type PluginError struct {
	Field  string // "module", "manifest", or "manifest.<field>" such as "manifest.limits.timeout"
	Reason string // what is wrong and what to do
}

func (e *PluginError) Error() string { return e.Field + ": " + e.Reason }

// PluginRun is the outcome of one Run.
type PluginRun struct {
	Output      json.RawMessage // the handler's output JSON; nil when Error is set
	Error       *PluginRunError
	Duration    time.Duration
	MemoryBytes int64 // the instance's linear memory after the call
	HTTPCalls   int
	Logs        []PluginLog
}

// PluginRunError says why a run failed.
type PluginRunError struct {
	// Code is plugin_failed (the guest reported an error), plugin_trapped, plugin_timeout,
	// plugin_limit or plugin_unavailable.
	Code string `json:"code"`
	// GuestCode is, for plugin_failed, the guest's code: invalid_input, invalid_config,
	// upstream, internal or rejected (sdk/ABI.md).
	GuestCode string `json:"guestCode,omitempty"`
	Message   string `json:"message"`
}

// PluginLog is one log line a plugin wrote during a run.
type PluginLog struct {
	Level   string `json:"level"` // debug, info, warn, error
	Message string `json:"message"`
}

// Limits on a plugin installation's settings.
const (
	maxPluginSecrets     = 100
	maxPluginSecretBytes = 64 << 10
)

var (
	pluginNamePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	secretNamePattern   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	errPluginUnchanged  = errors.New("api: plugin version already stored with these bytes")
	pluginsDisabledHint = "plugins are not enabled on this node (it runs without a plugin host); use a node started by wayline serve"
)

// pluginView is a plugin as the API returns it: secrets masked, with flags saying which are set.
type pluginView struct {
	model.Plugin
	SecretsSet map[string]bool `json:"secretsSet"`
}

func viewPlugin(p model.Plugin) pluginView {
	set := make(map[string]bool, len(p.Secrets))
	var masked map[string]string
	if len(p.Secrets) > 0 {
		masked = make(map[string]string, len(p.Secrets))
		for k := range p.Secrets {
			masked[k], set[k] = actions.Mask, true
		}
	}
	p.Secrets = masked
	if p.Versions == nil {
		p.Versions = []model.PluginVersion{}
	}
	return pluginView{Plugin: p, SecretsSet: set}
}

func (s *Server) pluginsEnabled(ctx *fasthttp.RequestCtx) bool {
	if s.d.Plugins == nil {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "%s", pluginsDisabledHint))
		return false
	}
	return true
}

func (s *Server) loadPlugin(name string) (*model.Plugin, error) {
	var p model.Plugin
	if err := s.d.Meta.Get(meta.KindPlugin, name, &p); err != nil {
		return nil, metaErr(err, "plugin", name)
	}
	return &p, nil
}

func (s *Server) listPlugins(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindPlugin, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	items := make([]pluginView, 0, len(raws))
	for _, r := range raws {
		var p model.Plugin
		if json.Unmarshal(r, &p) == nil {
			items = append(items, viewPlugin(p))
		}
	}
	writeJSON(ctx, 200, map[string]any{"items": items, "nextCursor": next})
}

func (s *Server) getPlugin(ctx *fasthttp.RequestCtx) {
	p, err := s.loadPlugin(param(ctx, "name"))
	if err != nil {
		writeErr(ctx, err)
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(p.Revision, 10))
	writeJSON(ctx, 200, viewPlugin(*p))
}

// POST /v1/plugins: multipart/form-data with the parts manifest and module. The body is read
// here, past the JSON body limit, under the upload limits.
func (s *Server) uploadPlugin(ctx *fasthttp.RequestCtx) {
	if !s.pluginsEnabled(ctx) {
		return
	}
	key, err := idempotencyKey(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	lim := defaultUploadLimits
	if cl := ctx.Request.Header.ContentLength(); int64(cl) > lim.Body {
		writeErr(ctx, apierr.New(413, apierr.BodyTooLarge, "", "the upload is %d bytes; the limit is %d (a module may be at most %d bytes)", cl, lim.Body, lim.Module))
		return
	}
	var body io.Reader
	if r := ctx.RequestBodyStream(); r != nil {
		body = r
	} else {
		body = bytes.NewReader(ctx.PostBody())
	}
	up, err := readPluginUpload(body, string(ctx.Request.Header.ContentType()), lim)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	s.idempotentHashed(ctx, key, up.BodyHash, func() { s.storePlugin(ctx, up) })
}

// storePlugin checks an upload and stores it: the module under its sha256 and the version in
// the plugin's record, in one metadata batch. A name + version is immutable: the same bytes
// again answer 200, other bytes 409.
func (s *Server) storePlugin(ctx *fasthttp.RequestCtx, up *pluginUpload) {
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chk, err := s.d.Plugins.Check(cctx, up.Module, up.Manifest)
	if err != nil {
		writeErr(ctx, pluginCheckErr(err))
		return
	}
	if !pluginNamePattern.MatchString(chk.Name) || chk.Version == "" {
		writeErr(ctx, apierr.New(422, apierr.PluginInvalid, "manifest.name", "the manifest's name %q and version %q are not usable; name: 1-64 of a-z, 0-9 and -, version: MAJOR.MINOR.PATCH", clipText(chk.Name, 80), clipText(chk.Version, 40)))
		return
	}
	var desc struct {
		Description string `json:"description"`
	}
	_ = json.Unmarshal(chk.Manifest, &desc)
	sum := sha256.Sum256(up.Module)
	sha := hex.EncodeToString(sum[:])
	now := time.Now().UTC()
	var out model.Plugin
	err = s.d.Meta.Update(meta.KindPlugin, chk.Name, func(cur []byte, tx *meta.Tx) (any, error) {
		p := model.Plugin{Name: chk.Name, Description: desc.Description, CreatedAt: now}
		if cur != nil {
			if err := json.Unmarshal(cur, &p); err != nil {
				return nil, err
			}
		}
		if v, ok := p.Find(chk.Version); ok {
			if v.SHA256 == sha && jsonEqual(v.Manifest, chk.Manifest) {
				out = p
				return nil, errPluginUnchanged
			}
			what := "other bytes"
			if v.SHA256 == sha {
				what = "another manifest"
			}
			return nil, apierr.New(409, apierr.PluginExists, "manifest.version", "plugin %s version %s was uploaded with %s (sha256 %s); a version never changes: raise the version in the manifest and upload again", chk.Name, chk.Version, what, v.SHA256)
		}
		// Content-addressed: a module already stored (by another name or version) is not
		// written again.
		if ok, err := s.d.Meta.Exists(meta.KindPluginBinary, sha); err != nil {
			return nil, err
		} else if !ok {
			if err := tx.PutRaw(meta.KindPluginBinary, sha, up.Module); err != nil {
				return nil, err
			}
		}
		p.Versions = append(p.Versions, model.PluginVersion{Version: chk.Version, SHA256: sha, Size: len(up.Module),
			Kinds: chk.Kinds, Manifest: chk.Manifest, UploadedAt: now})
		p.Revision++
		p.UpdatedAt = now
		out = p
		return &p, nil
	})
	status := 201
	switch {
	case errors.Is(err, errPluginUnchanged):
		status = 200
	case err != nil:
		writeErr(ctx, err)
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(out.Revision, 10))
	writeJSON(ctx, status, viewPlugin(out))
}

// pluginCheckErr turns a Check failure into the API error.
func pluginCheckErr(err error) error {
	var pe *PluginError
	if errors.As(err, &pe) {
		field := pe.Field
		if field == "" {
			field = "manifest"
		}
		return apierr.New(422, apierr.PluginInvalid, field, "%s", pe.Reason)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apierr.New(422, apierr.PluginInvalid, "module", "the module took too long to compile and start; make it smaller or lighter at start-up")
	}
	return err
}

// jsonEqual reports whether two JSON documents are the same value.
func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ab, _ := json.Marshal(x)
	bb, _ := json.Marshal(y)
	return bytes.Equal(ab, bb)
}

// GET /v1/plugins/{name}/versions/{version}/module: the module's bytes, checked against their
// sha256 (for nodes and the CLI).
func (s *Server) getPluginModule(ctx *fasthttp.RequestCtx) {
	name, version := param(ctx, "name"), param(ctx, "version")
	p, err := s.loadPlugin(name)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	v, ok := p.Find(version)
	if !ok {
		writeErr(ctx, apierr.New(404, apierr.NotFound, "version", "plugin %q has no version %q; it has %s", name, version, versionList(p)))
		return
	}
	wasm, err := s.d.Meta.GetRaw(meta.KindPluginBinary, v.SHA256)
	if err != nil {
		writeErr(ctx, fmt.Errorf("the module of plugin %s %s (sha256 %s) is not stored: %w", name, version, v.SHA256, err))
		return
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != v.SHA256 {
		writeErr(ctx, fmt.Errorf("the stored module of plugin %s %s does not match its sha256 %s (storage damaged?)", name, version, v.SHA256))
		return
	}
	ctx.Response.Header.Set("ETag", `"`+v.SHA256+`"`)
	ctx.SetContentType("application/wasm")
	ctx.SetStatusCode(200)
	ctx.SetBody(wasm)
}

func versionList(p *model.Plugin) string {
	if len(p.Versions) == 0 {
		return "no versions"
	}
	vs := make([]string, len(p.Versions))
	for i, v := range p.Versions {
		vs[i] = v.Version
	}
	return strings.Join(vs, ", ")
}

// pluginUpdate is what PUT /v1/plugins/{name} accepts. Fields left out keep their values.
type pluginUpdate struct {
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Config      json.RawMessage `json:"config"`
	// Secrets: a value sets the secret, "••••" keeps it, "" or null deletes it; secrets not
	// named keep their values.
	Secrets  map[string]*string `json:"secrets"`
	Revision int64              `json:"revision"`
}

func (s *Server) updatePlugin(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	var in pluginUpdate
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	if in.Name != "" && in.Name != name {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "name", "the name cannot change (it is the id); upload the plugin under the new name instead"))
		return
	}
	if err := checkConfigObject(in.Config, "config"); err != nil {
		writeErr(ctx, err)
		return
	}
	want, err := expectedRevision(ctx, in.Revision)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	var out model.Plugin
	err = s.d.Meta.Update(meta.KindPlugin, name, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		if err := json.Unmarshal(cur, &out); err != nil {
			return nil, err
		}
		if want != 0 && want != out.Revision {
			return nil, meta.ErrConflict
		}
		secrets, err := mergePluginSecrets(out.Secrets, in.Secrets)
		if err != nil {
			return nil, err
		}
		out.Secrets = secrets
		if in.Description != nil {
			out.Description = *in.Description
		}
		if in.Config != nil {
			if c := bytes.TrimSpace(in.Config); string(c) == "null" {
				out.Config = nil
			} else {
				out.Config = c
			}
		}
		out.Revision++
		out.UpdatedAt = time.Now().UTC()
		return &out, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "plugin", name))
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(out.Revision, 10))
	writeJSON(ctx, 200, viewPlugin(out))
}

// checkConfigObject accepts an absent or null config, or a JSON object.
func checkConfigObject(raw json.RawMessage, field string) error {
	c := bytes.TrimSpace(raw)
	if len(c) == 0 || string(c) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(c, &obj) != nil {
		return apierr.New(422, apierr.InvalidRequest, field, "%s must be a JSON object, such as {\"baseUrl\":\"https://api.example.com\"}", field)
	}
	return nil
}

// mergePluginSecrets applies the secrets of an update to the stored ones: a value sets, the
// mask keeps, "" or null deletes; secrets not named are kept.
func mergePluginSecrets(stored map[string]string, sent map[string]*string) (map[string]string, error) {
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]string{}
	}
	var errs apierr.List
	names := slices.Sorted(maps.Keys(sent))
	for _, k := range names {
		v := sent[k]
		field := "secrets." + k
		switch {
		case !secretNamePattern.MatchString(k):
			errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, "secret name %q must be 1-128 letters, digits, '_', '.' or '-' (the plugin reads it with secret_get)", clipText(k, 80)))
		case v == nil || *v == "":
			delete(out, k)
		case *v == actions.Mask:
			if _, ok := stored[k]; !ok {
				errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, "secret %s is masked but none is stored; send its value", k))
			}
		case len(*v) > maxPluginSecretBytes:
			errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, "secret %s is %d bytes; the limit is %d", k, len(*v), maxPluginSecretBytes))
		default:
			out[k] = *v
		}
	}
	if len(errs) == 0 && len(out) > maxPluginSecrets {
		errs = append(errs, apierr.New(422, apierr.InvalidRequest, "secrets", "a plugin may hold at most %d secrets; this update leaves %d", maxPluginSecrets, len(out)))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// DELETE /v1/plugins/{name}: refused while anything uses the plugin. The modules stay (they
// are content-addressed and may be shared).
func (s *Server) deletePlugin(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	err := s.d.Meta.Update(meta.KindPlugin, name, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		// Under the metadata write lock, so nothing starts using it in between.
		if users := s.pluginUsers(name); len(users) > 0 {
			return nil, apierr.New(409, apierr.PluginInUse, "", "plugin %q is used by %s; change or remove them first", name, listUsers(users))
		}
		return nil, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "plugin", name))
		return
	}
	ctx.SetStatusCode(204)
}

// pluginUsers names what uses a plugin: actions, data sources, journey drafts and every
// published journey version (instances may still be on an old one).
func (s *Server) pluginUsers(name string) []string {
	var out []string
	_ = s.d.Meta.ListAll(meta.KindAction, func(id string, raw []byte) error {
		var a model.Action
		if json.Unmarshal(raw, &a) == nil && a.Plugin != nil && a.Plugin.Name == name {
			out = append(out, "action "+a.ID)
		}
		return nil
	})
	_ = s.d.Meta.ListAll(meta.KindDataSource, func(id string, raw []byte) error {
		var d model.DataSource
		if json.Unmarshal(raw, &d) == nil && d.Plugin != nil && d.Plugin.Name == name {
			out = append(out, "data source "+d.ID)
		}
		return nil
	})
	uses := func(def *model.Definition) bool {
		for _, n := range def.Nodes {
			for _, b := range n.Branches {
				if b.Plugin != nil && b.Plugin.Name == name {
					return true
				}
			}
		}
		return false
	}
	out = append(out, s.journeysWhere(uses)...)
	return out
}

// journeysWhere names the journey drafts ("journey x (draft)") and published versions
// ("journey x v2") for which uses holds.
func (s *Server) journeysWhere(uses func(def *model.Definition) bool) []string {
	var out []string
	_ = s.d.Meta.ListAll(meta.KindJourney, func(id string, raw []byte) error {
		var j model.Journey
		if json.Unmarshal(raw, &j) == nil && j.Draft != nil && uses(j.Draft) {
			out = append(out, "journey "+j.ID+" (draft)")
		}
		return nil
	})
	_ = s.d.Meta.ListAll(meta.KindJourneyVersion, func(id string, raw []byte) error {
		var v model.JourneyVersion
		if json.Unmarshal(raw, &v) == nil && uses(&v.Definition) {
			out = append(out, fmt.Sprintf("journey %s v%d", v.JourneyID, v.Version))
		}
		return nil
	})
	return out
}

// listUsers joins names for a message, at most ten.
func listUsers(users []string) string {
	const most = 10
	if len(users) <= most {
		return strings.Join(users, ", ")
	}
	return strings.Join(users[:most], ", ") + fmt.Sprintf(" and %d more", len(users)-most)
}

// pluginConfigErrors reports a plugin use's config that fails the configSchema of the plugin
// version it resolved to, one error per problem, under field.
func pluginConfigErrors(v model.PluginVersion, ref *model.PluginRef, field string) apierr.List {
	var l apierr.List
	for _, p := range journey.CheckPluginConfig(v, ref.Config) {
		l = append(l, apierr.New(422, apierr.InvalidRequest, field+p.Field, "plugin %s@%s config: %s", ref.Name, v.Version, p.Message))
	}
	return l
}

// resolvePlugin finds the version a reference names (the latest when it names none) and checks
// that it implements kind. Errors name plugin.name or plugin.version.
func (s *Server) resolvePlugin(ref *model.PluginRef, kind string) (model.PluginVersion, error) {
	var p model.Plugin
	if err := s.d.Meta.Get(meta.KindPlugin, ref.Name, &p); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return model.PluginVersion{}, apierr.New(422, apierr.UnknownPlugin, "plugin.name", "plugin %q does not exist; upload it first (POST /v1/plugins or wayline plugin push)", clipText(ref.Name, 80))
		}
		return model.PluginVersion{}, err
	}
	field := "plugin.version"
	var v model.PluginVersion
	var ok bool
	if ref.Version == "" {
		field = "plugin.name"
		if v, ok = p.Latest(); !ok {
			return v, apierr.New(422, apierr.UnknownPlugin, field, "plugin %q has no versions; upload one first", ref.Name)
		}
	} else if v, ok = p.Find(ref.Version); !ok {
		return v, apierr.New(422, apierr.UnknownPlugin, field, "plugin %q has no version %q; it has %s", ref.Name, clipText(ref.Version, 40), versionList(&p))
	}
	if !slices.Contains(v.Kinds, kind) {
		return v, apierr.New(422, apierr.UnknownPlugin, field, "version %s of plugin %q does not implement %s (its kinds: %s); pick a version that does", v.Version, ref.Name, kind, strings.Join(v.Kinds, ", "))
	}
	return v, nil
}

// pluginRunInput is what POST /v1/plugins/{name}/versions/{version}/run accepts.
type pluginRunInput struct {
	Kind   string          `json:"kind"`
	Input  json.RawMessage `json:"input"`
	Config json.RawMessage `json:"config"`
}

// pluginRunResult is what it answers.
type pluginRunResult struct {
	Output         json.RawMessage `json:"output"`
	Error          *PluginRunError `json:"error,omitempty"`
	DurationMicros int64           `json:"durationMicros"`
	MemoryBytes    int64           `json:"memoryBytes"`
	HTTPCalls      int             `json:"httpCalls"`
	Logs           []PluginLog     `json:"logs"`
}

func runResult(r PluginRun) pluginRunResult {
	out := pluginRunResult{Output: r.Output, Error: r.Error, DurationMicros: r.Duration.Microseconds(),
		MemoryBytes: r.MemoryBytes, HTTPCalls: r.HTTPCalls, Logs: r.Logs}
	if len(out.Output) == 0 || out.Error != nil {
		out.Output = json.RawMessage("null")
	}
	if out.Logs == nil {
		out.Logs = []PluginLog{}
	}
	return out
}

// POST /v1/plugins/{name}/versions/{version}/run: one call of a stored version with the
// installation's secrets and config (the body's config merged over it). It answers 200 whether
// the plugin succeeded or not: error says why it failed.
func (s *Server) runPlugin(ctx *fasthttp.RequestCtx) {
	if !s.pluginsEnabled(ctx) {
		return
	}
	name, version := param(ctx, "name"), param(ctx, "version")
	p, err := s.loadPlugin(name)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	v, ok := p.Find(version)
	if !ok {
		writeErr(ctx, apierr.New(404, apierr.NotFound, "version", "plugin %q has no version %q; it has %s", name, version, versionList(p)))
		return
	}
	var in pluginRunInput
	if b, err := s.readBody(ctx); err != nil {
		writeErr(ctx, err)
		return
	} else if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeStrict(b, &in); err != nil {
			writeErr(ctx, err)
			return
		}
	}
	switch {
	case in.Kind == "" && len(v.Kinds) == 1:
		in.Kind = v.Kinds[0]
	case in.Kind == "":
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "kind", "kind is required: version %s implements %s", version, strings.Join(v.Kinds, ", ")))
		return
	case !slices.Contains(v.Kinds, in.Kind):
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "kind", "version %s of plugin %q implements %s, not %q", version, name, strings.Join(v.Kinds, ", "), clipText(in.Kind, 40)))
		return
	}
	input := bytes.TrimSpace(in.Input)
	if len(input) == 0 || string(input) == "null" {
		input = []byte("{}")
	} else if input[0] != '{' {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "input", "input must be a JSON object: the handler's input for kind %s (see sdk/ABI.md, \"Kinds and their JSON\")", in.Kind))
		return
	}
	config, err := mergeConfig(p.Config, in.Config)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := s.d.Plugins.Run(cctx, name, version, in.Kind, input, config, p.Secrets)
	writeJSON(ctx, 200, runResult(run))
}

// mergeConfig lays the members of over (a call's config) over base (the installation's), one
// level deep; both must be JSON objects when present. The result is always an object.
func mergeConfig(base, over json.RawMessage) ([]byte, error) {
	if err := checkConfigObject(over, "config"); err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	for _, raw := range []json.RawMessage{base, over} {
		c := bytes.TrimSpace(raw)
		if len(c) == 0 || string(c) == "null" {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(c, &obj); err != nil {
			return nil, apierr.New(422, apierr.InvalidRequest, "config", "config must be a JSON object")
		}
		maps.Copy(m, obj)
	}
	return json.Marshal(m)
}

// retryableRun says whether an action would try a failed run again later.
func retryableRun(e *PluginRunError) bool {
	if e == nil {
		return false
	}
	switch e.Code {
	case "plugin_timeout", "plugin_unavailable":
		return true
	case "plugin_failed":
		return e.GuestCode == "upstream"
	}
	return false
}
