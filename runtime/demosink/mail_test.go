package demosink

import (
	"net/smtp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestMailServerRecordsMessages(t *testing.T) {
	s := New(10)
	m, err := ServeMail(s, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	msg := "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?UTF-8?q?Caf=C3=A9?=\r\nMessage-Id: <1@x>\r\n\r\nhello\r\n"
	if err := smtp.SendMail(m.Addr().String(), nil, "a@example.com", []string{"b@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := s.Recent(0)
	if len(got) != 1 {
		t.Fatalf("%d recorded, want 1", len(got))
	}
	r := got[0]
	if r.Method != "SMTP" || r.Headers["To"] != "b@example.com" || r.Headers["Subject"] != "Café" || r.IdempotencyKey != "<1@x>" || !strings.Contains(string(r.Body), "hello") {
		t.Fatalf("recorded %+v", r)
	}
}

func TestCRMAnswersByID(t *testing.T) {
	for id, want := range map[string]string{"user:u2": `"tier":"gold"`, "user:u3": `"tier":"silver"`, "user:vip-x": `"tier":"gold"`, "user:optout1": `"emailOptIn":false`} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/demo/crm/customers/" + id)
		CRM(&ctx)
		if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), want) {
			t.Errorf("%s: %d %s, want %s", id, ctx.Response.StatusCode(), ctx.Response.Body(), want)
		}
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/demo/crm/customers/")
	CRM(&ctx)
	if ctx.Response.StatusCode() != 404 {
		t.Errorf("no id: %d", ctx.Response.StatusCode())
	}
}
