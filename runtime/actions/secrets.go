package actions

import (
	"maps"
	"net/textproto"

	"github.com/wayline/wayline/runtime/model"
)

// Mask replaces a secret that is set, in what the API returns. A field that holds Mask is
// set; an empty one is not.
const Mask = "••••"

// Redact returns a copy of a that is safe to return from the API: the auth token, password
// and API key value, and the values of sensitive headers (see IsSensitiveHeader), are Mask
// when set and empty when not. a itself is not changed.
func Redact(a model.Action) model.Action {
	if a.Auth != nil {
		auth := *a.Auth
		auth.Token = mask(auth.Token)
		auth.Password = mask(auth.Password)
		auth.Value = mask(auth.Value)
		a.Auth = &auth
	}
	if a.Headers != nil {
		h := make(map[string]string, len(a.Headers))
		for k, v := range a.Headers {
			if IsSensitiveHeader(k) {
				v = mask(v)
			}
			h[k] = v
		}
		a.Headers = h
	}
	a.Payload = append([]byte(nil), a.Payload...)
	if len(a.Payload) == 0 {
		a.Payload = nil
	}
	return a
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return Mask
}

// MergeSecrets completes an update from the API with the secrets of the stored action: a
// secret that comes back as Mask or empty keeps its stored value, as long as the auth type is
// unchanged (for a sensitive header: the same header name, case-insensitively). A Mask left
// without a stored value to restore is cleared, so ValidateAction reports the secret missing
// instead of the mask being sent as a credential. updated's Auth and Headers are written;
// stored is only read. Call it before ValidateAction.
func MergeSecrets(updated *model.Action, stored *model.Action) {
	if updated == nil {
		return
	}
	var sa *model.ActionAuth
	if stored != nil && stored.Auth != nil && updated.Auth != nil && stored.Auth.Type == updated.Auth.Type {
		sa = stored.Auth
	}
	if updated.Auth != nil {
		auth := *updated.Auth // do not write through a pointer the caller may share
		if sa != nil {
			auth.Token = keep(auth.Token, sa.Token)
			auth.Password = keep(auth.Password, sa.Password)
			auth.Value = keep(auth.Value, sa.Value)
		}
		auth.Token = unmask(auth.Token)
		auth.Password = unmask(auth.Password)
		auth.Value = unmask(auth.Value)
		updated.Auth = &auth
	}

	if len(updated.Headers) == 0 {
		return
	}
	var storedHeaders map[string]string
	if stored != nil {
		storedHeaders = make(map[string]string, len(stored.Headers))
		for k, v := range stored.Headers {
			storedHeaders[textproto.CanonicalMIMEHeaderKey(k)] = v
		}
	}
	h := maps.Clone(updated.Headers)
	for k, v := range h {
		if v != Mask || !IsSensitiveHeader(k) {
			continue
		}
		// Unlike auth fields, an empty header value is a value: only Mask means "unchanged".
		if old, ok := storedHeaders[textproto.CanonicalMIMEHeaderKey(k)]; ok && old != Mask {
			h[k] = old
		} else {
			h[k] = ""
		}
	}
	updated.Headers = h
}

// keep returns stored when v is Mask or empty, v otherwise.
func keep(v, stored string) string {
	if v == "" || v == Mask {
		return stored
	}
	return v
}

func unmask(v string) string {
	if v == Mask {
		return ""
	}
	return v
}
