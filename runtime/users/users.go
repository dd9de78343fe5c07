// Package users owns the people who sign in to the designer: users with a role (admin, editor,
// viewer) and a password, and their sessions. API keys (runtime/auth) stay for machines.
//
// Passwords are hashed with argon2id (RFC 9106), a memory-hard KDF, so that a stolen metadata
// store does not give up low-entropy passwords cheaply; the parameters are stored with each hash
// (PHC string format) so they can be raised later without breaking existing users. Hashing is
// slow and memory-hungry by design, so at most Config.MaxConcurrentHashes run at once: a burst of
// sign-ins queues instead of eating the node's memory.
//
// A session is a random 256-bit token held by the browser in an HttpOnly cookie; only its
// sha256 is stored. Its CSRF token is derived from it (HMAC), so the server can check the
// double-submitted header on a state-changing call without storing a second secret.
//
// Users and sessions are metadata (meta.KindUser, meta.KindSession): durable, synced, and held
// in memory as an index that is rebuilt on every change, like API keys.
package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// Cookie names. The session cookie is HttpOnly; the CSRF cookie is readable by the page, which
// sends its value back in the CSRFHeader (double submit).
const (
	SessionCookie = "wayline_session"
	CSRFCookie    = "wayline_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Password length bounds (bytes). The upper bound keeps one hash cheap to refuse.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrBadCredentials is returned by SignIn for an unknown user or a wrong password alike.
var ErrBadCredentials = errors.New("users: wrong username or password")

// Config configures the store. Its zero value works.
type Config struct {
	// SessionTTL is how long a session lasts after sign-in (default 12h).
	SessionTTL time.Duration
	// Argon2id parameters (defaults: OWASP's 19 MiB, 2 passes, 1 lane).
	ArgonTime      uint32
	ArgonMemoryKiB uint32
	ArgonThreads   uint8
	// MaxConcurrentHashes bounds the hashes computed at once (default 2).
	MaxConcurrentHashes int
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{SessionTTL: 12 * time.Hour, ArgonTime: 2, ArgonMemoryKiB: 19 * 1024, ArgonThreads: 1, MaxConcurrentHashes: 2, Now: time.Now}
}

// Validate checks the config, naming the field.
func (c Config) Validate() error {
	if c.SessionTTL < 0 {
		return errors.New("users: sessionTTL must not be negative")
	}
	if c.MaxConcurrentHashes < 0 {
		return errors.New("users: maxConcurrentHashes must not be negative")
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.SessionTTL == 0 {
		c.SessionTTL = d.SessionTTL
	}
	if c.ArgonTime == 0 {
		c.ArgonTime = d.ArgonTime
	}
	if c.ArgonMemoryKiB == 0 {
		c.ArgonMemoryKiB = d.ArgonMemoryKiB
	}
	if c.ArgonThreads == 0 {
		c.ArgonThreads = d.ArgonThreads
	}
	if c.MaxConcurrentHashes == 0 {
		c.MaxConcurrentHashes = d.MaxConcurrentHashes
	}
	if c.Now == nil {
		c.Now = d.Now
	}
}

// User is a person who signs in. The stored record holds the password hash; View strips it.
type User struct {
	ID           string    `json:"id"` // the username
	Username     string    `json:"username"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"passwordHash,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// View is a user as the API shows it: never the hash.
type View struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// View returns the user without its hash.
func (u *User) View() View {
	return View{ID: u.ID, Username: u.Username, Role: u.Role, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// Session is a signed-in browser. Only the token's hash is stored (it is the record's id).
type Session struct {
	ID        string    `json:"id"` // hex sha256 of the token
	UserID    string    `json:"userId"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Store manages users and sessions. Safe for concurrent use.
type Store struct {
	meta   *meta.Store
	cfg    Config
	hashes chan struct{} // semaphore bounding concurrent argon2 work
	dummy  string        // a hash verified for unknown users, so timing does not tell them apart
	index  atomic.Pointer[index]
}

type index struct {
	users    map[string]*User
	sessions map[string]*Session
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,127}$`)

// ValidRole reports whether r is a role a user may have (not ingest: that is for machines).
func ValidRole(r string) bool {
	return r == model.RoleAdmin || r == model.RoleEditor || r == model.RoleViewer
}

// New loads users and sessions and keeps the in-memory index fresh on every change.
func New(m *meta.Store, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	s := &Store{meta: m, cfg: cfg, hashes: make(chan struct{}, cfg.MaxConcurrentHashes)}
	s.dummy = s.hash("not a password: used to spend the same time on unknown users")
	if err := s.reload(); err != nil {
		return nil, err
	}
	m.OnChange(func(kind string) {
		if kind == meta.KindUser || kind == meta.KindSession {
			_ = s.reload()
		}
	})
	return s, nil
}

func (s *Store) reload() error {
	idx := &index{users: map[string]*User{}, sessions: map[string]*Session{}}
	err := s.meta.ListAll(meta.KindUser, func(id string, raw []byte) error {
		var u User
		if err := json.Unmarshal(raw, &u); err != nil {
			return fmt.Errorf("users: decode user %q: %w", id, err)
		}
		idx.users[u.ID] = &u
		return nil
	})
	if err != nil {
		return err
	}
	err = s.meta.ListAll(meta.KindSession, func(id string, raw []byte) error {
		var ss Session
		if err := json.Unmarshal(raw, &ss); err != nil {
			return fmt.Errorf("users: decode session: %w", err)
		}
		idx.sessions[ss.ID] = &ss
		return nil
	})
	if err != nil {
		return err
	}
	s.index.Store(idx)
	return nil
}

// Count returns how many users exist.
func (s *Store) Count() int { return len(s.index.Load().users) }

// Get returns a user by id (username).
func (s *Store) Get(id string) (*User, bool) {
	u, ok := s.index.Load().users[id]
	return u, ok
}

// List returns every user, by username.
func (s *Store) List() []View {
	idx := s.index.Load()
	out := make([]View, 0, len(idx.users))
	for _, u := range idx.users {
		out = append(out, u.View())
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Username < out[b].Username })
	return out
}

// NormalizeUsername lower-cases and trims a username as typed.
func NormalizeUsername(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func checkPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return apierr.New(422, apierr.InvalidRequest, "password", "the password must be at least %d characters; a few random words make a good one", MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return apierr.New(422, apierr.InvalidRequest, "password", "the password must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// Create adds a user with a password (which must be long enough). Errors name the field.
func (s *Store) Create(username, role, password string) (*User, error) {
	username = NormalizeUsername(username)
	if !usernamePattern.MatchString(username) {
		return nil, apierr.New(422, apierr.InvalidRequest, "username", "username must be 1-128 lowercase letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit (an email address works)")
	}
	if !ValidRole(role) {
		return nil, apierr.New(422, apierr.InvalidRequest, "role", "role must be one of admin, editor, viewer")
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	u := &User{ID: username, Username: username, Role: role, PasswordHash: s.hash(password), CreatedAt: now, UpdatedAt: now}
	err := s.meta.Update(meta.KindUser, u.ID, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			return nil, apierr.New(409, apierr.AlreadyExists, "username", "user %q already exists", username)
		}
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Update changes a user's role and/or password (empty: unchanged). Changing the password ends
// the user's sessions. The last admin cannot be demoted.
func (s *Store) Update(id, role, password string) (*User, error) {
	if role != "" && !ValidRole(role) {
		return nil, apierr.New(422, apierr.InvalidRequest, "role", "role must be one of admin, editor, viewer")
	}
	var hash string
	if password != "" {
		if err := checkPassword(password); err != nil {
			return nil, err
		}
		hash = s.hash(password)
	}
	var out User
	err := s.meta.Update(meta.KindUser, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		if err := json.Unmarshal(cur, &out); err != nil {
			return nil, err
		}
		if role != "" && role != out.Role && out.Role == model.RoleAdmin && s.admins() <= 1 {
			return nil, apierr.New(409, apierr.InUse, "role", "%q is the last admin; make another user admin first", id)
		}
		if role != "" {
			out.Role = role
		}
		if hash != "" {
			out.PasswordHash = hash
			if err := s.deleteSessionsOf(tx, id); err != nil {
				return nil, err
			}
		}
		out.UpdatedAt = s.cfg.Now().UTC()
		return &out, nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Store) admins() int {
	n := 0
	for _, u := range s.index.Load().users {
		if u.Role == model.RoleAdmin {
			n++
		}
	}
	return n
}

// Delete removes a user and its sessions. The last admin cannot be deleted.
func (s *Store) Delete(id string) error {
	return s.meta.Update(meta.KindUser, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		var u User
		if err := json.Unmarshal(cur, &u); err != nil {
			return nil, err
		}
		if u.Role == model.RoleAdmin && s.admins() <= 1 {
			return nil, apierr.New(409, apierr.InUse, "", "%q is the last admin; make another user admin first", id)
		}
		return nil, s.deleteSessionsOf(tx, id)
	})
}

func (s *Store) deleteSessionsOf(tx *meta.Tx, userID string) error {
	for _, ss := range s.index.Load().sessions {
		if ss.UserID == userID {
			if err := tx.Delete(meta.KindSession, ss.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// SignIn checks a username and password and starts a session, returning its token (to put in
// the cookie; it is not stored). Unknown users and wrong passwords cost the same time and give
// the same ErrBadCredentials.
func (s *Store) SignIn(username, password string) (string, *Session, *User, error) {
	u, ok := s.Get(NormalizeUsername(username))
	if !ok || len(password) > MaxPasswordLen {
		s.verify(s.dummy, password)
		return "", nil, nil, ErrBadCredentials
	}
	if !s.verify(u.PasswordHash, password) {
		return "", nil, nil, ErrBadCredentials
	}
	now := s.cfg.Now().UTC()
	// Expired sessions are swept here: sign-ins are rare, and Lookup ignores them anyway.
	if _, err := s.meta.Prune(meta.KindSession, func(raw []byte) bool {
		var ss Session
		return json.Unmarshal(raw, &ss) != nil || !now.Before(ss.ExpiresAt)
	}); err != nil {
		return "", nil, nil, err
	}
	token := newToken()
	ss := &Session{ID: tokenHash(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.meta.Put(meta.KindSession, ss.ID, ss); err != nil {
		return "", nil, nil, err
	}
	// Prune does not call the change hooks; Put did, so the index holds the new session.
	return token, ss, u, nil
}

// Lookup resolves a session token to its unexpired session and user.
func (s *Store) Lookup(token string) (*Session, *User, bool) {
	if token == "" {
		return nil, nil, false
	}
	idx := s.index.Load()
	h := tokenHash(token)
	ss, ok := idx.sessions[h]
	if !ok || subtle.ConstantTimeCompare([]byte(ss.ID), []byte(h)) != 1 || !s.cfg.Now().Before(ss.ExpiresAt) {
		return nil, nil, false
	}
	u, ok := idx.users[ss.UserID]
	if !ok {
		return nil, nil, false
	}
	return ss, u, true
}

// SignOut ends the session of a token (no error when it is already gone).
func (s *Store) SignOut(token string) error {
	err := s.meta.Delete(meta.KindSession, tokenHash(token))
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}

// CSRFToken returns the CSRF token bound to a session token: the page sends it back in the
// X-CSRF-Token header on every state-changing call. Being derived, it needs no storage, and a
// page on another origin can neither read nor compute it.
func CSRFToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("wayline csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether presented is the CSRF token of the session token.
func CheckCSRF(sessionToken, presented string) bool {
	if sessionToken == "" || presented == "" {
		return false
	}
	return hmac.Equal([]byte(CSRFToken(sessionToken)), []byte(presented))
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewPassword returns a random password (for the first admin, printed once).
func NewPassword() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hash returns the PHC string of an argon2id hash of pw with a fresh salt.
func (s *Store) hash(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	c := s.cfg
	s.hashes <- struct{}{}
	key := argon2.IDKey([]byte(pw), salt, c.ArgonTime, c.ArgonMemoryKiB, c.ArgonThreads, 32)
	<-s.hashes
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.ArgonMemoryKiB, c.ArgonTime, c.ArgonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verify checks pw against a PHC argon2id string, with the parameters stored in it.
func (s *Store) verify(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	s.hashes <- struct{}{}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	<-s.hashes
	return subtle.ConstantTimeCompare(got, want) == 1
}
