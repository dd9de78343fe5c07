package actions

import (
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
)

// Limits on channel actions.
const (
	MaxPoolSize       = 64
	MaxCapPeriod      = 31 * 24 * time.Hour
	MaxCapMessages    = 1000
	MaxSigningSecrets = 5
)

// validateChannel checks an email, SMS or push action: its provider settings and message. The
// templates' expressions are checked against the schemas when a journey using the action is
// validated or published (journey.CompileMessage).
func validateChannel(a *model.Action, add func(field, format string, args ...any)) {
	if a.Method != "" || a.URL != "" || len(a.Headers) > 0 || (a.Auth != nil && a.Auth.Type != "" && a.Auth.Type != model.AuthNone) || len(a.Payload) > 0 {
		add("kind", "a %s action has no method, url, headers, auth or payload; put the provider's settings in provider and the content in message", a.Kind)
	}
	p := a.Provider
	if p == nil {
		add("provider", "provider is required for a %s action: %s", a.Kind, providerExample(a.Kind))
		p = &model.Provider{}
	}
	m := a.Message
	if m == nil {
		m = &model.Message{}
	}
	switch a.Kind {
	case model.ActionEmail:
		if strings.TrimSpace(p.Host) == "" {
			add("provider.host", "provider.host is required: the SMTP server's host name, such as smtp.example.com")
		}
		if p.Port < 0 || p.Port > 65535 {
			add("provider.port", "provider.port %d is not a TCP port; use 587 (STARTTLS), 465 (implicit TLS) or 25", p.Port)
		}
		switch p.TLS {
		case "", "starttls", "implicit", "none":
		default:
			add("provider.tls", "provider.tls %q is not known; use starttls (the default), implicit or none", clip(p.TLS, 20))
		}
		if _, err := mail.ParseAddress(p.From); err != nil {
			add("provider.from", "provider.from %q is not an email address; use \"Shop <news@example.com>\" or news@example.com", clip(p.From, 80))
		}
		if p.ReplyTo != "" {
			if _, err := mail.ParseAddress(p.ReplyTo); err != nil {
				add("provider.replyTo", "provider.replyTo %q is not an email address", clip(p.ReplyTo, 80))
			}
		}
		if p.Password != "" && p.Username == "" {
			add("provider.username", "provider.username is required with a password")
		}
		if p.PoolSize < 0 || p.PoolSize > MaxPoolSize {
			add("provider.poolSize", "provider.poolSize %d is out of range; use 0 for the default (4) or 1..%d", p.PoolSize, MaxPoolSize)
		}
		if strings.TrimSpace(m.Subject) == "" {
			add("message.subject", "message.subject is required for an email")
		}
		if strings.TrimSpace(m.HTML) == "" && strings.TrimSpace(m.Text) == "" {
			add("message.html", "an email needs message.html, message.text or both (both is best: html with a text alternative)")
		}
	case model.ActionSMS:
		checkProviderURL(p.URL, add)
		if p.AccountSID == "" {
			add("provider.accountSid", "provider.accountSid is required: the account the SMS provider bills (the basic-auth user)")
		}
		if p.AuthToken == "" {
			add("provider.authToken", "provider.authToken is required: the SMS provider's secret (the basic-auth password)")
		}
		if strings.TrimSpace(p.FromNumber) == "" {
			add("provider.fromNumber", "provider.fromNumber is required: the sender number or id, such as +15005550006")
		}
		if strings.TrimSpace(m.Text) == "" {
			add("message.text", "message.text is required for an SMS")
		}
	case model.ActionPush:
		checkProviderURL(p.URL, add)
		if strings.TrimSpace(m.Title) == "" && strings.TrimSpace(m.Body) == "" && len(m.Data) == 0 {
			add("message.title", "a push needs message.title, message.body or message.data")
		}
	}
	validatePolicy(a.Capping, a.QuietHours, "", add)
}

// ValidatePolicy checks a frequency cap and quiet hours (either may be nil), as an action's or
// as the workspace's defaults; fields are reported under prefix ("channels.email.").
func ValidatePolicy(c *model.Capping, q *model.QuietHours, prefix string) apierr.List {
	var errs apierr.List
	validatePolicy(c, q, prefix, func(field, format string, args ...any) {
		errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, format, args...))
	})
	return errs
}

func validatePolicy(c *model.Capping, q *model.QuietHours, prefix string, add func(field, format string, args ...any)) {
	if c != nil {
		if c.Max < 1 || c.Max > MaxCapMessages {
			add(prefix+"capping.max", "capping.max %d is out of range; use 1..%d messages per period", c.Max, MaxCapMessages)
		}
		if d := c.Period.D(); d <= 0 || d > MaxCapPeriod {
			add(prefix+"capping.period", "capping.period must be between 1s and %s, such as \"24h\"", MaxCapPeriod)
		}
	}
	if q != nil {
		for field, v := range map[string]string{"start": q.Start, "end": q.End} {
			if _, err := time.Parse("15:04", strings.TrimSpace(v)); err != nil {
				add(prefix+"quietHours."+field, "quietHours.%s %q is not a time of day; use 24-hour HH:MM, like \"21:00\"", field, clip(v, 20))
			}
		}
		switch q.Mode {
		case "", "hold", "skip":
		default:
			add(prefix+"quietHours.mode", "quietHours.mode %q is not known; use hold (send when quiet hours end) or skip (take the error path)", clip(q.Mode, 20))
		}
		if q.DefaultTimeZone != "" {
			if _, err := time.LoadLocation(q.DefaultTimeZone); err != nil {
				add(prefix+"quietHours.defaultTimeZone", "quietHours.defaultTimeZone %q is not an IANA time zone (like \"Europe/Paris\")", clip(q.DefaultTimeZone, 60))
			}
		}
	}
}

func checkProviderURL(raw string, add func(field, format string, args ...any)) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		add("provider.url", "provider.url %q is not an absolute http(s) URL without credentials; use the provider's endpoint, such as https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json", clip(raw, 120))
	}
}

func providerExample(kind string) string {
	switch kind {
	case model.ActionEmail:
		return `{"host":"smtp.example.com","port":587,"username":"u","password":"p","from":"Shop <news@example.com>"}`
	case model.ActionSMS:
		return `{"url":"https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json","accountSid":"AC123","authToken":"…","fromNumber":"+15005550006"}`
	}
	return `{"url":"https://fcm.googleapis.com/v1/projects/my-project/messages:send","authToken":"…"}`
}

// validateSigning checks a REST action's signing settings.
func validateSigning(a *model.Action, add func(field, format string, args ...any)) {
	sg := a.Signing
	if sg == nil {
		return
	}
	if a.Kind != "" && a.Kind != model.ActionREST {
		add("signing", "signing is only for REST actions; remove it")
		return
	}
	n := 0
	for _, s := range sg.Secrets {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		add("signing.secrets", "signing.secrets needs at least one secret (during a rotation: the old and the new one)")
	case len(sg.Secrets) > MaxSigningSecrets:
		add("signing.secrets", "signing.secrets holds %d secrets; keep at most %d (rotate by adding the new one, then removing the old)", len(sg.Secrets), MaxSigningSecrets)
	}
	if sg.Header != "" && (!isToken(sg.Header) || isReservedHeader(sg.Header)) {
		add("signing.header", "signing.header %q is not a usable header name; leave it empty for Wayline-Signature", clip(sg.Header, 60))
	}
}
