package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wayline/wayline/plugins"
	"github.com/wayline/wayline/runtime/api"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/sdk/abi"
)

const pluginUsage = `Usage: wayline plugin COMMAND [flags]

Commands:
  push --manifest FILE --wasm FILE   upload a plugin version to a node
  list                               list the plugins on a node
  test --wasm FILE --kind KIND --input FILE [--manifest FILE] [--config FILE] [--secret NAME=VALUE ...]
                                     run a plugin once, here, with the node's host and limits

push and list talk to a node: --url (WAYLINE_URL, default http://127.0.0.1:8080) and --key
(WAYLINE_KEY, a key with the editor role for push, viewer for list). test runs nothing remote;
its --allow-net (WAYLINE_ALLOW_NET) lists internal addresses the plugin may reach, as serve's.
The ABI and the manifest are described in sdk/ABI.md; the guide is docs/plugins.md.
`

func pluginCmd(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, pluginUsage)
		return 2
	}
	switch args[0] {
	case "push":
		return pluginPush(args[1:])
	case "list", "ls":
		return pluginList(args[1:])
	case "test":
		return pluginTest(args[1:])
	case "help", "-h", "--help":
		fmt.Print(pluginUsage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "wayline plugin: unknown command %q\n\n%s", args[0], pluginUsage)
	return 2
}

// bindEnvOnly lets WAYLINE_<FLAG> set the named flags when they are not on the command line.
func bindEnvOnly(fs *flag.FlagSet, names ...string) error {
	for _, name := range names {
		env := "WAYLINE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
	}
	return nil
}

// parseFlags binds the env variables, parses, and refuses stray arguments. It returns an exit
// code, or -1 to go on.
func parseFlags(fs *flag.FlagSet, cmd string, args []string, env ...string) int {
	if err := bindEnvOnly(fs, env...); err != nil {
		fmt.Fprintf(os.Stderr, "wayline %s: %v\n", cmd, err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "wayline %s: unexpected argument %q; every input is a flag (see wayline %s -h)\n", cmd, fs.Arg(0), cmd)
		return 2
	}
	return -1
}

// nodeClient talks to a node's admin API.
type nodeClient struct {
	url, key string
	http     *http.Client
}

func newNodeClient(rawURL, key string) (*nodeClient, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(rawURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want the node's base URL, like http://127.0.0.1:8080", rawURL)
	}
	if key == "" {
		return nil, errors.New("--key is required (or WAYLINE_KEY): an API key; `wayline serve` prints the admin key on first start")
	}
	return &nodeClient{url: u.String(), key: key, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

func (c *nodeClient) do(method, path, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, c.url+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%v (is a node running at %s? set --url)", err, c.url)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// describeAPIError describes an error answer of the node in one line per error.
func describeAPIError(status int, body []byte) string {
	var one struct {
		Error *struct{ Code, Message, Field string } `json:"error"`
	}
	var many struct {
		Errors []struct{ Code, Message, Field string } `json:"errors"`
	}
	line := func(code, msg, field string) string {
		if field != "" {
			return fmt.Sprintf("%s (field %s): %s", code, field, msg)
		}
		return code + ": " + msg
	}
	if json.Unmarshal(body, &one) == nil && one.Error != nil {
		return line(one.Error.Code, one.Error.Message, one.Error.Field)
	}
	if json.Unmarshal(body, &many) == nil && len(many.Errors) > 0 {
		var parts []string
		for _, e := range many.Errors {
			parts = append(parts, line(e.Code, e.Message, e.Field))
		}
		return strings.Join(parts, "\n  ")
	}
	return fmt.Sprintf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
}

func readFlagFile(flagName, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("--%s is required", flagName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s %s: %v", flagName, path, err)
	}
	return b, nil
}

func pluginPush(args []string) int {
	fs := flag.NewFlagSet("plugin push", flag.ContinueOnError)
	manifestPath := fs.String("manifest", "", "the plugin's manifest (JSON; see sdk/ABI.md, Manifest)")
	wasmPath := fs.String("wasm", "", "the plugin's WebAssembly module (.wasm)")
	nodeURL := fs.String("url", "http://127.0.0.1:8080", "node URL (WAYLINE_URL)")
	key := fs.String("key", "", "API key with the editor or admin role (WAYLINE_KEY)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: wayline plugin push --manifest FILE --wasm FILE [--url URL] [--key KEY]\n\nUploads a plugin version. A name + version never changes: pushing the same files again\nchanges nothing; other bytes under the same version are refused (raise the version).\n\n")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, "plugin push", args, "url", "key"); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "wayline plugin push: "+format+"\n", a...)
		return 2
	}
	manifest, err := readFlagFile("manifest", *manifestPath)
	if err != nil {
		return fail("%v", err)
	}
	wasm, err := readFlagFile("wasm", *wasmPath)
	if err != nil {
		return fail("%v", err)
	}
	c, err := newNodeClient(*nodeURL, *key)
	if err != nil {
		return fail("%v", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct {
		name, file, ctype string
		data              []byte
	}{
		{"manifest", filepath.Base(*manifestPath), "application/json", manifest},
		{"module", filepath.Base(*wasmPath), "application/wasm", wasm},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.file))
		h.Set("Content-Type", p.ctype)
		w, _ := mw.CreatePart(h)
		w.Write(p.data)
	}
	mw.Close()
	status, resp, err := c.do("POST", "/v1/plugins", mw.FormDataContentType(), &body)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wayline plugin push: %v\n", err)
		return 1
	}
	if status != 200 && status != 201 {
		fmt.Fprintf(os.Stderr, "wayline plugin push: the node refused %s:\n  %s\n", *wasmPath, describeAPIError(status, resp))
		return 1
	}
	var p model.Plugin
	if err := json.Unmarshal(resp, &p); err != nil {
		fmt.Fprintf(os.Stderr, "wayline plugin push: the node answered %d with something that is not a plugin: %v\n", status, err)
		return 1
	}
	var want struct{ Version string }
	_ = json.Unmarshal(manifest, &want)
	v, ok := p.Find(want.Version)
	if !ok {
		v, _ = p.Latest()
	}
	if status == 200 {
		fmt.Printf("%s %s is already uploaded with the same module and manifest (sha256 %s); nothing changed\n", p.Name, v.Version, v.SHA256)
		return 0
	}
	fmt.Printf("uploaded %s %s (%s; %s bytes, sha256 %s)\n", p.Name, v.Version, strings.Join(v.Kinds, ", "), thousands(int64(v.Size)), v.SHA256)
	return 0
}

