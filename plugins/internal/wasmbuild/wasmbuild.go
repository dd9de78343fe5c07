// Package wasmbuild builds the wasm modules tests need from source: C files with Debian's
// clang, Go packages with GOOS=wasip1, and the example plugins built by `make plugins`. Builds
// are cached per process so a test binary compiles each module once.
package wasmbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

var (
	mu    sync.Mutex
	cache = map[string][]byte{}
	tmp   string
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func outDir() (string, error) {
	if tmp != "" {
		return tmp, nil
	}
	d, err := os.MkdirTemp("", "wayline-wasm-")
	if err != nil {
		return "", err
	}
	tmp = d
	return d, nil
}

// C compiles one C file (a path relative to the repository root) into a reactor module.
func C(src string) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[src]; ok {
		return b, nil
	}
	dir, err := outDir()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("clang"); err != nil {
		return nil, fmt.Errorf("clang is not installed: `make plugins` installs clang lld wasi-libc libclang-rt-14-dev-wasm32 (Debian)")
	}
	out := filepath.Join(dir, filepath.Base(src)+".wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-o", out, filepath.Join(Root(), src))
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("clang %s: %v\n%s", src, err, b)
	}
	b, err := os.ReadFile(out)
	if err == nil {
		cache[src] = b
	}
	return b, err
}

// Go builds a Go package (a path relative to the repository root) as a wasip1 reactor.
func Go(pkg string) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[pkg]; ok {
		return b, nil
	}
	dir, err := outDir()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, filepath.Base(pkg)+".go.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./"+pkg)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err == nil {
		cache[pkg] = b
	}
	return b, err
}

// Example returns an example plugin built by `make plugins` (bin/plugins/NAME.wasm) and its
// manifest. Go examples are built on demand when missing.
func Example(name string) (wasm, manifest []byte, err error) {
	manifest, err = os.ReadFile(filepath.Join(Root(), "plugins", "examples", name, "manifest.json"))
	if err != nil {
		return nil, nil, err
	}
	wasm, err = os.ReadFile(filepath.Join(Root(), "bin", "plugins", name+".wasm"))
	if err == nil {
		return wasm, manifest, nil
	}
	if _, statErr := os.Stat(filepath.Join(Root(), "plugins", "examples", name, "main.go")); statErr == nil {
		wasm, err = Go("plugins/examples/" + name)
		return wasm, manifest, err
	}
	return nil, nil, fmt.Errorf("bin/plugins/%s.wasm is missing: run `make plugins` (it installs the toolchains and builds every example)", name)
}
