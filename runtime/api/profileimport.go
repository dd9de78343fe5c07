package api

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/bytedance/sonic"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/ingest"
)

// importWorkers is how many profile writes of one import are in flight together: enough for
// the engine's group commit to batch them, few enough to leave room for live traffic.
const importWorkers = 16

// importResult is the answer for one line of an import.
type importResult struct {
	Line   int           `json:"line"`
	ID     string        `json:"id,omitempty"`
	Status string        `json:"status"` // "imported", "rejected" (the line is wrong), "failed" (retry it)
	Error  *apierr.Error `json:"error,omitempty"`
}

// importSummary is the last line of an import's answer.
type importSummary struct {
	Lines    int           `json:"lines"`
	Imported int           `json:"imported"`
	Rejected int           `json:"rejected"`
	Failed   int           `json:"failed"`
	Error    *apierr.Error `json:"error,omitempty"`
}

// POST /v1/profiles/import: NDJSON, one {"id","attributes","test"} per line, each deep-merged
// into its profile like PUT /v1/profiles/{id}. The answer streams while the body arrives: one
// result line per input line, in order, then {"summary":{...}}. The body is read in chunks of
// MaxBatchEvents lines, so memory stays bounded whatever its length.
func (s *Server) importProfiles(ctx *fasthttp.RequestCtx) {
	if s.d.Engine == nil {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "profiles are not served by this server"))
		return
	}
	ct := strings.ToLower(string(ctx.Request.Header.ContentType()))
	if ct != "" && !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/jsonl") {
		writeErr(ctx, apierr.New(415, apierr.UnsupportedMedia, "Content-Type", "send application/x-ndjson: one {\"id\":\"email:ada@example.com\",\"attributes\":{...}} per line, not %q", clipText(ct, 60)))
		return
	}
	var r io.Reader = ctx.RequestBodyStream()
	if r == nil {
		r = bytes.NewReader(ctx.PostBody())
	}
	ctx.SetStatusCode(200)
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		s.streamImport(r, w)
	})
}

func (s *Server) streamImport(r io.Reader, w *bufio.Writer) {
	lim := s.cfg.Limits
	lr := ingest.NewLineReader(r, lim.MaxLineBytes)
	size := max(lim.MaxBatchEvents, 1)
	recs := make([]ingest.ProfileRecord, 0, size)
	res := make([]importResult, 0, size)
	total := map[string]int{}
	seen, blank := 0, 0
	var writeErr error
	flush := func() {
		if len(res) == 0 {
			return
		}
		s.applyImport(recs, res)
		for i := range res {
			total[res[i].Status]++
			b, _ := sonic.Marshal(res[i])
			w.Write(b)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil && writeErr == nil {
			writeErr = err // the client went away; what was imported stays imported
		}
		recs, res = recs[:0], res[:0]
	}
	var fatal error
	for writeErr == nil {
		line, n, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		seen++
		if seen > s.cfg.NDJSONMaxLines {
			fatal = apierr.New(413, apierr.TooManyEvents, "", "more than %d lines in one request; split the file", s.cfg.NDJSONMaxLines)
			break
		}
		var ae *apierr.Error
		var rec ingest.ProfileRecord
		switch {
		case err != nil && !errors.As(err, &ae):
			fatal = apierr.New(400, apierr.InvalidRequest, "", "could not read the body after line %d: %v", seen-1, err)
		case err == nil && len(bytes.TrimSpace(line)) == 0:
			blank++
			continue
		case err == nil:
			rec, ae = ingest.DecodeProfileLine(line, lim)
		}
		if fatal != nil {
			break
		}
		recs = append(recs, rec)
		out := importResult{Line: n, ID: rec.ID}
		if ae != nil {
			out.Status, out.Error, out.ID = statusRejected, ae, ""
		}
		res = append(res, out)
		if len(res) == size {
			flush()
		}
	}
	flush()
	summary := importSummary{Lines: seen - blank, Imported: total["imported"], Rejected: total[statusRejected], Failed: total[statusFailed]}
	if fatal != nil {
		summary.Error = apierr.As(fatal)
	}
	b, _ := sonic.Marshal(struct {
		Summary importSummary `json:"summary"`
	}{summary})
	w.Write(b)
	w.WriteByte('\n')
	w.Flush()
}

// applyImport writes the chunk's valid records, importWorkers at a time, and fills their
// results. Two lines for the same profile in one chunk are applied in line order.
func (s *Server) applyImport(recs []ingest.ProfileRecord, res []importResult) {
	// Group by profile so that lines for one profile keep their order.
	order := map[string][]int{}
	var ids []string
	for i := range res {
		if res[i].Status != "" {
			continue
		}
		id := recs[i].ID
		if _, ok := order[id]; !ok {
			ids = append(ids, id)
		}
		order[id] = append(order[id], i)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(importWorkers, len(ids)) {
		wg.Go(func() {
			for id := range work {
				for _, i := range order[id] {
					c, cancel := opCtx()
					_, err := s.d.Profiles.UpsertProfile(c, id, recs[i].Attributes, recs[i].Test)
					cancel()
					if err != nil {
						res[i].Status, res[i].Error = statusFailed, apierr.As(profileErr(err, id))
						continue
					}
					res[i].Status = "imported"
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}
