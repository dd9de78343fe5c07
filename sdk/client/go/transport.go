package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/bytedance/sonic"
)

// format is how a request carries its events.
type format int

const (
	formatSingle format = iota // one JSON object: 202 {"id","status"} or a 4xx/5xx error
	formatArray                // a JSON array: 202/207 {"results":[{"index",...}]}
	formatNDJSON               // one object per line: 200, one answer line per input line, then a summary
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 20

// answer is the node's answer for one event.
type answer struct {
	Index  *int        `json:"index"`
	Line   int         `json:"line"`
	ID     string      `json:"id"`
	Status string      `json:"status"`
	Error  *APIError   `json:"error"`
	Errors []*APIError `json:"errors"`

	err *APIError // Error or the first of Errors, with its status
}

// ndjsonLine is one line of an NDJSON answer: an answer, or the summary.
type ndjsonLine struct {
	answer
	Summary *struct {
		Error *APIError `json:"error"`
	} `json:"summary"`
}

type errorBody struct {
	Error  *APIError   `json:"error"`
	Errors []*APIError `json:"errors"`
}

// outcome is what one attempt got: an answer per event, or an error for the whole request.
type outcome struct {
	answers  []answer // index-aligned with the items; Status "" where none came
	whole    *APIError
	nodeDown bool // a network error or 503: send elsewhere
	tooLarge bool // 413 for the whole body
}

// attempt sends items to e once.
func (c *Client) attempt(ctx context.Context, e *endpoint, items []*item, f format) outcome {
	var body []byte
	ct := "application/json"
	switch f {
	case formatSingle:
		body = items[0].line
	case formatArray:
		body = joinLines(items, '[', ',', ']')
	case formatNDJSON:
		body = joinLines(items, 0, '\n', '\n')
		ct = "application/x-ndjson"
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "POST", e.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return outcome{whole: &APIError{Code: "invalid_request", Message: err.Error()}}
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return networkOutcome(e, err)
	}
	defer resp.Body.Close()
	out := outcome{answers: make([]answer, len(items))}
	if f == formatNDJSON && resp.StatusCode == 200 {
		if err := readNDJSON(resp.Body, &out); err != nil {
			// The answer broke off: events without an answer are sent again.
			out.nodeDown = true
		}
		for i := range out.answers {
			if out.answers[i].Status == StatusFailed && out.answers[i].err != nil && out.answers[i].err.Code == "unavailable" {
				out.nodeDown = true // shutting down, or its store failed
			}
		}
		return out
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return networkOutcome(e, err)
	}
	switch {
	case f == formatSingle && resp.StatusCode == 202:
		var a answer
		if err := sonic.Unmarshal(b, &a); err != nil || a.Status == "" {
			return outcome{whole: badAnswer(resp.StatusCode, b)}
		}
		out.answers[0] = a
	case f == formatArray && (resp.StatusCode == 202 || resp.StatusCode == 207):
		var v struct {
			Results []answer `json:"results"`
		}
		if err := sonic.Unmarshal(b, &v); err != nil {
			return outcome{whole: badAnswer(resp.StatusCode, b)}
		}
		for i := range v.Results {
			a := v.Results[i]
			idx := i
			if a.Index != nil {
				idx = *a.Index
			}
			if idx >= 0 && idx < len(out.answers) {
				a.err = firstError(a.Error, a.Errors, 0)
				out.answers[idx] = a
			}
		}
	default:
		out.whole = errorOf(resp.StatusCode, b)
		out.tooLarge = resp.StatusCode == 413
		out.nodeDown = resp.StatusCode == 503 || resp.StatusCode == 502 || resp.StatusCode == 504
		return out
	}
	for i := range out.answers {
		a := &out.answers[i]
		if a.err == nil {
			a.err = firstError(a.Error, a.Errors, 0)
		}
		if a.Status == StatusFailed && a.err != nil && a.err.Code == "unavailable" {
			out.nodeDown = true
		}
	}
	return out
}

func networkOutcome(e *endpoint, err error) outcome {
	return outcome{nodeDown: true, whole: &APIError{Code: "unavailable", Message: fmt.Sprintf("could not reach %s (%v); it is retried, on another node if there is one", e.url, err)}}
}

// readNDJSON reads an NDJSON answer into out.answers by line number.
func readNDJSON(r io.Reader, out *outcome) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		raw := sc.Bytes()
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l ndjsonLine
		if err := sonic.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("bad answer line %q: %v", truncate(raw, 200), err)
		}
		if l.Summary != nil {
			if fe := l.Summary.Error; fe != nil {
				// The stream was cut short (too many lines): the events without an answer
				// get the summary's error.
				fe.Status = statusOf(fe.Code, 400)
				for i := range out.answers {
					if out.answers[i].Status == "" {
						out.answers[i] = answer{Status: StatusRejected, err: fe}
						if fe.Retryable() || fe.Status == 413 {
							out.answers[i].Status = "" // send it again in a later request
						}
					}
				}
			}
			return nil
		}
		if l.Line >= 1 && l.Line <= len(out.answers) {
			a := l.answer
			a.err = firstError(a.Error, a.Errors, 0)
			out.answers[l.Line-1] = a
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF // no summary: the node went away mid-answer
}

// joinLines joins the items' encoded events between open and close (0: none) with sep.
func joinLines(items []*item, open, sep, close byte) []byte {
	n := 2
	for _, it := range items {
		n += len(it.line) + 1
	}
	b := make([]byte, 0, n)
	if open != 0 {
		b = append(b, open)
	}
	for i, it := range items {
		if i > 0 && sep != close {
			b = append(b, sep)
		}
		b = append(b, it.line...)
		if sep == close {
			b = append(b, sep)
		}
	}
	if sep != close {
		b = append(b, close)
	}
	return b
}

// errorOf reads a refused request's error body.
func errorOf(status int, b []byte) *APIError {
	var v errorBody
	if err := sonic.Unmarshal(b, &v); err != nil {
		return badAnswer(status, b)
	}
	if e := firstError(v.Error, v.Errors, status); e != nil {
		return e
	}
	return badAnswer(status, b)
}

// firstError returns e, or the first of list mentioning how many more there are, with the
// status set (from the code when status is 0).
func firstError(e *APIError, list []*APIError, status int) *APIError {
	if e == nil {
		for i, l := range list {
			if l == nil {
				continue
			}
			c := *l
			if more := len(list) - i - 1; more > 0 {
				c.Message += fmt.Sprintf(" (and %d more problems)", more)
			}
			e = &c
			break
		}
	}
	if e == nil {
		return nil
	}
	if status == 0 {
		status = statusOf(e.Code, 400)
	}
	e.Status = status
	return e
}

// statusOf returns the HTTP status the node gives an error code on its own.
func statusOf(code string, def int) int {
	switch code {
	case "unauthenticated":
		return 401
	case "forbidden":
		return 403
	case "rate_limited":
		return 429
	case "unavailable":
		return 503
	case "body_too_large", "too_many_events":
		return 413
	}
	return def
}

func badAnswer(status int, b []byte) *APIError {
	return &APIError{Status: status, Code: "http_" + strconv.Itoa(status),
		Message: fmt.Sprintf("unexpected answer %d: %s", status, truncate(b, 200))}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
