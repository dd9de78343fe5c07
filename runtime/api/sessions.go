package api

import (
	"errors"
	"sort"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/users"
)

// People sign in to the designer with a username and password (POST /v1/sessions) and get a
// session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot make the
// browser send it). Every state-changing call made with the cookie must also carry the session's
// CSRF token in X-CSRF-Token (double submit: it is also in a cookie the page can read, and in
// the sign-in and /v1/me answers). API keys (Bearer) keep working as before and need no CSRF
// token: browsers never attach them on their own.

// signInRate and signInBurst bound sign-in attempts per client IP (each costs an argon2 hash).
const (
	signInRate  = 2
	signInBurst = 10
)

func clientIP(ctx *fasthttp.RequestCtx) string { return ctx.RemoteIP().String() }

func safeMethod(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsGet() || ctx.IsHead() || ctx.IsOptions()
}

// sessionUser authenticates a request by its session cookie, checking the CSRF header on
// state-changing methods. It writes the error itself and returns false when the request may not
// go on.
func (s *Server) sessionUser(ctx *fasthttp.RequestCtx) (*users.User, bool) {
	token := string(ctx.Request.Header.Cookie(users.SessionCookie))
	if token == "" || s.d.Users == nil {
		writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "Authorization", "send an API key as \"Authorization: Bearer KEY\", or sign in to the designer (POST /v1/sessions)"))
		return nil, false
	}
	_, u, ok := s.d.Users.Lookup(token)
	if !ok {
		clearSessionCookies(ctx)
		writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "", "your session has ended (expired, signed out or the user was removed); sign in again"))
		return nil, false
	}
	if !safeMethod(ctx) && !users.CheckCSRF(token, string(ctx.Request.Header.Peek(users.CSRFHeader))) {
		writeErr(ctx, apierr.New(403, apierr.CSRFInvalid, users.CSRFHeader, "a change made with a session cookie needs the session's CSRF token in the X-CSRF-Token header (from the sign-in answer, GET /v1/me or the wayline_csrf cookie); reload the page"))
		return nil, false
	}
	ctx.SetUserValue(userCtx, u)
	ctx.SetUserValue(sessionCtx, token)
	return u, true
}

// secureRequest reports whether the browser reached us over HTTPS (directly or through a proxy
// that says so), in which case cookies are marked Secure.
func secureRequest(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsTLS() || string(ctx.Request.Header.Peek("X-Forwarded-Proto")) == "https"
}

func setCookie(ctx *fasthttp.RequestCtx, name, value string, httpOnly bool, expire time.Time) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(name)
	c.SetValue(value)
	c.SetPath("/")
	c.SetHTTPOnly(httpOnly)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(secureRequest(ctx))
	c.SetExpire(expire)
	ctx.Response.Header.SetCookie(c)
}

func clearSessionCookies(ctx *fasthttp.RequestCtx) {
	setCookie(ctx, users.SessionCookie, "", true, fasthttp.CookieExpireDelete)
	setCookie(ctx, users.CSRFCookie, "", false, fasthttp.CookieExpireDelete)
}

func (s *Server) signIn(ctx *fasthttp.RequestCtx) {
	if s.d.Users == nil {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "this node has no user accounts; use an API key"))
		return
	}
	if !s.signInLimiter.allow(clientIP(ctx), time.Now()) {
		ctx.Response.Header.Set("Retry-After", "1")
		writeErr(ctx, apierr.New(429, apierr.RateLimited, "", "too many sign-in attempts from your address; wait a few seconds and try again"))
		return
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	if in.Username == "" {
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "username", "username is required"))
		return
	}
	if in.Password == "" {
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "password", "password is required"))
		return
	}
	token, sess, u, err := s.d.Users.SignIn(in.Username, in.Password)
	if errors.Is(err, users.ErrBadCredentials) {
		writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "", "wrong username or password; an admin can reset a password with PUT /v1/users/{id}"))
		return
	}
	if err != nil {
		writeErr(ctx, err)
		return
	}
	csrf := users.CSRFToken(token)
	setCookie(ctx, users.SessionCookie, token, true, sess.ExpiresAt)
	setCookie(ctx, users.CSRFCookie, csrf, false, sess.ExpiresAt)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, 201, map[string]any{"user": u.View(), "csrfToken": csrf, "expiresAt": sess.ExpiresAt})
}

