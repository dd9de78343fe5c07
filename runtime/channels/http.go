package channels

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// maxProviderResponse caps how much of a provider's answer is read.
const maxProviderResponse = 64 << 10

// httpClient is a guarded keep-alive client for HTTP providers.
type httpClient struct {
	c       *fasthttp.Client
	timeout time.Duration
}

func newHTTPClient(guard *netguard.Guard, timeout time.Duration) *httpClient {
	if guard == nil {
		guard = &netguard.Guard{}
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &httpClient{timeout: timeout, c: &fasthttp.Client{
		Name: "wayline", DialTimeout: guard.DialTimeout, MaxResponseBodySize: maxProviderResponse,
		ReadBufferSize: 16 << 10, MaxIdleConnDuration: 4 * time.Second, DisablePathNormalizing: true,
	}}
}

// post sends one request (no redirects followed) and classifies the answer.
func (h *httpClient) post(ctx context.Context, rawURL string, header map[string]string, contentType string, body []byte) (Result, []byte) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(rawURL)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.SetBody(body)
	deadline := time.Now().Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := h.c.DoDeadline(req, resp, deadline); err != nil {
		r := Result{Retryable: true}
		switch {
		case errors.Is(err, netguard.ErrRefused):
			r.Retryable = false
			r.Err = "refused by the outbound guard: " + clip(err.Error(), 200)
		case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
			r.Err = "the provider did not answer in time (" + h.timeout.String() + ")"
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			r.Retryable = false
			r.Err = fmt.Sprintf("the provider's answer is larger than %d bytes", maxProviderResponse)
		default:
			r.Err = "calling the provider: " + clip(err.Error(), 200)
		}
		return r, nil
	}
	status := resp.StatusCode()
	b := append([]byte(nil), resp.Body()...)
	r := Result{Status: status}
	switch {
	case status >= 200 && status < 300:
		r.OK = true
	case status >= 300 && status < 400:
		r.Err = fmt.Sprintf("HTTP %d: redirects are not followed; set provider.url to the final address", status)
	default:
		r.Retryable = status == 408 || status == 429 || status >= 500
		r.Err = fmt.Sprintf("HTTP %d from the provider: %s", status, clip(strings.Join(strings.Fields(string(b)), " "), 200))
		if status == 401 || status == 403 {
			r.Err += " (check the provider's credentials)"
		}
	}
	return r, b
}

// SMS sends text messages with a Twilio-style request: a form POST of To, From, Body (and
// StatusCallback) to provider.url, with basic auth accountSid:authToken.
type SMS struct {
	http *httpClient
	// Tracker, when enabled, makes the status-callback address.
	Tracker *Tracker
}

// NewSMS returns an SMS provider dialing through guard.
func NewSMS(guard *netguard.Guard, timeout time.Duration, tracker *Tracker) *SMS {
	return &SMS{http: newHTTPClient(guard, timeout), Tracker: tracker}
}

// Close closes idle connections.
func (s *SMS) Close() { s.http.c.CloseIdleConnections() }

// Send posts one message per recipient (an SMS action has one).
func (s *SMS) Send(ctx context.Context, a *model.Action, m *Rendered, ref Ref) Result {
	p := a.Provider
	if p == nil {
		return Result{Err: "the sms action has no provider settings"}
	}
	if len(m.To) == 0 {
		return Result{Err: "the message has no recipient"}
	}
	form := url.Values{"To": {m.To[0]}, "From": {p.FromNumber}, "Body": {m.Text}}
	if p.StatusCallback && s.Tracker.Enabled() {
		form.Set("StatusCallback", s.Tracker.BaseURL+"/v1/callbacks/sms?t="+s.Tracker.Token(ref))
	}
	auth := base64.StdEncoding.EncodeToString([]byte(p.AccountSID + ":" + p.AuthToken))
	h := map[string]string{"Authorization": "Basic " + auth}
	if ref.Key != "" {
		h["Idempotency-Key"] = ref.Key
	}
	r, body := s.http.post(ctx, p.URL, h, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if r.OK {
		var ans struct {
			SID string `json:"sid"`
		}
		if json.Unmarshal(body, &ans) == nil {
			r.ProviderID = ans.SID
		}
	}
	return r
}

// Push sends notifications with an FCM HTTP v1-style request: POST provider.url with
// {"message":{"token":…,"notification":{"title":…,"body":…},"data":{…}}} and a bearer token,
// once per device token; it succeeds when any device accepted it.
type Push struct {
	http *httpClient
}

// NewPush returns a push provider dialing through guard.
func NewPush(guard *netguard.Guard, timeout time.Duration) *Push {
	return &Push{http: newHTTPClient(guard, timeout)}
}

// Close closes idle connections.
func (p *Push) Close() { p.http.c.CloseIdleConnections() }

type fcmMessage struct {
	Message struct {
		Token        string `json:"token"`
		Notification *struct {
			Title string `json:"title,omitempty"`
			Body  string `json:"body,omitempty"`
		} `json:"notification,omitempty"`
		Data map[string]string `json:"data,omitempty"`
	} `json:"message"`
}

// Send posts to every device token of the profile.
func (p *Push) Send(ctx context.Context, a *model.Action, m *Rendered, ref Ref) Result {
	pr := a.Provider
	if pr == nil {
		return Result{Err: "the push action has no provider settings"}
	}
	if len(m.To) == 0 {
		return Result{Err: "the message has no device token"}
	}
	h := map[string]string{}
	if pr.AuthToken != "" {
		h["Authorization"] = "Bearer " + pr.AuthToken
	}
	var last, ok Result
	tokens := append([]string(nil), m.To...)
	sort.Strings(tokens)
	for _, tok := range tokens {
		var fm fcmMessage
		fm.Message.Token = tok
		if m.Title != "" || m.Body != "" {
			fm.Message.Notification = &struct {
				Title string `json:"title,omitempty"`
				Body  string `json:"body,omitempty"`
			}{m.Title, m.Body}
		}
		fm.Message.Data = m.Data
		b, _ := json.Marshal(fm)
		if ref.Key != "" {
			h["Idempotency-Key"] = ref.Key + "." + tok[:min(len(tok), 16)]
		}
		r, body := p.http.post(ctx, pr.URL, h, "application/json", b)
		if r.OK {
			var ans struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(body, &ans) == nil {
				r.ProviderID = ans.Name
			}
			ok = r
			continue
		}
		last = r
	}
	if ok.OK {
		return ok
	}
	return last
}