func pluginList(args []string) int {
	fs := flag.NewFlagSet("plugin list", flag.ContinueOnError)
	nodeURL := fs.String("url", "http://127.0.0.1:8080", "node URL (WAYLINE_URL)")
	key := fs.String("key", "", "API key with the viewer role or more (WAYLINE_KEY)")
	asJSON := fs.Bool("json", false, "print the plugins as JSON, as the API returns them")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: wayline plugin list [--url URL] [--key KEY] [--json]\n\n")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, "plugin list", args, "url", "key"); code >= 0 {
		return code
	}
	c, err := newNodeClient(*nodeURL, *key)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wayline plugin list: %v\n", err)
		return 2
	}
	type item struct {
		model.Plugin
		SecretsSet map[string]bool `json:"secretsSet"`
	}
	var items []json.RawMessage
	cursor := ""
	for {
		path := "/v1/plugins?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := c.do("GET", path, "", nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "wayline plugin list: %v\n", err)
			return 1
		}
		if status != 200 {
			fmt.Fprintf(os.Stderr, "wayline plugin list: %s\n", describeAPIError(status, body))
			return 1
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			fmt.Fprintf(os.Stderr, "wayline plugin list: the node answered something that is not a list: %v\n", err)
			return 1
		}
		items = append(items, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if *asJSON {
		if items == nil {
			items = []json.RawMessage{}
		}
		b, _ := json.MarshalIndent(items, "", "  ")
		fmt.Println(string(b))
		return 0
	}
	if len(items) == 0 {
		fmt.Println("no plugins; upload one with wayline plugin push")
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLATEST\tKINDS\tVERSIONS\tSECRETS SET")
	for _, raw := range items {
		var it item
		if json.Unmarshal(raw, &it) != nil {
			continue
		}
		latest, _ := it.Latest()
		var vs, secrets []string
		for _, v := range it.Versions {
			vs = append(vs, v.Version)
		}
		for k, set := range it.SecretsSet {
			if set {
				secrets = append(secrets, k)
			}
		}
		slices.Sort(secrets)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Name, latest.Version, strings.Join(latest.Kinds, ","), strings.Join(vs, ","), orDash(strings.Join(secrets, ",")))
	}
	tw.Flush()
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// secretFlags collects repeated --secret NAME=VALUE.
type secretFlags map[string]string

func (s secretFlags) String() string { return "" }

func (s secretFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: write NAME=VALUE, like apiKey=abc123", v)
	}
	s[name] = value
	return nil
}

