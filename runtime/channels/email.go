package channels

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// DefaultPoolSize is how many SMTP connections an email provider keeps open.
const DefaultPoolSize = 4

// Email sends email over SMTP (go-mail builds the MIME message and speaks SMTP), keeping a
// small pool of open connections per provider setting.
type Email struct {
	// Guard checks every address dialed; nil refuses internal addresses.
	Guard *netguard.Guard
	// TLS is the base TLS configuration (tests set RootCAs); ServerName is set per host.
	TLS *tls.Config
	// Tracker adds List-Unsubscribe, the open pixel and click redirects; nil: none.
	Tracker *Tracker
	// Timeout bounds one send, dial included (default 30s).
	Timeout time.Duration

	mu    sync.Mutex
	pools map[[32]byte]*smtpPool
}

type smtpPool struct {
	client *mail.Client
	idle   chan *smtp.Client
	slots  chan struct{} // one per open connection
}

// Close closes idle connections.
func (e *Email) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range e.pools {
		close(p.idle)
		for c := range p.idle {
			_ = c.Close()
		}
		delete(e.pools, k)
	}
}

func poolKey(p *model.Provider) [32]byte {
	return sha256.Sum256([]byte(strings.Join([]string{p.Host, strconv.Itoa(p.Port), p.TLS, p.Username, p.Password, strconv.Itoa(p.PoolSize)}, "\x00")))
}

func (e *Email) pool(p *model.Provider) (*smtpPool, error) {
	k := poolKey(p)
	e.mu.Lock()
	defer e.mu.Unlock()
	if pl, ok := e.pools[k]; ok {
		return pl, nil
	}
	guard := e.Guard
	if guard == nil {
		guard = &netguard.Guard{}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.TLS != nil {
		tlsCfg = e.TLS.Clone()
	}
	tlsCfg.ServerName = p.Host
	port := p.Port
	opts := []mail.Option{mail.WithTLSConfig(tlsCfg), mail.WithTimeout(e.timeout())}
	dial := guard.DialContext
	switch p.TLS {
	case "implicit":
		if port == 0 {
			port = 465
		}
		// go-mail leaves TLS to a custom dialer, so wrap the guarded connection here.
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := guard.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, tlsCfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		}
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "none":
		if port == 0 {
			port = 25
		}
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default: // STARTTLS, required: credentials and content never cross the network in clear
		if port == 0 {
			port = 587
		}
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	opts = append(opts, mail.WithPort(port), mail.WithDialContextFunc(dial))
	if p.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(p.Username), mail.WithPassword(p.Password))
	}
	c, err := mail.NewClient(p.Host, opts...)
	if err != nil {
		return nil, err
	}
	size := p.PoolSize
	if size <= 0 {
		size = DefaultPoolSize
	}
	pl := &smtpPool{client: c, idle: make(chan *smtp.Client, size), slots: make(chan struct{}, size)}
	if e.pools == nil {
		e.pools = map[[32]byte]*smtpPool{}
	}
	e.pools[k] = pl
	return pl, nil
}

func (e *Email) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 30 * time.Second
}

// Send builds the multipart message and sends it over a pooled connection.
func (e *Email) Send(ctx context.Context, a *model.Action, m *Rendered, ref Ref) Result {
	p := a.Provider
	if p == nil {
		return Result{Err: "the email action has no provider settings"}
	}
	msg, res := e.build(p, m, ref)
	if msg == nil {
		return res
	}
	pl, err := e.pool(p)
	if err != nil {
		return Result{Err: "email provider settings: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()
	for try := 0; ; try++ {
		c, pooled, err := pl.get(ctx)
		if err != nil {
			return smtpFailure(err, p)
		}
		err = pl.client.SendWithSMTPClient(c, msg)
		if err == nil {
			pl.put(c)
			return Result{OK: true, Status: 250}
		}
		pl.drop(c)
		if pooled && try == 0 && !isSMTPReply(err) {
			continue // a pooled connection the server had closed: once more on a fresh one
		}
		return smtpFailure(err, p)
	}
}

func (pl *smtpPool) get(ctx context.Context) (*smtp.Client, bool, error) {
	select {
	case c := <-pl.idle:
		return c, true, nil
	default:
	}
	select {
	case c := <-pl.idle:
		return c, true, nil
	case pl.slots <- struct{}{}:
		c, err := pl.client.DialToSMTPClientWithContext(ctx)
		if err != nil {
			<-pl.slots
			return nil, false, err
		}
		return c, false, nil
	case <-ctx.Done():
		return nil, false, fmt.Errorf("no free SMTP connection before the deadline: %w", ctx.Err())
	}
}

func (pl *smtpPool) put(c *smtp.Client) {
	select {
	case pl.idle <- c:
	default:
		pl.drop(c)
	}
}

func (pl *smtpPool) drop(c *smtp.Client) {
	_ = c.Close()
	select {
	case <-pl.slots:
	default:
	}
}

// build makes the MIME message: multipart/alternative with the text part first and the HTML
// part last (the one clients prefer), List-Unsubscribe headers, and a Message-ID derived from
// the idempotency key so that a resent copy is recognisably the same message.
func (e *Email) build(p *model.Provider, m *Rendered, ref Ref) (*mail.Msg, Result) {
	msg := mail.NewMsg()
	if err := msg.From(p.From); err != nil {
		return nil, Result{Err: "provider.from is not a valid address; fix the action's provider"}
	}
	if len(m.To) == 0 {
		return nil, Result{Err: "the message has no recipient"}
	}
	if err := msg.To(m.To...); err != nil {
		return nil, Result{Err: fmt.Sprintf("the recipient %q is not a valid email address; fix the profile's email", clip(strings.Join(m.To, ","), 80))}
	}
	if p.ReplyTo != "" {
		_ = msg.ReplyTo(p.ReplyTo)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if ref.Key != "" {
		msg.SetMessageIDWithValue(ref.Key + "@wayline")
		msg.SetGenHeader("X-Wayline-Idempotency-Key", ref.Key)
	}
	htmlBody := m.HTML
	if e.Tracker.Enabled() {
		u := e.Tracker.UnsubscribeURL(ref)
		msg.SetGenHeader("List-Unsubscribe", "<"+u+">")
		msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		htmlBody = e.Tracker.Decorate(htmlBody, ref)
	}
	switch {
	case m.Text != "" && htmlBody != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, htmlBody)
	case htmlBody != "":
		msg.SetBodyString(mail.TypeTextHTML, htmlBody)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	return msg, Result{}
}

// isSMTPReply reports an error that carries the server's reply (so the connection worked).
func isSMTPReply(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode() > 0
	}
	return false
}

// smtpFailure classifies a send error: 4xx replies and network failures are retried, 5xx
// replies and refusals by the guard are final.
func smtpFailure(err error, p *model.Provider) Result {
	r := Result{Retryable: true}
	var se *mail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code > 0 {
			r.Status = code
			r.Retryable = code < 500
		}
		if se.IsTemp() {
			r.Retryable = true
		}
	}
	if errors.Is(err, netguard.ErrRefused) {
		r.Retryable = false
		r.Err = "refused by the outbound guard: " + clip(err.Error(), 200)
		return r
	}
	msg := clip(strings.Join(strings.Fields(err.Error()), " "), 300)
	if p.Password != "" {
		msg = strings.ReplaceAll(msg, p.Password, "••••")
	}
	r.Err = fmt.Sprintf("SMTP %s:%d: %s", p.Host, p.Port, msg)
	if strings.Contains(strings.ToLower(msg), "auth") {
		r.Err += " (check provider.username and provider.password)"
	}
	return r
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
