package demosink

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// maxMailBytes bounds one message the SMTP sink takes.
const maxMailBytes = 4 << 20

// MailServer is the sink's SMTP side: a plain SMTP server (no TLS, no auth) on loopback that
// records every message it receives into the sink as a request with method "SMTP" and path
// "/mail", its headers From, To and Subject, and the raw message as the body. The demo's email
// action sends to it, so GET /demo/sink shows mails next to webhook calls.
type MailServer struct {
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}
}

// ServeMail starts an SMTP sink recording into s, listening on addr (127.0.0.1:0 when empty).
func ServeMail(s *Sink, addr string) (*MailServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := smtp.NewServer(mailBackend{s})
	srv.Domain = "localhost"
	srv.MaxMessageBytes = maxMailBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	m := &MailServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		_ = srv.Serve(ln)
	}()
	return m, nil
}

// Addr is the address the server listens on.
func (m *MailServer) Addr() net.Addr { return m.ln.Addr() }

// Close stops the server.
func (m *MailServer) Close() error {
	err := m.srv.Close()
	<-m.done
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

type mailBackend struct{ s *Sink }

func (b mailBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &mailSession{s: b.s}, nil
}

type mailSession struct {
	s    *Sink
	from string
	to   []string
}

func (m *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	m.from = from
	return nil
}

func (m *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	m.to = append(m.to, to)
	return nil
}

func (m *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxMailBytes+1))
	if err != nil {
		return err
	}
	req := Request{At: time.Now().UTC(), Method: "SMTP", Path: "/mail", Status: 250,
		Headers: map[string]string{"From": m.from, "To": strings.Join(m.to, ", ")}}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		subject := msg.Header.Get("Subject")
		if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
			subject = d
		}
		req.Headers["Subject"] = subject
		req.IdempotencyKey = msg.Header.Get("Message-Id")
	}
	body := raw
	if len(body) > MaxRecordedBody {
		body, req.BodyTruncated = body[:MaxRecordedBody], true
	}
	req.Body, _ = json.Marshal(strings.ToValidUTF8(string(body), "\uFFFD"))
	m.s.record(req)
	return nil
}

func (m *mailSession) Reset() { m.from, m.to = "", nil }

func (m *mailSession) Logout() error { return nil }
