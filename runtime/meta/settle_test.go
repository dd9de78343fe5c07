package meta

import (
	"sync"
	"testing"
	"time"
)

// A record from another node is readable once its batch commits, but the catalog it changes is
// rebuilt by the OnChange hook after that. Settled is how a reader waits for the rebuild.
func TestSettledWaitsForTheHooksOfWritesAlreadyCommitted(t *testing.T) {
	m, _ := openMeta(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var rebuilt bool
	var mu sync.Mutex
	m.OnChange(func(kind string) {
		entered <- struct{}{}
		<-release // a slow catalog rebuild
		mu.Lock()
		rebuilt = true
		mu.Unlock()
	})
	applied := make(chan error, 1)
	go func() {
		applied <- m.ApplyRemote([]Write{{Kind: KindJourney, ID: "onboard", Value: []byte(`{"id":"onboard","status":"live"}`)}}, nil)
	}()
	<-entered
	// The record is there already, while its hook still runs.
	if ok, err := m.Exists(KindJourney, "onboard"); err != nil || !ok {
		t.Fatalf("the committed record: exists %v, %v", ok, err)
	}
	if m.Settled(50 * time.Millisecond) {
		t.Fatal("Settled returned while a hook of a committed write was still running")
	}
	waited := make(chan bool, 1)
	go func() { waited <- m.Settled(time.Minute) }()
	close(release)
	if !<-waited {
		t.Fatal("Settled gave up although the hook finished")
	}
	mu.Lock()
	if !rebuilt {
		t.Fatal("Settled returned before the hook finished")
	}
	mu.Unlock()
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
}

// Hooks of concurrent writes may finish in any order; Settled waits for all that committed
// before it was called.
func TestSettledCountsChangesFinishingOutOfOrder(t *testing.T) {
	m, _ := openMeta(t)
	gates := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	started := make(chan string, 2)
	m.OnChange(func(kind string) {
		started <- kind
		if g, ok := gates[kind]; ok {
			<-g
		}
	})
	for _, k := range []string{"a", "b"} {
		go m.Put(k, "x", map[string]string{"v": k})
		<-started
	}
	settled := make(chan bool, 1)
	go func() { settled <- m.Settled(time.Minute) }()
	close(gates["b"]) // the later write finishes first
	select {
	case <-settled:
		t.Fatal("Settled returned while the earlier write's hook was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(gates["a"])
	if !<-settled {
		t.Fatal("Settled gave up although both hooks finished")
	}
	// Nothing pending: true at once, even with no time to wait.
	if !m.Settled(0) {
		t.Fatal("Settled with nothing pending said a change was still running")
	}
}
