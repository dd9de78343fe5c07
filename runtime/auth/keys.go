// Package auth owns API keys: creating them, storing only their hashes in the metadata store,
// and resolving a presented key to its role. Keys are random 256-bit secrets, so a plain
// SHA-256 is enough to store them (a slow KDF protects low-entropy passwords, not these).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// Roles ordered by power; ingest is outside the order (it may only send events).
var rank = map[string]int{model.RoleViewer: 1, model.RoleEditor: 2, model.RoleAdmin: 3}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return r == model.RoleIngest || rank[r] > 0 }

// Allows reports whether a key with role have may do what needs role need.
func Allows(have, need string) bool {
	if need == model.RoleIngest {
		return have == model.RoleIngest || rank[have] >= rank[model.RoleEditor]
	}
	return rank[have] >= rank[need]
}

// Keys resolves and manages API keys. Safe for concurrent use.
type Keys struct {
	meta  *meta.Store
	index atomic.Pointer[map[string]*model.APIKey] // hash → key
}

// New loads the keys and keeps the in-memory index fresh on every change.
func New(m *meta.Store) (*Keys, error) {
	k := &Keys{meta: m}
	if err := k.reload(); err != nil {
		return nil, err
	}
	m.OnChange(func(kind string) {
		if kind == meta.KindAPIKey {
			_ = k.reload()
		}
	})
	return k, nil
}

func (k *Keys) reload() error {
	idx := map[string]*model.APIKey{}
	err := k.meta.ListAll(meta.KindAPIKey, func(id string, raw []byte) error {
		var key model.APIKey
		if err := json.Unmarshal(raw, &key); err != nil {
			return err
		}
		idx[key.Hash] = &key
		return nil
	})
	if err != nil {
		return err
	}
	k.index.Store(&idx)
	return nil
}

// Count returns how many keys exist.
func (k *Keys) Count() int { return len(*k.index.Load()) }

// Hash returns the stored hash of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Lookup returns the key for a presented secret.
func (k *Keys) Lookup(secret string) (*model.APIKey, bool) {
	if secret == "" {
		return nil, false
	}
	h := Hash(secret)
	key, ok := (*k.index.Load())[h]
	if !ok || subtle.ConstantTimeCompare([]byte(key.Hash), []byte(h)) != 1 {
		return nil, false
	}
	return key, true
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a fresh random key secret.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "wl_" + strings.ToLower(enc.EncodeToString(b))
}

// Create stores a new key for secret (generated when empty) and returns the record and secret.
func (k *Keys) Create(name, role, secret string) (*model.APIKey, string, error) {
	if !ValidRole(role) {
		return nil, "", errors.New("auth: unknown role")
	}
	if secret == "" {
		secret = NewSecret()
	}
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	key := &model.APIKey{ID: "key_" + hex.EncodeToString(idb), Name: name, Role: role, Hash: Hash(secret),
		Prefix: secret[:min(len(secret), 7)], CreatedAt: time.Now().UTC()}
	if _, dup := (*k.index.Load())[key.Hash]; dup {
		return nil, "", errors.New("auth: that key already exists")
	}
	if err := k.meta.Put(meta.KindAPIKey, key.ID, key); err != nil {
		return nil, "", err
	}
	return key, secret, nil
}

// Delete removes a key.
func (k *Keys) Delete(id string) error { return k.meta.Delete(meta.KindAPIKey, id) }

// List returns every key (hashes included; callers strip them).
func (k *Keys) List() []model.APIKey {
	var out []model.APIKey
	_ = k.meta.ListAll(meta.KindAPIKey, func(id string, raw []byte) error {
		var key model.APIKey
		if json.Unmarshal(raw, &key) == nil {
			out = append(out, key)
		}
		return nil
	})
	return out
}
