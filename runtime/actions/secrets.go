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
	if a.Signing != nil {
		sg := *a.Signing
		sg.Secrets = make([]string, len(a.Signing.Secrets))
		for i, v := range a.Signing.Secrets {
			sg.Secrets[i] = mask(v)
		}
		a.Signing = &sg
	}
	if a.Provider != nil {
		p := *a.Provider
		p.Password = mask(p.Password)
		p.AuthToken = mask(p.AuthToken)
		a.Provider = &p
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

	mergeChannelSecrets(updated, stored)
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

// mergeChannelSecrets keeps the stored signing secrets and provider credentials that come back
// masked: a signing secret by its position (so ["••••", "new"] keeps the old secret and adds a
// new one during a rotation), a provider credential when the kind is unchanged.
func mergeChannelSecrets(updated, stored *model.Action) {
	if updated.Signing != nil {
		sg := *updated.Signing
		sg.Secrets = append([]string(nil), updated.Signing.Secrets...)
		for i, v := range sg.Secrets {
			if v != Mask {
				continue
			}
			sg.Secrets[i] = ""
			if stored != nil && stored.Signing != nil && i < len(stored.Signing.Secrets) {
				sg.Secrets[i] = stored.Signing.Secrets[i]
			}
		}
		updated.Signing = &sg
	}
	if updated.Provider != nil {
		p := *updated.Provider
		if stored != nil && stored.Provider != nil && stored.Kind == updated.Kind {
			p.Password = keep(p.Password, stored.Provider.Password)
			p.AuthToken = keep(p.AuthToken, stored.Provider.AuthToken)
		}
		p.Password = unmask(p.Password)
		p.AuthToken = unmask(p.AuthToken)
		updated.Provider = &p
	}
}
