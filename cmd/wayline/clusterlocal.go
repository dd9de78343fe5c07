package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const clusterLocalUsage = `Usage: wayline cluster local [--nodes N] [--data DIR]

Starts N nodes (3 by default) of this binary as one cluster on 127.0.0.1: node i serves its API
on :808i (8081, 8082, 8083), gossips on :794(5+i) and talks to the others on :795(5+i). Data
and logs go to DIR/n1, DIR/n2 ... (./wayline-cluster-data by default), so a second start finds
the same cluster. The admin key, the designer's admin password and the cluster secret are
made on the first start and kept in DIR. The first node loads the demo workspace. Ctrl-C
stops every node, each handing its partitions off first.

`

// clusterLocal is `wayline cluster local` (make cluster).
func clusterLocal(args []string) int {
	fs := flag.NewFlagSet("cluster local", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "how many nodes (1 to 9)")
	data := fs.String("data", "wayline-cluster-data", "directory for every node's data and log")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), clusterLocalUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *nodes < 1 || *nodes > 9 {
		fmt.Fprintln(os.Stderr, "wayline cluster local: --nodes must be from 1 to 9")
		return 2
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
		return 1
	}
	key, err1 := keptSecret(filepath.Join(*data, "admin-key"))
	password, err2 := keptSecret(filepath.Join(*data, "admin-password"))
	secret, err3 := keptSecret(filepath.Join(*data, "cluster-secret"))
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
		return 1
	}
	type proc struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	var procs []proc
	var wg sync.WaitGroup
	stopAll := func() {
		for _, p := range procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		wg.Wait()
	}
	for i := 1; i <= *nodes; i++ {
		dir := filepath.Join(*data, fmt.Sprintf("n%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
			stopAll()
			return 1
		}
		logf, err := os.OpenFile(filepath.Join(dir, "wayline.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
			stopAll()
			return 1
		}
		a := []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", fmt.Sprintf("127.0.0.1:%d", 8080+i),
			"--admin-key", key, "--admin-password", password, "--node", fmt.Sprintf("n%d", i),
			"--gossip", fmt.Sprintf("127.0.0.1:%d", 7945+i), "--internal", fmt.Sprintf("127.0.0.1:%d", 7955+i),
			"--cluster-secret", secret, "--join", "127.0.0.1:7946"}
		if i == 1 {
			a = append(a, "--demo")
		}
		cmd := exec.Command(exe, a...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches this process; it stops the nodes in order
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "wayline cluster local:", err)
			stopAll()
			return 1
		}
		p := proc{cmd: cmd, done: make(chan struct{})}
		procs = append(procs, p)
		wg.Add(1)
		go func() { defer wg.Done(); cmd.Wait(); logf.Close(); close(p.done) }()
		url := fmt.Sprintf("http://127.0.0.1:%d", 8080+i)
		if !waitURL(url+"/readyz", 30*time.Second) {
			fmt.Fprintf(os.Stderr, "wayline cluster local: node n%d did not start; see %s\n", i, logf.Name())
			stopAll()
			return 1
		}
		fmt.Printf("n%d: %s   (log: %s)\n", i, url, logf.Name())
	}
	fmt.Printf("\nAdmin API key:   %s\nDesigner login:  admin / %s\n\n", key, password)
	fmt.Printf("  export WAYLINE_KEY=%s\n  wayline cluster status --url http://127.0.0.1:8081\n\nCtrl-C stops the cluster.\n", key)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("stopping: each node hands its partitions off, then exits ...")
	// One at a time, last first: each leaves while the others can still take its partitions.
	for i := len(procs) - 1; i >= 0; i-- {
		_ = procs[i].cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-procs[i].done:
		case <-time.After(40 * time.Second):
		}
	}
	wg.Wait()
	return 0
}

// keptSecret reads a secret kept in path, making and saving one the first time.
func keptSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= 16 {
			return s, nil
		}
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := hex.EncodeToString(b)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

func waitURL(url string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
