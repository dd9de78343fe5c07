package api

import (
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/meta"
)

// A journey that arrives from another node is stored before the node's catalog is rebuilt with
// it. A client that reads it "live" and then sends events must find the engine running it, so
// the read waits for the rebuild.
func TestMetadataReadsWaitForTheRebuildOfWhatTheySee(t *testing.T) {
	c, md := newAPI(t, nil)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	md.OnChange(func(kind string) {
		if kind == meta.KindJourney {
			entered <- struct{}{}
			<-release // the catalog rebuild this write triggers, slowed down
		}
	})
	go md.ApplyRemote([]meta.Write{{Kind: meta.KindJourney, ID: "onboard",
		Value: []byte(`{"id":"onboard","name":"Onboarding","status":"live","liveVersion":1}`)}}, nil)
	<-entered
	got := make(chan apiResp, 1)
	go func() { got <- c.json("GET", "/v1/journeys/onboard", nil) }()
	select {
	case r := <-got:
		t.Fatalf("the journey was served (%d %s) while the rebuild it triggers was still running", r.status, r.body)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.status != 200 {
		t.Fatalf("after the rebuild: %d %s", r.status, r.body)
	}
}
