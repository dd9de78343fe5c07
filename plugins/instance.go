package plugins

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wayline/wayline/plugins/internal/instrument"
	"github.com/wayline/wayline/sdk/abi"
)

// instance is one instantiated module. One call at a time uses it; the watchdog reads only its
// deadline and closes the module when the deadline passes.
type instance struct {
	p    *Plugin
	mod  api.Module
	mem  api.Memory
	stop api.MutableGlobal // set by the watchdog: the guest traps at its next loop head

	alloc, free api.Function
	handlers    map[string]api.Function
	stack       []uint64

	inPtr, inCap uint32 // the reusable input buffer in guest memory

	deadline atomic.Int64 // watchdog clock nanos; 0 when idle
	timedOut atomic.Bool
	broken   bool // discard after this call

	// per call
	call      *Call
	result    []byte // the result slot (host function output waiting for take_result)
	guestErr  *CallError
	httpCalls int
	logLines  int
	logw      *logWriter
}

const initTimeout = 2 * time.Second

func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{p: p, handlers: map[string]api.Function{}, stack: make([]uint64, 2)}
	inst.logw = &logWriter{inst: inst}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // a reactor: _initialize is called below, under a deadline
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStdout(inst.logw).
		WithStderr(inst.logw).
		WithNanosleep(inst.sleep)
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, cfg)
	if err != nil {
		return nil, &FieldError{"module", "cannot be instantiated: " + firstLine(err.Error()) + memoryHint(err, p.Manifest)}
	}
	inst.mod, inst.mem = mod, mod.Memory()
	if g, ok := mod.ExportedGlobal(instrument.StopExport).(api.MutableGlobal); ok {
		inst.stop = g
	}
	p.byMod.Store(mod, inst)
	p.host.wd.add(inst)
	fail := func(err error) (*instance, error) {
		inst.discard()
		return nil, err
	}
	if mem := mod.Memory(); mem == nil {
		return fail(&FieldError{"module", "has no memory"})
	}
	inst.alloc, inst.free = mod.ExportedFunction(abi.ExportAlloc), mod.ExportedFunction(abi.ExportFree)
	for _, name := range []string{abi.ExportCondition, abi.ExportConditionBatch, abi.ExportDataSource, abi.ExportAction} {
		if f := mod.ExportedFunction(name); f != nil {
			inst.handlers[name] = f
		}
	}
	if init := mod.ExportedFunction(abi.ExportInitialize); init != nil {
		inst.arm(initTimeout)
		_, err := init.Call(ctx)
		inst.disarm()
		if err != nil {
			return fail(&FieldError{"module", "its _initialize failed: " + inst.describe(err, initTimeout).Message})
		}
	}
	if err := inst.growInput(4096); err != nil {
		return fail(&FieldError{"module", "wayline_alloc failed at start: " + err.Error()})
	}
	return inst, nil
}

func memoryHint(err error, m *Manifest) string {
	if strings.Contains(err.Error(), "memory") {
		return fmt.Sprintf(" (limits.memoryPages is %d pages of 64 KiB)", m.Limits.MemoryPages)
	}
	return ""
}

// sleep is the guest's clock sleep (poll_oneoff): it never sleeps past the call's deadline, so
// a plugin cannot hide from the watchdog in a sleep.
func (inst *instance) sleep(ns int64) {
	if d := inst.deadline.Load(); d != 0 {
		ns = min(ns, d-inst.p.host.wd.now()+int64(time.Millisecond))
	}
	if ns > 0 {
		time.Sleep(time.Duration(ns))
	}
}

func (inst *instance) discard() {
	inst.broken = true
	inst.p.host.wd.remove(inst)
	inst.p.byMod.Delete(inst.mod)
	_ = inst.mod.Close(context.Background())
	select {
	case <-inst.p.slots:
	default:
	}
}

func (inst *instance) arm(d time.Duration) {
	inst.timedOut.Store(false)
	if inst.stop != nil {
		inst.stop.Set(instrument.Fuel) // a fresh budget of loop iterations (see instrument.Fuel)
	}
	inst.deadline.Store(inst.p.host.wd.deadline(d))
}

// disarm ends the deadline; when the watchdog already claimed it, the instance is being
// closed and must not be reused.
func (inst *instance) disarm() {
	if inst.deadline.Swap(0) == 0 {
		inst.broken = true
	}
}

