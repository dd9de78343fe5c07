package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// node is the Wayline node under test: one this process started, or an external one.
type node struct {
	url string
	key string
	cmd *exec.Cmd
	dir string
	log bytes.Buffer
}

// startNode runs `wayline serve` from binary in a fresh temp dir on a free loopback port.
func startNode(binary string) (*node, error) {
	dir, err := os.MkdirTemp("", "wayline-bench-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	kb := make([]byte, 16)
	_, _ = rand.Read(kb)
	n := &node{url: "http://" + addr, key: "bench-" + hex.EncodeToString(kb), dir: dir}
	// The bench sink listens on loopback, which the outbound guard refuses unless allowed.
	n.cmd = exec.Command(binary, "serve", "--data", dir, "--listen", addr, "--admin-key", n.key, "--log-level", "warn", "--allow-net", "127.0.0.1")
	n.cmd.Stdout, n.cmd.Stderr = &n.log, &n.log
	if err := n.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(n.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.stop()
	return nil, fmt.Errorf("the node did not become ready in 30s:\n%s", n.log.String())
}

func (n *node) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			n.cmd.Process.Kill()
			<-done
		}
	}
	if n.dir != "" {
		os.RemoveAll(n.dir)
	}
}

// usage is the node's CPU time so far and its peak resident memory, read from /proc (Linux).
type usage struct {
	cpu     time.Duration
	peakRSS int64 // bytes
	ok      bool
}

func (n *node) usage() usage {
	if n.cmd == nil || n.cmd.Process == nil {
		return usage{}
	}
	pid := n.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return usage{}
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	u := usage{cpu: time.Duration(utime+stime) * time.Second / 100, ok: true} // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				u.peakRSS = kb << 10
			}
		}
	}
	return u
}
