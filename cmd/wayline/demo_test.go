package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoFollowupJourney: with --demo and no --allow-net (as `make run` starts it), an order of
// a gold customer reads the demo CRM data source through the guard, sends the thank-you email
// to the in-process SMTP sink (listed at /demo/sink), and a click on its link ends the wait.
// A restart on the same data keeps the workspace and points it at the new sink addresses.
func TestDemoFollowupJourney(t *testing.T) {
	data := t.TempDir()
	for run := range 2 {
		n := startNode(t, data, freeAddr(t), "--demo", "--allow-net", "")
		user := fmt.Sprintf("u%d", 2+2*run) // ends in an even digit: gold in the demo CRM
		n.must(202, "POST", "/v1/events", map[string]any{"type": "user.signup", "data": map[string]any{"userId": user, "email": user + "@example.com", "plan": "pro"}})
		eventually(t, 10*time.Second, "the welcome journey stored the email", func() (bool, string) {
			a := n.must(200, "GET", "/v1/profiles/user:"+user, nil)["attributes"].(map[string]any)
			return a["email"] != nil, fmt.Sprint(a)
		})
		n.must(202, "POST", "/v1/events", []map[string]any{
			{"type": "order.placed", "data": map[string]any{"userId": user, "orderId": "o-" + user, "amount": 42}},
			{"type": "order.placed", "data": map[string]any{"userId": "u3", "orderId": "o-u3", "amount": 5}}, // silver: no mail
		})
		var mail string
		eventually(t, 10*time.Second, "the SMTP sink got the thank-you email", func() (bool, string) {
			var l struct {
				Items []struct {
					Method, Path string
					Headers      map[string]string
					Body         json.RawMessage
				}
			}
			s := n.call("GET", "/demo/sink", nil)
			if err := json.Unmarshal(s.body, &l); err != nil {
				return false, string(s.body)
			}
			for _, it := range l.Items {
				if it.Method == "SMTP" && strings.Contains(it.Headers["To"], user+"@example.com") {
					if it.Headers["Subject"] != "Thank you for your order o-"+user {
						t.Fatalf("subject %q", it.Headers["Subject"])
					}
					json.Unmarshal(it.Body, &mail)
					return true, ""
				}
			}
			return false, string(s.body)
		})
		html := htmlPart(t, []byte(mail))
		if !strings.Contains(html, "as a gold customer") {
			t.Errorf("the email does not use the CRM's tier: %s", html)
		}
		m := clickLink.FindStringSubmatch(html)
		if m == nil {
			t.Fatalf("no tracked link in the demo email:\n%s", html)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		eventually(t, 10*time.Second, "the click ended the wait", func() (bool, string) {
			a := n.must(200, "GET", "/v1/profiles/user:"+user, nil)["attributes"].(map[string]any)
			return a["clickedThankYou"] == true && a["tier"] == "gold", fmt.Sprint(a)
		})
		if a := n.must(200, "GET", "/v1/profiles/user:u3", nil)["attributes"].(map[string]any); a["tier"] != "silver" || a["clickedThankYou"] != nil {
			t.Errorf("u3 (silver): %v", a)
		}
		if err := n.term(); err != nil {
			t.Fatal(err)
		}
	}
}