func (s *Server) signOut(ctx *fasthttp.RequestCtx) {
	if _, ok := s.sessionUser(ctx); !ok {
		return
	}
	token, _ := ctx.UserValue(sessionCtx).(string)
	if err := s.d.Users.SignOut(token); err != nil {
		writeErr(ctx, err)
		return
	}
	clearSessionCookies(ctx)
	ctx.SetStatusCode(204)
}

// me says who is calling: a signed-in user (with the CSRF token the page needs for writes) or
// an API key.
func (s *Server) me(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if u, ok := ctx.UserValue(userCtx).(*users.User); ok {
		token, _ := ctx.UserValue(sessionCtx).(string)
		sess, _, _ := s.d.Users.Lookup(token)
		out := map[string]any{"kind": "user", "role": u.Role, "user": u.View(), "csrfToken": users.CSRFToken(token)}
		if sess != nil {
			out["expiresAt"] = sess.ExpiresAt
		}
		writeJSON(ctx, 200, out)
		return
	}
	k, _ := ctx.UserValue(keyCtx).(*model.APIKey)
	if k == nil {
		writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "", "not signed in"))
		return
	}
	writeJSON(ctx, 200, map[string]any{"kind": "key", "role": k.Role, "key": view(*k)})
}

func (s *Server) needUsers(ctx *fasthttp.RequestCtx) bool {
	if s.d.Users == nil {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "this node has no user accounts"))
		return false
	}
	return true
}

func (s *Server) listUsers(ctx *fasthttp.RequestCtx) {
	if !s.needUsers(ctx) {
		return
	}
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	all := s.d.Users.List()
	start := sort.Search(len(all), func(i int) bool { return all[i].Username > cursor })
	if cursor == "" {
		start = 0
	}
	end, next := min(len(all), start+limit), ""
	if end < len(all) {
		next = all[end-1].Username
	}
	writeJSON(ctx, 200, map[string]any{"items": all[start:end], "nextCursor": next})
}

func (s *Server) createUser(ctx *fasthttp.RequestCtx) {
	if !s.needUsers(ctx) {
		return
	}
	s.idempotent(ctx, func() {
		var in struct {
			Username string `json:"username"`
			Role     string `json:"role"`
			Password string `json:"password"`
		}
		if err := s.decodeBody(ctx, &in); err != nil {
			writeErr(ctx, err)
			return
		}
		u, err := s.d.Users.Create(in.Username, in.Role, in.Password)
		if err != nil {
			writeErr(ctx, err)
			return
		}
		writeJSON(ctx, 201, u.View())
	})
}

func (s *Server) updateUser(ctx *fasthttp.RequestCtx) {
	if !s.needUsers(ctx) {
		return
	}
	var in struct {
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	id := param(ctx, "id")
	u, err := s.d.Users.Update(id, in.Role, in.Password)
	if err != nil {
		writeErr(ctx, userErr(err, id))
		return
	}
	writeJSON(ctx, 200, u.View())
}

func (s *Server) deleteUser(ctx *fasthttp.RequestCtx) {
	if !s.needUsers(ctx) {
		return
	}
	id := param(ctx, "id")
	if cur, ok := ctx.UserValue(userCtx).(*users.User); ok && cur.ID == id {
		writeErr(ctx, apierr.New(409, apierr.InUse, "", "you cannot delete yourself; sign in as another admin"))
		return
	}
	if err := s.d.Users.Delete(id); err != nil {
		writeErr(ctx, userErr(err, id))
		return
	}
	ctx.SetStatusCode(204)
}

func userErr(err error, id string) error {
	if errors.Is(err, meta.ErrNotFound) {
		return notFound("user", id)
	}
	return err
}
