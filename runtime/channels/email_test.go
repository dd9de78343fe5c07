package channels

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// smtpSink is a real SMTP server (go-smtp) on loopback that keeps what it receives.
type smtpSink struct {
	mu       sync.Mutex
	msgs     []received
	user     string
	pass     string
	failRcpt string // a recipient answered with failCode
	failCode int
	addr     string
	roots    *x509.CertPool
	sessions int
}

type received struct {
	from string
	to   []string
	data []byte
}

type sinkSession struct {
	s    *smtpSink
	from string
	to   []string
	auth bool
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &sinkSession{s: s}, nil
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.user || pass != ss.s.pass {
			return errors.New("invalid credentials")
		}
		ss.auth = true
		return nil
	}), nil
}
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.auth {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == ss.s.failRcpt {
		return &smtp.SMTPError{Code: ss.s.failCode, Message: "mailbox unavailable"}
	}
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, received{from: ss.from, to: ss.to, data: b})
	ss.s.mu.Unlock()
	return nil
}
func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// startSMTP serves STARTTLS with a fresh self-signed certificate for "localhost".
func startSMTP(t *testing.T, user, pass string) *smtpSink {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	sink := &smtpSink{user: user, pass: pass, roots: roots}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func loopbackGuard() *netguard.Guard {
	return &netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}

func emailAction(sink *smtpSink) *model.Action {
	_, port, _ := net.SplitHostPort(sink.addr)
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return &model.Action{ID: "welcome", Kind: model.ActionEmail, Provider: &model.Provider{Host: "127.0.0.1", Port: p,
		Username: sink.user, Password: sink.pass, From: "Shop <news@shop.test>", PoolSize: 2}}
}

func TestEmailSendsMultipartOverSTARTTLSWithAuthAndUnsubscribe(t *testing.T) {
	sink := startSMTP(t, "wayline", "s3cret")
	tr := &Tracker{BaseURL: "https://w.example", Key: []byte("k")}
	e := &Email{Guard: loopbackGuard(), TLS: &tls.Config{RootCAs: sink.roots}, Tracker: tr}
	defer e.Close()
	a := emailAction(sink)
	m := &Rendered{Kind: model.ActionEmail, To: []string{"ann@example.com"}, Subject: "Hello Ann",
		HTML: `<p>Hi &lt;Ann&gt;, <a href="https://shop.test/offer?a=1&amp;b=2">see</a></p>`, Text: "Hi <Ann>"}
	ref := Ref{Profile: "user:ann", Journey: "j", Instance: "i1", Action: "welcome", Kind: "email", Key: "i1.n.1"}
	for i := 0; i < 3; i++ { // the pool reuses its connections
		if r := e.Send(context.Background(), a, m, ref); !r.OK {
			t.Fatalf("send %d: %+v", i, r)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 3 || sink.sessions > 2 {
		t.Fatalf("the server got %d messages over %d connections, want 3 over at most 2 (the pool size)", len(sink.msgs), sink.sessions)
	}
	got := sink.msgs[0]
	if got.from != "news@shop.test" || len(got.to) != 1 || got.to[0] != "ann@example.com" {
		t.Errorf("envelope from %q to %v", got.from, got.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != "Hello Ann" {
		t.Errorf("Subject %q", s)
	}
	lu := msg.Header.Get("List-Unsubscribe")
	if !strings.HasPrefix(lu, "<https://w.example/v1/unsubscribe?t=") || msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe %q, -Post %q", lu, msg.Header.Get("List-Unsubscribe-Post"))
	}
	if id := msg.Header.Get("Message-Id"); id != "<i1.n.1@wayline>" {
		t.Errorf("Message-ID %q, want it derived from the idempotency key", id)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var htmlPart string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		b, _ := io.ReadAll(p)
		if ct == "text/html" {
			htmlPart = decodeQP(p.Header.Get("Content-Transfer-Encoding"), b)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v, want text/plain then text/html", types)
	}
	if !strings.Contains(htmlPart, "https://w.example/v1/track/click?t=") || !strings.Contains(htmlPart, "/v1/track/open?t=") || !strings.Contains(htmlPart, "Hi &lt;Ann&gt;") {
		t.Errorf("the html part lacks the click redirect, the open pixel or the escaped name:\n%s", htmlPart)
	}
}

func decodeQP(enc string, b []byte) string {
	if strings.EqualFold(enc, "quoted-printable") {
		var out bytes.Buffer
		r := multipartQP(b)
		out.ReadFrom(r)
		return out.String()
	}
	return string(b)
}

func TestEmailFailuresAreClassified(t *testing.T) {
	sink := startSMTP(t, "wayline", "s3cret")
	e := &Email{Guard: loopbackGuard(), TLS: &tls.Config{RootCAs: sink.roots}, Timeout: 3 * time.Second}
	defer e.Close()
	m := &Rendered{To: []string{"ann@example.com"}, Subject: "s", Text: "t"}

	bad := emailAction(sink)
	bad.Provider.Password = "wrong-password"
	r := e.Send(context.Background(), bad, m, Ref{})
	if r.OK || !strings.Contains(r.Err, "check provider.username") || strings.Contains(r.Err, "wrong-password") {
		t.Errorf("wrong password: %+v; want a failure that names the settings and hides the password", r)
	}

	sink.failRcpt, sink.failCode = "gone@example.com", 550
	r = e.Send(context.Background(), emailAction(sink), &Rendered{To: []string{"gone@example.com"}, Subject: "s", Text: "t"}, Ref{})
	if r.OK || r.Retryable {
		t.Errorf("550 for the recipient: %+v; want a final failure", r)
	}
	sink.failCode = 451
	r = e.Send(context.Background(), emailAction(sink), &Rendered{To: []string{"gone@example.com"}, Subject: "s", Text: "t"}, Ref{})
	if r.OK || !r.Retryable {
		t.Errorf("451 for the recipient: %+v; want a retryable failure", r)
	}

	guarded := &Email{TLS: &tls.Config{RootCAs: sink.roots}} // no allow-list: loopback refused
	r = guarded.Send(context.Background(), emailAction(sink), m, Ref{})
	if r.OK || r.Retryable || !strings.Contains(r.Err, "outbound guard") {
		t.Errorf("SMTP on loopback without an allow-list: %+v; want refused by the guard", r)
	}
}
