package warm

import (
	_ "github.com/bytedance/sonic"
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/fasthttp/router"
	_ "github.com/google/cel-go/cel"
	_ "github.com/google/cel-go/ext"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/valyala/fasthttp"
	_ "github.com/valyala/fasthttp/fasthttpadaptor"
	_ "golang.org/x/time/rate"
)
