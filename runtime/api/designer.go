package api

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
)

// designerCSP keeps the designer to its own origin: scripts and connections only to this node,
// no framing. Inline styles are allowed because the canvas positions nodes with style attributes.
const designerCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// registerDesigner serves the built designer: index.html at / and the hashed bundles under
// /assets/. These are not API operations (not in the OpenAPI document) and need no auth: the
// page signs in through the API.
func (s *Server) registerDesigner(r *router.Router) {
	if s.d.Designer == nil {
		return
	}
	index := func(ctx *fasthttp.RequestCtx) {
		s.serveDesignerFile(ctx, "index.html", "no-cache")
	}
	r.GET("/", index)
	r.HEAD("/", index)
	assets := func(ctx *fasthttp.RequestCtx) {
		// Bundle names carry a content hash: cache them for good.
		s.serveDesignerFile(ctx, "assets/"+param(ctx, "file"), "public, max-age=31536000, immutable")
	}
	r.GET("/assets/{file:*}", assets)
	r.HEAD("/assets/{file:*}", assets)
}

func (s *Server) serveDesignerFile(ctx *fasthttp.RequestCtx, name, cacheControl string) {
	name = path.Clean(name)
	if strings.HasPrefix(name, "..") || strings.Contains(name, "\x00") || !fs.ValidPath(name) {
		writeErr(ctx, apierr.New(404, apierr.NotFound, "", "no such file"))
		return
	}
	b, err := fs.ReadFile(s.d.Designer, name)
	if err != nil {
		writeErr(ctx, apierr.New(404, apierr.NotFound, "", "no such designer file %s", name))
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Security-Policy", designerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	ctx.SetContentType(ct)
	ctx.SetStatusCode(200)
	if !ctx.IsHead() {
		ctx.SetBody(b)
	}
}
