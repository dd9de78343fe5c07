package demosink

import (
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"
)

// CRM is the demo's stand-in for a customer system, read by the demo's REST data source:
// GET .../customers/{id} answers {"id", "tier", "emailOptIn"}. The answer is a pure function
// of the id, so a demo can be followed: ids containing "vip" or ending in an even digit are
// "gold", the others "silver"; everyone has opted in to email except ids containing "optout".
func CRM(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	i := strings.LastIndex(path, "/customers/")
	if !ctx.IsGet() || i < 0 || len(path) == i+len("/customers/") {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":"GET /demo/crm/customers/{id}"}`)
		return
	}
	id := path[i+len("/customers/"):]
	tier := "silver"
	if last := id[len(id)-1]; strings.Contains(id, "vip") || strings.ContainsRune("02468", rune(last)) {
		tier = "gold"
	}
	b, _ := json.Marshal(map[string]any{"id": id, "tier": tier, "emailOptIn": !strings.Contains(id, "optout")})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
