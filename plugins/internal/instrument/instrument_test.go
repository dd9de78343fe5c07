package instrument

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

// modules returns wasm files to rewrite: the examples `make plugins` built. (The plugins
// package rewrites every module it loads, the sandbox ones included.)
func modules(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, pattern := range []string{"../../../bin/plugins/*.wasm"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out[filepath.Base(f)] = b
			}
		}
	}
	return out
}

func TestRewrittenModulesCompile(t *testing.T) {
	mods := modules(t)
	if len(mods) == 0 {
		t.Skip("no built modules around; the plugins package tests rewrite every module they load")
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for name, b := range mods {
		out, loops, err := Rewrite(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := rt.CompileModule(ctx, out); err != nil {
			t.Errorf("%s: rewritten module does not compile: %v", name, err)
			continue
		}
		t.Logf("%s: %d loops guarded, %d → %d bytes", name, loops, len(b), len(out))
	}
}

func TestRewriteRefusesGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asm\x01\x00\x00\x00\x0a\x05\x01\x03\x00\xff\x0b"), []byte("\x00asm\x02\x00\x00\x00")} {
		if _, _, err := Rewrite(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", b, err)
		}
	}
}

// FuzzRewrite: any bytes are refused or rewritten; a module wazero accepts stays acceptable.
func FuzzRewrite(f *testing.F) {
	for _, b := range modules(f) {
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b"))
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := Rewrite(b)
		if err != nil {
			return
		}
		if _, err := rt.CompileModule(ctx, b); err != nil {
			return // the input was not valid; nothing to preserve
		}
		if _, err := rt.CompileModule(ctx, out); err != nil {
			t.Fatalf("valid module became invalid: %v", err)
		}
	})
}
