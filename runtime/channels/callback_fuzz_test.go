package channels

import "testing"

func FuzzParseSMSStatus(f *testing.F) {
	for _, s := range []string{"MessageStatus=delivered&MessageSid=SM1", "MessageStatus=failed&ErrorCode=30003", "", "%zz", "MessageStatus="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		status, code, ok := ParseSMSStatus(b)
		if ok && (status == "" || len(status) > 32 || len(code) > 40) {
			t.Fatalf("accepted %q → %q %q", b, status, code)
		}
	})
}

func FuzzParsePushStatus(f *testing.F) {
	for _, s := range []string{`{"status":"delivered"}`, `{"status":"failed","error":"UNREGISTERED"}`, ``, `[]`, `{"status":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		status, code, ok := ParsePushStatus(b)
		if ok && (status == "" || len(status) > 32 || len(code) > 70) {
			t.Fatalf("accepted %q → %q %q", b, status, code)
		}
	})
}