func pluginTest(args []string) int {
	fs := flag.NewFlagSet("plugin test", flag.ContinueOnError)
	wasmPath := fs.String("wasm", "", "the plugin's WebAssembly module (.wasm)")
	kind := fs.String("kind", "", "the handler to call: condition, datasource or action (may be left out when the manifest has one kind)")
	inputPath := fs.String("input", "", "the handler's input JSON (sdk/ABI.md, Kinds and their JSON); abi, kind and config are filled in; - reads standard input")
	manifestPath := fs.String("manifest", "", "the plugin's manifest (default: one with --kind, no allowed hosts and default limits)")
	configPath := fs.String("config", "", "the config JSON object (default: the input's config, or {})")
	allowNet := fs.String("allow-net", "", "internal addresses or CIDR prefixes the plugin may reach, comma-separated (WAYLINE_ALLOW_NET)")
	secrets := secretFlags{}
	fs.Var(secrets, "secret", "a secret the plugin reads with secret_get, NAME=VALUE (repeat for more)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: wayline plugin test --wasm FILE --kind KIND --input FILE [--manifest FILE] [--config FILE] [--secret NAME=VALUE ...] [--allow-net LIST]\n\nRuns a plugin once on this machine, with the same host and limits as a node, and prints its\noutput (standard output), then its log lines, duration and memory (standard error). Exit\nstatus: 0 when the plugin answered, 1 when it failed, 2 when the test could not run.\n\n")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, "plugin test", args, "allow-net"); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "wayline plugin test: "+format+"\n", a...)
		return 2
	}
	wasm, err := readFlagFile("wasm", *wasmPath)
	if err != nil {
		return fail("%v", err)
	}
	var input []byte
	switch *inputPath {
	case "":
		return fail("--input is required: a JSON file with the handler's input, e.g. {\"group\":\"current\",\"params\":{\"city\":\"Paris\"}} for a data source")
	case "-":
		if input, err = io.ReadAll(os.Stdin); err != nil {
			return fail("--input -: %v", err)
		}
	default:
		if input, err = os.ReadFile(*inputPath); err != nil {
			return fail("--input %s: %v", *inputPath, err)
		}
	}
	if err := jsonObject(input); err != nil {
		return fail("--input %s: %v", *inputPath, err)
	}
	var config []byte
	if *configPath != "" {
		if config, err = os.ReadFile(*configPath); err != nil {
			return fail("--config %s: %v", *configPath, err)
		}
		if err := jsonObject(config); err != nil {
			return fail("--config %s: %v", *configPath, err)
		}
	}
	var m *plugins.Manifest
	if *manifestPath != "" {
		raw, err := os.ReadFile(*manifestPath)
		if err != nil {
			return fail("--manifest %s: %v", *manifestPath, err)
		}
		if m, err = plugins.ParseManifest(raw); err != nil {
			return fail("--manifest %s: %v", *manifestPath, strings.TrimPrefix(err.Error(), "plugin: "))
		}
		if *kind == "" && len(m.Kinds) == 1 {
			*kind = m.Kinds[0]
		}
	}
	switch *kind {
	case abi.KindCondition, abi.KindDataSource, abi.KindAction:
	case "":
		return fail("--kind is required: condition, datasource or action")
	default:
		return fail("--kind %q: use condition, datasource or action", *kind)
	}
	if m == nil {
		m = &plugins.Manifest{Name: "local-test", Version: "0.0.0", Kinds: []string{*kind}}
		if err := m.Fill(); err != nil {
			return fail("default manifest: %v", err)
		}
	} else if !m.HasKind(*kind) {
		return fail("--kind %s: the manifest %s lists the kinds %s", *kind, *manifestPath, strings.Join(m.Kinds, ", "))
	}
	allow, err := netguard.ParseAllow(splitList(*allowNet))
	if err != nil {
		return fail("--allow-net: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := plugins.New(plugins.Config{Guard: &netguard.Guard{Allow: allow}, MaxInstances: 1, Prewarm: 1, Log: log})
	if err != nil {
		return fail("%v", err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), plugins.MaxTimeout+time.Minute)
	defer cancel()
	p, err := h.Load(ctx, wasm, m)
	if err != nil {
		var fe *plugins.FieldError
		if errors.As(err, &fe) && fe.Field == "module" {
			return fail("--wasm %s: %s", *wasmPath, fe.Reason)
		}
		return fail("--wasm %s: %v", *wasmPath, strings.TrimPrefix(err.Error(), "plugin: "))
	}
	run := runPluginOnce(ctx, p, *kind, input, config, secrets)
	printRun(os.Stdout, os.Stderr, run)
	if run.Error != nil {
		return 1
	}
	return 0
}

// jsonObject says what is wrong when b is not one JSON object.
func jsonObject(b []byte) error {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return errors.New("not valid JSON: it ends before the object does")
		}
		return errors.New("must be one JSON object, like {\"key\":\"value\"}")
	}
	if obj == nil || dec.More() {
		return errors.New("must be one JSON object, like {\"key\":\"value\"}")
	}
	return nil
}

// printRun prints a run: the output on out, the log lines and the numbers on info.
func printRun(out, info io.Writer, r api.PluginRun) {
	for _, l := range r.Logs {
		fmt.Fprintf(info, "log %s: %s\n", l.Level, l.Message)
	}
	if r.Error != nil {
		code := r.Error.Code
		if r.Error.GuestCode != "" {
			code += " (" + r.Error.GuestCode + ")"
		}
		fmt.Fprintf(info, "plugin error %s: %s\n", code, r.Error.Message)
	} else {
		var v any
		if json.Unmarshal(r.Output, &v) == nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintln(out, string(b))
		} else {
			fmt.Fprintln(out, string(r.Output))
		}
	}
	calls := ""
	if r.HTTPCalls > 0 {
		calls = fmt.Sprintf(" · %d HTTP call(s)", r.HTTPCalls)
	}
	fmt.Fprintf(info, "ran in %s · memory %s%s\n", r.Duration.Round(time.Microsecond), mib(r.MemoryBytes), calls)
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
