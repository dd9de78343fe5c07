package users

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore opens a fresh store with cheap argon2 parameters (the format and checks are the
// same; only the cost differs).
func newStore(t *testing.T) (*Store, *meta.Store, *clock) {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := meta.New(st)
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s, err := New(m, Config{ArgonTime: 1, ArgonMemoryKiB: 64, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, m, c
}

func field(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return string(e.Code) + "@" + e.Field
	}
	return "not an API error: " + err.Error()
}

func TestCreateRefusesBadInputNamingTheField(t *testing.T) {
	s, _, _ := newStore(t)
	cases := []struct{ name, user, role, pw, want string }{
		{"empty username", "", "admin", "long enough pw", "invalid_request@username"},
		{"space in username", "ada lovelace", "admin", "long enough pw", "invalid_request@username"},
		{"ingest is for keys", "ada", "ingest", "long enough pw", "invalid_request@role"},
		{"short password", "ada", "admin", "short", "invalid_request@password"},
		{"huge password", "ada", "admin", strings.Repeat("x", MaxPasswordLen+1), "invalid_request@password"},
	}
	for _, c := range cases {
		_, err := s.Create(c.user, c.role, c.pw)
		if err == nil {
			t.Errorf("%s: Create succeeded; want %s", c.name, c.want)
			continue
		}
		if got := field(err); got != c.want {
			t.Errorf("%s: error %s; want %s (%v)", c.name, got, c.want, err)
		}
	}
	if _, err := s.Create("Ada@Example.com", "editor", "correct horse battery"); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.Create("ada@example.com", "viewer", "another password"); field(err) != "already_exists@username" {
		t.Errorf("a duplicate username (case-insensitive) gave %v; want already_exists", err)
	}
}

func TestPasswordIsStoredAsArgon2idHashOnly(t *testing.T) {
	s, m, _ := newStore(t)
	if _, err := s.Create("ada", "admin", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	var stored User
	if err := m.Get(meta.KindUser, "ada", &stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(stored.PasswordHash, "horse") {
		t.Errorf("stored hash %q is not an argon2id PHC string", stored.PasswordHash)
	}
	if v := stored.View(); v.Username != "ada" || v.Role != "admin" {
		t.Errorf("view %+v", v)
	}
	// The same password hashes differently each time (a fresh salt).
	first, second := s.hash("pw-pw-pw-pw"), s.hash("pw-pw-pw-pw")
	if first == second {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestSignInLookupSignOut(t *testing.T) {
	s, _, c := newStore(t)
	if _, err := s.Create("ada", "editor", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.SignIn("ada", "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v; want ErrBadCredentials", err)
	}
	if _, _, _, err := s.SignIn("bob", "correct horse battery"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown user: %v; want ErrBadCredentials", err)
	}
	token, sess, u, err := s.SignIn(" ADA ", "correct horse battery")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if u.ID != "ada" || sess.UserID != "ada" || !sess.ExpiresAt.Equal(c.now().Add(12*time.Hour)) {
		t.Errorf("session %+v for %+v", sess, u)
	}
	if strings.Contains(sess.ID, token) || sess.ID == token {
		t.Error("the session record holds the token itself; it must hold only its hash")
	}
	if _, got, ok := s.Lookup(token); !ok || got.Role != model.RoleEditor {
		t.Fatalf("Lookup of a fresh session: ok=%v user=%+v", ok, got)
	}
	if _, _, ok := s.Lookup(token + "x"); ok {
		t.Error("Lookup accepted a wrong token")
	}
	c.add(12*time.Hour + time.Second)
	if _, _, ok := s.Lookup(token); ok {
		t.Error("Lookup accepted an expired session")
	}
	token2, _, _, err := s.SignIn("ada", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.index.Load().sessions) != 1 {
		t.Errorf("%d sessions stored after a sign-in; want the expired one swept", len(s.index.Load().sessions))
	}
	if err := s.SignOut(token2); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Lookup(token2); ok {
		t.Error("Lookup accepted a signed-out session")
	}
	if err := s.SignOut(token2); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
}

func TestCSRFTokenIsBoundToTheSession(t *testing.T) {
	a, b := newToken(), newToken()
	if !CheckCSRF(a, CSRFToken(a)) {
		t.Error("the session's own CSRF token is refused")
	}
	if CheckCSRF(a, CSRFToken(b)) || CheckCSRF(a, "") || CheckCSRF("", CSRFToken("")) {
		t.Error("a CSRF token of another session (or none) is accepted")
	}
}

func TestPasswordChangeEndsSessionsAndLastAdminStays(t *testing.T) {
	s, _, _ := newStore(t)
	if _, err := s.Create("root", "admin", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	token, _, _, err := s.SignIn("root", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update("root", "viewer", ""); field(err) != "in_use@role" {
		t.Errorf("demoting the last admin: %v; want in_use", err)
	}
	if err := s.Delete("root"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Errorf("deleting the last admin: %v; want a refusal", err)
	}
	if _, err := s.Update("root", "", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Lookup(token); ok {
		t.Error("a session survived its user's password change")
	}
	if _, _, _, err := s.SignIn("root", "a brand new password"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if _, err := s.Create("ed", "editor", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	edToken, _, _, err := s.SignIn("ed", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("ed"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Lookup(edToken); ok {
		t.Error("a deleted user's session still resolves")
	}
	if err := s.Delete("ed"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleting a missing user: %v; want meta.ErrNotFound", err)
	}
	if got := s.List(); len(got) != 1 || got[0].Username != "root" {
		t.Errorf("List = %+v", got)
	}
}

// Users and sessions survive a restart: they are metadata, re-read by New.
func TestUsersAndSessionsAreDurable(t *testing.T) {
	dir := t.TempDir()
	open := func() (*store.Store, *Store) {
		st, err := store.Open(store.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(meta.New(st), Config{ArgonTime: 1, ArgonMemoryKiB: 64})
		if err != nil {
			t.Fatal(err)
		}
		return st, s
	}
	st, s := open()
	if _, err := s.Create("ada", "viewer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	token, _, _, err := s.SignIn("ada", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, s = open()
	defer st.Close()
	if _, u, ok := s.Lookup(token); !ok || u.Role != "viewer" {
		t.Errorf("after reopening, Lookup = %v, %+v", ok, u)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	s, _, _ := newStore(t)
	for _, phc := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$"} {
		if s.verify(phc, "anything") {
			t.Errorf("verify accepted %q", phc)
		}
	}
}
