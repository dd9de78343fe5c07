package ring

import (
	"fmt"
	"slices"
	"testing"
)

func TestReplicasAreDistinctStableAndIndependentOfOrder(t *testing.T) {
	a := Replicas(7, []string{"n1", "n2", "n3", "n4"}, 3)
	b := Replicas(7, []string{"n4", "n3", "n2", "n1", "n2"}, 3)
	if !slices.Equal(a, b) || len(a) != 3 {
		t.Fatalf("order changed the placement: %v vs %v", a, b)
	}
	seen := map[string]bool{}
	for _, m := range a {
		if seen[m] {
			t.Fatalf("duplicate replica in %v", a)
		}
		seen[m] = true
	}
	if got := Replicas(7, []string{"n1"}, 3); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("fewer members than rf: %v", got)
	}
	if Replicas(7, nil, 3) != nil || Replicas(7, []string{"a"}, 0) != nil {
		t.Fatal("no members or rf 0 must place nothing")
	}
}

// Removing a node moves only the partitions it held; the others keep their leader.
func TestRemovingANodeMovesOnlyItsPartitions(t *testing.T) {
	all := []string{"n1", "n2", "n3", "n4"}
	left := []string{"n1", "n2", "n4"}
	moved, led := 0, map[string]int{}
	for pid := 0; pid < 1024; pid++ {
		before, after := Replicas(pid, all, 1)[0], Replicas(pid, left, 1)[0]
		led[before]++
		if before != after {
			moved++
			if before != "n3" {
				t.Fatalf("partition %d moved from %s though %s is still there", pid, before, before)
			}
		}
	}
	for _, n := range all {
		if led[n] < 1024/4/2 {
			t.Fatalf("placement is lopsided: %v", led)
		}
	}
	if moved != led["n3"] {
		t.Fatalf("moved %d, n3 led %d", moved, led["n3"])
	}
}

func BenchmarkReplicas(b *testing.B) {
	members := make([]string, 5)
	for i := range members {
		members[i] = fmt.Sprintf("node-%d", i)
	}
	for i := 0; i < b.N; i++ {
		Replicas(i%64, members, 3)
	}
}
