package demosink

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Serve starts a sink with the default capacity on its own fasthttp server, listening on addr
// (127.0.0.1:0, a free loopback port, when empty). It returns the sink, its base URL
// ("http://127.0.0.1:PORT") and a function that stops the server, waiting at most 5s for
// requests in flight. For tests, benchmarks and the standalone demo.
func Serve(addr string) (s *Sink, url string, closeFn func(), err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, err
	}
	s = New(0)
	srv := &fasthttp.Server{
		Handler:            s.Handler,
		Name:               "wayline-demosink",
		MaxRequestBodySize: 4 << 20,
		ReadTimeout:        time.Minute,
		IdleTimeout:        time.Minute,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	var once sync.Once
	closeFn = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.ShutdownWithContext(ctx)
			<-done
		})
	}
	return s, "http://" + ln.Addr().String(), closeFn, nil
}
