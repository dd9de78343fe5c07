package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/sdk/abi"
)

const (
	maxLogLine     = 4 << 10
	maxLogsPerCall = 64
	maxErrMessage  = 4 << 10
	maxHTTPRequest = 1 << 20
)

// instantiateHostModule defines the wayline import module in the plugin's runtime.
func (p *Plugin) instantiateHostModule(ctx context.Context) error {
	b := p.rt.NewHostModuleBuilder(abi.HostModule)
	def := func(name string, fn func(inst *instance, stack []uint64)) {
		sig := hostSignatures[name]
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			v, ok := p.byMod.Load(mod)
			if !ok {
				panic(errors.New("plugins: host function called by an unknown instance"))
			}
			// i32 arguments arrive in the low 32 bits; the high bits are not defined.
			for i := range sig.params {
				if sig.params[i] == i32 {
					stack[i] = uint64(uint32(stack[i]))
				}
			}
			fn(v.(*instance), stack)
		}), sig.params, sig.results).Export(name)
	}
	def(abi.HostLog, hostLog)
	def(abi.HostError, hostError)
	def(abi.HostNowUnixNano, func(_ *instance, stack []uint64) { stack[0] = uint64(time.Now().UnixNano()) })
	def(abi.HostConfigGet, hostConfigGet)
	def(abi.HostSecretGet, hostSecretGet)
	def(abi.HostKVGet, hostKVGet)
	def(abi.HostKVSet, hostKVSet)
	def(abi.HostKVDelete, hostKVDelete)
	def(abi.HostHTTPRequest, hostHTTPRequest)
	def(abi.HostTakeResult, hostTakeResult)
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("plugins: host module: %w", err)
	}
	return nil
}

// read copies guest bytes; ok is false when the range is outside memory.
func (inst *instance) read(ptr, n uint64) ([]byte, bool) {
	b, ok := inst.mem.Read(uint32(ptr), uint32(n))
	if !ok {
		return nil, false
	}
	return b, true
}

func status(s int32) uint64 { return uint64(uint32(s)) }

// setResult puts bytes in the result slot and returns their length for the guest.
func (inst *instance) setResult(b []byte) uint64 {
	inst.result = b
	return uint64(uint32(len(b)))
}

func (inst *instance) fail(s int32, msg string) uint64 {
	inst.result = []byte(msg)
	return status(s)
}

func (inst *instance) log(level int32, msg string) {
	if inst.logLines >= maxLogsPerCall {
		return
	}
	inst.logLines++
	if len(msg) > maxLogLine {
		msg = msg[:maxLogLine] + "…"
	}
	if c := inst.call; c != nil && c.Log != nil {
		c.Log(level, msg)
		return
	}
	lg := inst.p.host.cfg.Log.With("plugin", inst.p.Manifest.Name, "version", inst.p.Manifest.Version)
	switch level {
	case abi.LogDebug:
		lg.Debug(msg)
	case abi.LogWarn:
		lg.Warn(msg)
	case abi.LogError:
		lg.Error(msg)
	default:
		lg.Info(msg)
	}
}

func hostLog(inst *instance, stack []uint64) {
	n := min(stack[2], maxLogLine+1)
	b, ok := inst.read(stack[1], n)
	if !ok {
		inst.log(abi.LogWarn, "log called with a range outside memory")
		return
	}
	inst.log(int32(stack[0]), string(b))
}

func hostError(inst *instance, stack []uint64) {
	code := abi.ErrorCode(int32(stack[0]))
	if code < abi.ErrInvalidInput || code > abi.ErrRejected {
		code = abi.ErrInternal
	}
	b, ok := inst.read(stack[1], min(stack[2], maxErrMessage))
	msg := string(b)
	if !ok {
		msg = "(error message outside memory)"
	}
	if msg == "" {
		msg = code.String()
	}
	inst.guestErr = &CallError{Code: CodeFailed, Guest: code, Message: msg}
}