// growInput makes the input buffer hold at least n bytes.
func (inst *instance) growInput(n int) error {
	if uint32(n) <= inst.inCap && inst.inPtr != 0 {
		return nil
	}
	size := max(uint32(n), inst.inCap*2, 4096)
	if inst.inPtr != 0 {
		inst.stack[0], inst.stack[1] = uint64(inst.inPtr), uint64(inst.inCap)
		if err := inst.free.CallWithStack(context.Background(), inst.stack[:2]); err != nil {
			return err
		}
		inst.inPtr, inst.inCap = 0, 0
	}
	inst.arm(initTimeout)
	inst.stack[0] = uint64(size)
	err := inst.alloc.CallWithStack(context.Background(), inst.stack[:1])
	inst.disarm()
	if err != nil {
		return err
	}
	ptr := uint32(inst.stack[0])
	if ptr == 0 {
		return errors.New("the guest is out of memory")
	}
	if _, ok := inst.mem.Read(ptr, size); !ok {
		return fmt.Errorf("wayline_alloc returned %d, outside memory", ptr)
	}
	inst.inPtr, inst.inCap = ptr, size
	return nil
}

// run calls one handler export with the input and returns a copy of the output.
func (inst *instance) run(ctx context.Context, export string, c *Call, timeout time.Duration) ([]byte, *CallError) {
	lim := &inst.p.Manifest.Limits
	fn := inst.handlers[export]
	if fn == nil {
		return nil, &CallError{Code: CodeFailed, Guest: abi.ErrInternal, Message: "the plugin does not export " + export}
	}
	if len(c.Input) > lim.MaxInputBytes {
		return nil, &CallError{Code: CodeLimit, Message: fmt.Sprintf("input is %d bytes; limits.maxInputBytes allows %d", len(c.Input), lim.MaxInputBytes)}
	}
	if err := inst.growInput(len(c.Input)); err != nil {
		inst.broken = true
		return nil, &CallError{Code: CodeTrapped, Message: "allocating the input: " + firstLine(err.Error())}
	}
	if !inst.mem.Write(inst.inPtr, c.Input) {
		inst.broken = true
		return nil, &CallError{Code: CodeTrapped, Message: "the input buffer is outside memory"}
	}
	inst.call, inst.result, inst.guestErr, inst.httpCalls, inst.logLines = c, nil, nil, 0, 0
	defer func() { inst.call, inst.result = nil, nil }()

	inst.arm(timeout)
	inst.stack[0], inst.stack[1] = uint64(inst.inPtr), uint64(len(c.Input))
	err := fn.CallWithStack(ctx, inst.stack[:2])
	inst.disarm()
	if err != nil {
		inst.broken = true
		return nil, inst.describe(err, timeout)
	}
	if inst.guestErr != nil {
		return nil, inst.guestErr
	}
	packed := inst.stack[0]
	ptr, n := uint32(packed>>32), uint32(packed)
	if ptr == 0 && n == 0 {
		return nil, &CallError{Code: CodeFailed, Guest: abi.ErrInternal, Message: "the handler returned no output and reported no error"}
	}
	if int64(n) > int64(lim.MaxOutputBytes) {
		inst.broken = true
		return nil, &CallError{Code: CodeLimit, Message: fmt.Sprintf("output is %d bytes; limits.maxOutputBytes allows %d", n, lim.MaxOutputBytes)}
	}
	out, ok := inst.mem.Read(ptr, n)
	if !ok {
		inst.broken = true
		return nil, &CallError{Code: CodeTrapped, Message: fmt.Sprintf("the handler returned output at %d+%d, outside its %d bytes of memory", ptr, n, inst.mem.Size())}
	}
	return append([]byte(nil), out...), nil
}

// describe turns a failed wasm call into the error a caller sees.
func (inst *instance) describe(err error, timeout time.Duration) *CallError {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case exitTimeout:
			return &CallError{Code: CodeTimeout, Message: fmt.Sprintf("the call ran past its %v deadline (limits.timeout) and was stopped", timeout)}
		case exitLimit:
			return &CallError{Code: CodeLimit, Message: "the plugin broke a limit and was stopped"}
		}
		return &CallError{Code: CodeTrapped, Message: fmt.Sprintf("the plugin exited with code %d", exit.ExitCode())}
	}
	if inst.timedOut.Load() {
		return &CallError{Code: CodeTimeout, Message: fmt.Sprintf("the call ran past its %v deadline (limits.timeout) and was stopped", timeout)}
	}
	return &CallError{Code: CodeTrapped, Message: "the plugin trapped: " + firstLine(err.Error())}
}

// logWriter sends a guest's stdout and stderr to its log, line by line.
type logWriter struct {
	inst *instance
	buf  []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		w.inst.log(abi.LogInfo, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLogLine {
		w.inst.log(abi.LogInfo, string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(b), nil
}
