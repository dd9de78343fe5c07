package actions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

func TestSignedActionCarriesAStripeStyleSignatureForEverySecret(t *testing.T) {
	srv, got := recordingServer(t, 200, "ok")
	s := newTestSender(t, SenderConfig{})
	a := &model.Action{ID: "hook", Method: "POST", Signing: &model.ActionSigning{Secrets: []string{"old", "new"}}}
	body := []byte(`{"user":"ann"}`)
	if r := s.Send(context.Background(), Call{Action: a, URL: srv.URL + "/hook", Body: body}); !r.OK {
		t.Fatalf("send: %+v", r)
	}
	h := (<-got).header.Get(HeaderSignature)
	for _, secret := range []string{"old", "new"} {
		if err := Verify(h, []string{secret}, body, 5*time.Minute, time.Now()); err != nil {
			t.Errorf("a receiver with secret %q refuses %q: %v", secret, h, err)
		}
	}
	if err := Verify(h, []string{"other"}, body, 5*time.Minute, time.Now()); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("another secret: %v, want a mismatch", err)
	}
	if err := Verify(h, []string{"new"}, []byte(`{"user":"bob"}`), 5*time.Minute, time.Now()); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("a changed body: %v, want a mismatch", err)
	}
	if err := Verify(h, []string{"new"}, body, 5*time.Minute, time.Now().Add(time.Hour)); !errors.Is(err, ErrSignatureStale) {
		t.Errorf("an hour later: %v, want stale", err)
	}
}

func TestChannelAndSigningSecretsAreWriteOnly(t *testing.T) {
	stored := model.Action{ID: "e", Kind: model.ActionEmail, Provider: &model.Provider{Password: "pw", AuthToken: "tok"},
		Signing: &model.ActionSigning{Secrets: []string{"s1"}}}
	r := Redact(stored)
	if r.Provider.Password != Mask || r.Provider.AuthToken != Mask || r.Signing.Secrets[0] != Mask || stored.Provider.Password != "pw" {
		t.Fatalf("redacted %+v %+v", r.Provider, r.Signing)
	}
	upd := r
	upd.Signing = &model.ActionSigning{Secrets: []string{Mask, "s2"}}
	MergeSecrets(&upd, &stored)
	if upd.Provider.Password != "pw" || upd.Provider.AuthToken != "tok" || upd.Signing.Secrets[0] != "s1" || upd.Signing.Secrets[1] != "s2" {
		t.Errorf("merged %+v %+v; want the stored secrets kept and the new one added", upd.Provider, upd.Signing)
	}
}

func FuzzVerifySignatureHeader(f *testing.F) {
	f.Add(Sign([]string{"k"}, time.Unix(1700000000, 0), []byte("b")))
	f.Add("t=1,v1=zz")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		_ = Verify(h, []string{"k"}, []byte("b"), time.Minute, time.Unix(1700000000, 0))
	})
}