func hostConfigGet(inst *instance, stack []uint64) {
	key, ok := inst.read(stack[0], stack[1])
	if !ok {
		stack[0] = inst.fail(abi.StatusInvalid, "key outside memory")
		return
	}
	if inst.call == nil || len(inst.call.Config) == 0 {
		stack[0] = status(abi.StatusNotFound)
		return
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(inst.call.Config, &obj); err != nil {
		stack[0] = status(abi.StatusNotFound)
		return
	}
	v, found := obj[string(key)]
	if !found {
		stack[0] = status(abi.StatusNotFound)
		return
	}
	stack[0] = inst.setResult(v)
}

func hostSecretGet(inst *instance, stack []uint64) {
	name, ok := inst.read(stack[0], stack[1])
	if !ok {
		stack[0] = inst.fail(abi.StatusInvalid, "name outside memory")
		return
	}
	if inst.call == nil {
		stack[0] = status(abi.StatusNotFound)
		return
	}
	v, found := inst.call.Secrets[string(name)]
	if !found {
		stack[0] = status(abi.StatusNotFound)
		return
	}
	stack[0] = inst.setResult([]byte(v))
}

func (inst *instance) kvKey(ptr, n uint64) ([]byte, int32, string) {
	if n == 0 || n > abi.MaxKVKeyBytes {
		return nil, abi.StatusLimit, fmt.Sprintf("keys are 1 to %d bytes", abi.MaxKVKeyBytes)
	}
	k, ok := inst.read(ptr, n)
	if !ok {
		return nil, abi.StatusInvalid, "key outside memory"
	}
	if inst.call == nil || inst.call.KV == nil {
		return nil, abi.StatusUnavailable, "no key-value store in this call"
	}
	return append([]byte(nil), k...), 0, ""
}

func hostKVGet(inst *instance, stack []uint64) {
	k, s, msg := inst.kvKey(stack[0], stack[1])
	if s != 0 {
		stack[0] = inst.fail(s, msg)
		return
	}
	v, found, err := inst.call.KV.Get(k)
	switch {
	case err != nil:
		stack[0] = inst.fail(abi.StatusFailed, err.Error())
	case !found:
		stack[0] = status(abi.StatusNotFound)
	default:
		stack[0] = inst.setResult(v)
	}
}

func hostKVSet(inst *instance, stack []uint64) {
	k, s, msg := inst.kvKey(stack[0], stack[1])
	if s != 0 {
		stack[0] = inst.fail(s, msg)
		return
	}
	if inst.call.ReadOnlyKV {
		stack[0] = inst.fail(abi.StatusUnavailable, "this call may read the store but not write it")
		return
	}
	if stack[3] > abi.MaxKVValueBytes {
		stack[0] = inst.fail(abi.StatusLimit, fmt.Sprintf("values are at most %d bytes", abi.MaxKVValueBytes))
		return
	}
	v, ok := inst.read(stack[2], stack[3])
	if !ok {
		stack[0] = inst.fail(abi.StatusInvalid, "value outside memory")
		return
	}
	if err := inst.call.KV.Set(k, append([]byte(nil), v...)); err != nil {
		stack[0] = inst.fail(abi.StatusFailed, err.Error())
		return
	}
	stack[0] = 0
}

func hostKVDelete(inst *instance, stack []uint64) {
	k, s, msg := inst.kvKey(stack[0], stack[1])
	if s != 0 {
		stack[0] = inst.fail(s, msg)
		return
	}
	if inst.call.ReadOnlyKV {
		stack[0] = inst.fail(abi.StatusUnavailable, "this call may read the store but not write it")
		return
	}
	if err := inst.call.KV.Delete(k); err != nil {
		stack[0] = inst.fail(abi.StatusFailed, err.Error())
		return
	}
	stack[0] = 0
}

func hostTakeResult(inst *instance, stack []uint64) {
	n := min(uint64(len(inst.result)), stack[1])
	if n > 0 && !inst.mem.Write(uint32(stack[0]), inst.result[:n]) {
		stack[0] = status(abi.StatusInvalid)
		return
	}
	inst.result = nil
	stack[0] = n
}

// HTTPRequest is the JSON a guest passes to http_request.
type HTTPRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// HTTPResponse is the JSON http_request puts in the result slot.
type HTTPResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func hostHTTPRequest(inst *instance, stack []uint64) {
	lim := &inst.p.Manifest.Limits
	if stack[1] > maxHTTPRequest {
		stack[0] = inst.fail(abi.StatusLimit, "request JSON larger than 1 MiB")
		return
	}
	raw, ok := inst.read(stack[0], stack[1])
	if !ok {
		stack[0] = inst.fail(abi.StatusInvalid, "request outside memory")
		return
	}
	var req HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		stack[0] = inst.fail(abi.StatusInvalid, "request is not the JSON sdk/ABI.md describes: "+err.Error())
		return
	}
	if inst.httpCalls >= lim.MaxHTTPCalls {
		stack[0] = inst.fail(abi.StatusLimit, fmt.Sprintf("limits.maxHttpCalls allows %d requests per call", lim.MaxHTTPCalls))
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		stack[0] = inst.fail(abi.StatusInvalid, fmt.Sprintf("url %q must be an absolute http or https URL", req.URL))
		return
	}
	if !inst.p.Manifest.HostAllowed(u.Hostname()) {
		stack[0] = inst.fail(abi.StatusDenied, fmt.Sprintf("host %q is not in the manifest's allowedHosts", u.Hostname()))
		return
	}
	inst.httpCalls++
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = fasthttp.MethodGet
	}
	hreq, hresp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(hreq)
	defer fasthttp.ReleaseResponse(hresp)
	hreq.SetRequestURI(req.URL)
	hreq.Header.SetMethod(method)
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	if req.Body != "" {
		hreq.SetBodyString(req.Body)
	}
	// The request may use what is left of the call's deadline.
	left := time.Duration(inst.deadline.Load() - inst.p.host.wd.now())
	if left <= 0 {
		stack[0] = inst.fail(abi.StatusFailed, "no time left before the call's deadline")
		return
	}
	if err := inst.p.http.DoTimeout(hreq, hresp, left); err != nil {
		switch {
		case errors.Is(err, netguard.ErrRefused):
			stack[0] = inst.fail(abi.StatusDenied, err.Error())
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			stack[0] = inst.fail(abi.StatusLimit, fmt.Sprintf("response body larger than limits.maxHttpResponseBytes (%d)", lim.MaxHTTPResponseBytes))
		default:
			stack[0] = inst.fail(abi.StatusFailed, err.Error())
		}
		return
	}
	out := HTTPResponse{Status: hresp.StatusCode(), Headers: map[string]string{}, Body: string(hresp.Body())}
	for k, v := range hresp.Header.All() {
		out.Headers[string(k)] = string(v)
	}
	b, _ := json.Marshal(out)
	stack[0] = inst.setResult(b)
}
