package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/store"
)

func openMeta(t *testing.T) (*Store, *store.Store) {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st), st
}

// written flattens reports to "kind/id=value" or "kind/id deleted", one string per write.
func written(ws []Write) []string {
	var out []string
	for _, w := range ws {
		if w.Deleted {
			out = append(out, fmt.Sprintf("%s/%s deleted", w.Kind, w.ID))
		} else {
			out = append(out, fmt.Sprintf("%s/%s=%s", w.Kind, w.ID, w.Value))
		}
	}
	return out
}

func TestOnWriteReportsEveryLocalWriteWithTheBytesStored(t *testing.T) {
	m, _ := openMeta(t)
	var reports [][]string
	m.OnWrite(func(ws []Write) { reports = append(reports, written(ws)) })
	step := func(name string, want []string, do func() error) {
		t.Helper()
		reports = nil
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want == nil {
			if len(reports) != 0 {
				t.Fatalf("%s: reported %v, want nothing", name, reports)
			}
			return
		}
		if len(reports) != 1 || !reflect.DeepEqual(reports[0], want) {
			t.Fatalf("%s: reported %v, want one report %v", name, reports, want)
		}
	}
	step("put", []string{`action/a={"id":"a"}`}, func() error {
		return m.Put(KindAction, "a", map[string]string{"id": "a"})
	})
	step("publish with staged writes", []string{
		`jver/j/00000001={"v":1}`, "pluginbin/sha=\x00raw", "evdef/old deleted", `journey/j={"live":1}`,
	}, func() error {
		return m.Update(KindJourney, "j", func(cur []byte, tx *Tx) (any, error) {
			if err := tx.Put(KindJourneyVersion, "j/00000001", map[string]int{"v": 1}); err != nil {
				return nil, err
			}
			if err := tx.PutRaw(KindPluginBinary, "sha", []byte("\x00raw")); err != nil {
				return nil, err
			}
			if err := tx.Delete(KindEventDef, "old"); err != nil {
				return nil, err
			}
			return map[string]int{"live": 1}, nil
		})
	})
	step("aborted update", nil, func() error {
		err := m.Update(KindJourney, "j", func(cur []byte, tx *Tx) (any, error) {
			tx.Put(KindJourneyVersion, "j/00000002", 2)
			return nil, errors.New("boom")
		})
		if err == nil {
			return errors.New("the update did not fail")
		}
		return nil
	})
	step("delete", []string{"action/a deleted"}, func() error { return m.Delete(KindAction, "a") })
	step("delete of a missing record", nil, func() error {
		if err := m.Delete(KindAction, "a"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("err = %v, want ErrNotFound", err)
		}
		return nil
	})
	for _, id := range []string{"x", "y", "z"} {
		if err := m.Put(KindIdempotency, id, id == "y"); err != nil {
			t.Fatal(err)
		}
	}
	step("prune", []string{"idem/x deleted", "idem/z deleted"}, func() error {
		n, err := m.Prune(KindIdempotency, func(raw []byte) bool { return string(raw) == "false" })
		if err == nil && n != 2 {
			err = fmt.Errorf("pruned %d, want 2", n)
		}
		return err
	})
	step("prune of nothing", nil, func() error {
		_, err := m.Prune(KindIdempotency, func([]byte) bool { return false })
		return err
	})
}

func TestOnWriteReportsConcurrentWritesInCommitOrder(t *testing.T) {
	m, _ := openMeta(t)
	var (
		seq     int // assigned inside Update's fn, which runs under the write lock
		got     []int
		writers sync.WaitGroup
	)
	m.OnWrite(func(ws []Write) {
		var n int
		if err := json.Unmarshal(ws[0].Value, &n); err != nil {
			t.Errorf("decode %q: %v", ws[0].Value, err)
		}
		got = append(got, n) // reports are serialised: no lock needed, the race detector checks
	})
	for w := 0; w < 8; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 20; i++ {
				err := m.Update(KindAction, fmt.Sprint("a", w), func([]byte, *Tx) (any, error) {
					seq++
					return seq, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	if len(got) != 160 {
		t.Fatalf("%d reports, want 160", len(got))
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("report %d carried commit %d: reports are not in commit order (%v)", i, n, got)
		}
	}
}

func TestApplyRemoteCommitsWithExtraCallsOnChangeNotOnWrite(t *testing.T) {
	m, st := openMeta(t)
	if err := m.Put(KindAction, "gone", map[string]string{"id": "gone"}); err != nil {
		t.Fatal(err)
	}
	var changes []string
	m.OnChange(func(kind string) { changes = append(changes, kind) })
	m.OnWrite(func(ws []Write) { t.Errorf("OnWrite called for remote writes %v", written(ws)) })

	extraKey := []byte("v-test-extra")
	ws := []Write{
		{Kind: KindAction, ID: "new", Value: []byte(`{"id":"new"}`)},
		{Kind: KindAction, ID: "gone", Deleted: true},
		{Kind: KindJourney, ID: "j", Value: []byte(`{"id":"j"}`)},
	}
	err := m.ApplyRemote(ws, func(b *pebble.Batch) error { return b.Set(extraKey, []byte("x"), nil) })
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := m.GetRaw(KindAction, "new"); err != nil || string(raw) != `{"id":"new"}` {
		t.Fatalf("action new = %q, %v", raw, err)
	}
	if ok, _ := m.Exists(KindAction, "gone"); ok {
		t.Fatal("the remote deletion was not applied")
	}
	if _, ok, _ := store.Get(st.DB, extraKey); !ok {
		t.Fatal("what extra staged was not committed")
	}
	if want := []string{KindAction, KindJourney}; !reflect.DeepEqual(changes, want) {
		t.Fatalf("OnChange got %v, want once per kind %v", changes, want)
	}

	changes = nil
	boom := errors.New("boom")
	err = m.ApplyRemote([]Write{{Kind: KindAction, ID: "other", Value: []byte("{}")}},
		func(b *pebble.Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want extra's error", err)
	}
	if ok, _ := m.Exists(KindAction, "other"); ok {
		t.Fatal("an apply whose extra failed wrote its records")
	}
	if len(changes) != 0 {
		t.Fatalf("OnChange called for an aborted apply: %v", changes)
	}
}

func TestApplyRemoteExtraSeesWhatEarlierOnWriteHooksStored(t *testing.T) {
	m, st := openMeta(t)
	hookKey := []byte("v-test-hook")
	entered, release := make(chan struct{}), make(chan struct{})
	m.OnWrite(func(ws []Write) {
		close(entered)
		<-release
		if err := st.DB.Set(hookKey, []byte("1"), pebble.Sync); err != nil {
			t.Error(err)
		}
	})
	go m.Put(KindAction, "a", 1)
	<-entered
	saw := make(chan bool, 1)
	go func() {
		err := m.ApplyRemote(nil, func(b *pebble.Batch) error {
			_, ok, err := store.Get(st.DB, hookKey)
			saw <- ok
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-saw:
		t.Fatal("extra ran while an earlier write's OnWrite hook was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if !<-saw {
		t.Fatal("extra did not see what the earlier hook stored")
	}
}
