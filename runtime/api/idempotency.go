package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/meta"
)

// idemRecord is a stored answer to a create request sent with an Idempotency-Key.
type idemRecord struct {
	BodyHash string          `json:"bodyHash"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response"`
	At       time.Time       `json:"at"`
}

// idempotencyTTL is how long a key's answer is replayed.
const idempotencyTTL = 24 * time.Hour

// idempotent runs a create handler at most once per Idempotency-Key: a retry with the same key
// and body gets the first answer again; the same key with another body is refused.
func (s *Server) idempotent(ctx *fasthttp.RequestCtx, h func()) {
	key, err := idempotencyKey(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if key == "" {
		h()
		return
	}
	body, err := s.readBody(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	sum := sha256.Sum256(body)
	s.idempotentHashed(ctx, key, hex.EncodeToString(sum[:]), h)
}

// idempotencyKey returns the request's Idempotency-Key ("" when none).
func idempotencyKey(ctx *fasthttp.RequestCtx) (string, error) {
	key := string(ctx.Request.Header.Peek("Idempotency-Key"))
	if len(key) > 255 {
		return "", apierr.New(400, apierr.InvalidRequest, "Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	return key, nil
}

// idempotentHashed is idempotent for a handler that read the body itself (a plugin upload,
// streamed past the JSON body limit): bodyHash is the hex sha256 of the whole body.
func (s *Server) idempotentHashed(ctx *fasthttp.RequestCtx, key, bodyHash string, h func()) {
	if key == "" {
		h()
		return
	}
	id := hashID(string(ctx.Path()) + "\x00" + key)
	var rec idemRecord
	if err := s.d.Meta.Get(meta.KindIdempotency, id, &rec); err == nil && time.Since(rec.At) < idempotencyTTL {
		if rec.BodyHash != bodyHash {
			writeErr(ctx, apierr.New(422, apierr.InvalidIdempotency, "Idempotency-Key", "this Idempotency-Key was used with a different body; use a new key for a new request"))
			return
		}
		ctx.SetStatusCode(rec.Status)
		ctx.SetContentType("application/json")
		ctx.SetBody(rec.Response)
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
		return
	}
	h()
	if st := ctx.Response.StatusCode(); st < 300 {
		_ = s.d.Meta.Put(meta.KindIdempotency, id, idemRecord{BodyHash: bodyHash, Status: st,
			Response: append(json.RawMessage(nil), ctx.Response.Body()...), At: time.Now().UTC()})
	}
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// pruneIdempotency deletes answers older than the replay window, so the records do not pile up.
func (s *Server) pruneIdempotency(now time.Time) {
	n, err := s.d.Meta.Prune(meta.KindIdempotency, func(raw []byte) bool {
		var rec idemRecord
		return json.Unmarshal(raw, &rec) != nil || now.Sub(rec.At) >= idempotencyTTL
	})
	if err != nil {
		s.log.Warn("pruning idempotency records failed", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned idempotency records", "count", n)
	}
}

// housekeeping runs periodic chores until stop is closed.
func (s *Server) housekeeping(stop <-chan struct{}) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	s.pruneIdempotency(time.Now())
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.pruneIdempotency(now)
		}
	}
}
