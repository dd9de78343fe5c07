package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/cluster"
	"github.com/wayline/wayline/cluster/metasync"
	"github.com/wayline/wayline/designer"
	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/api"
	"github.com/wayline/wayline/runtime/auth"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/demosink"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
	"github.com/wayline/wayline/runtime/users"
)

type serveFlags struct {
	data, listen, adminKey, logLevel string
	adminUser, adminPassword         string
	cpuProfile                       string
	demo                             bool
	partitions                       int
	dedupeWindow                     time.Duration
	maxBody, maxBatch, maxDepth      int
	shutdownTimeout                  time.Duration
	allowNet                         string
	publicURL                        string
	cluster                          clusterFlags
}

// clusterFlags are the serve flags of a cluster node; none set means a single node.
type clusterFlags struct {
	node, gossip, internal, advertise, join, secret string
	replicas                                        int
	faultInjection                                  bool
}

func (c clusterFlags) enabled() bool { return c.gossip != "" || c.join != "" || c.node != "" }

// bindEnv lets WAYLINE_<FLAG_NAME> set any flag not given on the command line.
func bindEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "WAYLINE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

func serve(args []string) int {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.data, "data", "wayline-data", "data directory (Pebble store)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "HOST:PORT for the API")
	fs.StringVar(&f.adminKey, "admin-key", "", "initial admin API key (for automation); without it the first start prints a new one")
	fs.StringVar(&f.adminUser, "admin-user", "admin", "username of the first designer user (an admin), created when the node has no users")
	fs.StringVar(&f.adminPassword, "admin-password", "", "password of the first designer user (for automation); without it the first start prints a new one")
	fs.BoolVar(&f.demo, "demo", false, "load the demo workspace (event types, a REST action to the built-in sink at /demo/sink, a live journey)")
	fs.IntVar(&f.partitions, "partitions", engine.DefaultConfig().Partitions, "partition count, fixed when the data directory is created")
	fs.DurationVar(&f.dedupeWindow, "dedupe-window", engine.DefaultConfig().DedupeWindow, "how long event ids are remembered for de-duplication")
	fs.IntVar(&f.maxBody, "max-body", api.DefaultConfig().Limits.MaxBodyBytes, "largest JSON request body in bytes")
	fs.IntVar(&f.maxBatch, "max-batch", api.DefaultConfig().Limits.MaxBatchEvents, "most events in one JSON array")
	fs.IntVar(&f.maxDepth, "max-depth", api.DefaultConfig().Limits.MaxDepth, "deepest JSON nesting accepted in an event")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (for performance work)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a graceful shutdown waits for open requests")
	fs.StringVar(&f.allowNet, "allow-net", "", "internal addresses or CIDR prefixes outbound calls (REST actions, data sources, channel providers, plugins) may reach, comma-separated (e.g. 127.0.0.1,10.0.0.0/8); other internal ones are refused")
	fs.StringVar(&f.publicURL, "public-url", "", "the address recipients reach this node at, for links in messages (open pixel, clicks, unsubscribe); default http://LISTEN")
	fs.StringVar(&f.cluster.node, "node", "", "this node's name in a cluster, unique and kept across restarts (setting any cluster flag makes the node a cluster member)")
	fs.StringVar(&f.cluster.gossip, "gossip", "", "HOST:PORT for cluster gossip (UDP and TCP), e.g. 127.0.0.1:7946")
	fs.StringVar(&f.cluster.internal, "internal", "", "HOST:PORT of the node-to-node port (forwarding, replication), e.g. 127.0.0.1:7947")
	fs.StringVar(&f.cluster.advertise, "advertise", "", "the host other nodes reach this one at (default: the --gossip host)")
	fs.StringVar(&f.cluster.join, "join", "", "gossip HOST:PORT of nodes already in the cluster, comma-separated")
	fs.StringVar(&f.cluster.secret, "cluster-secret", "", "shared secret of the cluster: encrypts gossip and signs internal requests")
	fs.IntVar(&f.cluster.replicas, "replicas", 3, "copies of each partition (leader included), fewer while fewer nodes are alive")
	fs.BoolVar(&f.cluster.faultInjection, "fault-injection", false, "serve the internal fault-injection endpoint (partition tests only)")
	if err := bindEnv(fs); err != nil {
		fmt.Fprintln(os.Stderr, "wayline serve:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "wayline serve: --log-level %q: use debug, info, warn or error\n", f.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wayline serve: --cpuprofile:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(os.Stderr, "wayline serve: --cpuprofile:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	if err := run(f, log); err != nil {
		log.Error("wayline stopped", "err", err)
		return 1
	}
	return 0
}

func run(f serveFlags, log *slog.Logger) error {
	apiCfg := api.DefaultConfig()
	apiCfg.Listen = f.listen
	apiCfg.Limits.MaxBodyBytes, apiCfg.Limits.MaxBatchEvents, apiCfg.Limits.MaxDepth = f.maxBody, f.maxBatch, f.maxDepth
	if err := apiCfg.Validate(); err != nil {
		return err
	}
	engCfg := engine.DefaultConfig()
	engCfg.Partitions, engCfg.DedupeWindow, engCfg.Logger = f.partitions, f.dedupeWindow, log
	if err := engCfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another process using it? choose another with --listen)", f.listen, err)
	}
	defer ln.Close()

	st, err := store.Open(store.Config{Dir: f.data})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	md := meta.New(st)
	keys, err := auth.New(md)
	if err != nil {
		return err
	}
	if err := bootstrapAdmin(keys, f.adminKey); err != nil {
		return err
	}
	people, err := users.New(md, users.DefaultConfig())
	if err != nil {
		return err
	}
	if err := bootstrapAdminUser(people, f.adminUser, f.adminPassword); err != nil {
		return err
	}
	// Closed after the engine stops (defers run in reverse).
	pluginsHost, registry, err := newPluginHost(md, filepath.Join(f.data, "plugin-cache"), splitList(f.allowNet), log)
	if err != nil {
		return err
	}
	defer pluginsHost.Close()
	guard, err := outboundGuard(f.allowNet, f.demo, ln.Addr())
	if err != nil {
		return err
	}
	senderCfg := actions.DefaultSenderConfig()
	senderCfg.Guard = guard
	caller := actions.NewCaller(senderCfg)
	defer caller.Sender.Close()
	eng, err := engine.New(st, engCfg, caller)
	if err != nil {
		return err
	}
	cat, err := catalog.New(md, log, func(s *catalog.Snapshot) {
		eng.SetCatalog(s.Journeys)
		// Compile new plugin versions now rather than in a partition worker on first use.
		go preloadPlugins(registry, s, log)
	})
	if err != nil {
		return err
	}
	// Plugin conditions, data-source adapters and plugin actions run on the wazero host.
	runner := &pluginRunner{reg: registry, cat: cat}
	caller.Plugins = runner
	// REST data sources dial through the same guard as REST actions and channel providers.
	eng.UseExtensions(runner, datasource.NewService(datasource.Config{},
		map[string]datasource.Fetcher{
			model.DataSourcePlugin: datasource.PluginFetcher{Runner: runner},
			model.DataSourceREST:   &datasource.RESTFetcher{Guard: guard},
		}))
	extra := map[string]fasthttp.RequestHandler{}
	publicURL := f.publicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	chans, messageEndpoints, err := newChannels(md, guard, publicURL, eng)
	if err != nil {
		return err
	}
	defer chans.Close()
	caller.Channels = chans
	if f.demo {
		sink := demosink.New(1000)
		extra["/demo/sink"] = sink.Handler
		extra["/demo/sink/{path:*}"] = sink.Handler
		extra["/demo/crm/{path:*}"] = demosink.CRM
		// The demo's email goes to an SMTP sink in this process, recorded into the same sink;
		// the guard lets calls reach exactly that address.
		mailSink, err := demosink.ServeMail(sink, "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start the demo SMTP sink: %w", err)
		}
		defer mailSink.Close()
		ap := mailSink.Addr().(*net.TCPAddr).AddrPort()
		mailAddr := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		guard.AllowAddrs = append(guard.AllowAddrs, mailAddr)
		base := "http://" + ln.Addr().String()
		if err := loadDemo(md, base+"/demo/sink", base+"/demo/crm", mailAddr); err != nil {
			return fmt.Errorf("load the demo workspace: %w", err)
		}
	}
	var node *cluster.Node
	if f.cluster.enabled() {
		var spread *metasync.Sync
		if node, spread, err = startCluster(f, publicURL, eng, st, md, cat, log); err != nil {
			return err
		}
		defer spread.Close() // after the node stops (defers run in reverse), before the store closes
	}
	eng.Start()
	// Deferred after st.Close, so it runs before it on every way out, a panic included: the
	// workers must be stopped before the store closes under them. Stop is idempotent.
	defer eng.Stop()
	deps := api.Deps{Engine: eng, Meta: md, Catalog: cat, Keys: keys, Tester: caller, Plugins: pluginsHost,
		Users: people, Designer: designer.FS(), Extra: extra, Messages: messageEndpoints, Log: log}
	if node != nil {
		if err := node.Start(); err != nil {
			return err
		}
		defer node.Close()
		deps.Router, deps.Cluster, deps.Reports, deps.Profiles = node, node, node, node
	}
	srv, err := api.New(apiCfg, deps)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "wayline %s: listening on http://%s (data in %s, %d partitions)\n", version, ln.Addr(), f.data, eng.Partitions())
	if node != nil {
		fmt.Fprintf(os.Stderr, "cluster: node %s, gossip %s, internal %s\n", node.Name(), f.cluster.gossip, f.cluster.internal)
	}
	if designer.Built {
		fmt.Fprintf(os.Stderr, "designer: http://%s/\n", ln.Addr())
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var serveErr error
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case serveErr = <-served:
	}
	if node != nil {
		// Hand partitions off while the API still forwards events to their new leaders.
		node.Leave(f.shutdownTimeout)
	}
	// Stop accepting, finish open requests (their events commit), then stop the engine, which
	// lets in-flight action calls finish and commits what the workers hold.
	ctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("open requests did not finish in time", "err", err)
	}
	eng.Stop()
	log.Info("stopped cleanly")
	if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
		return serveErr
	}
	return nil
}

// bootstrapAdmin makes sure an admin key exists: the one given, or a new one printed once.
func bootstrapAdmin(keys *auth.Keys, given string) error {
	if given != "" {
		if len(given) < 16 {
			return errors.New("--admin-key must be at least 16 characters")
		}
		if _, ok := keys.Lookup(given); ok {
			return nil
		}
		_, _, err := keys.Create("initial admin (--admin-key)", model.RoleAdmin, given)
		return err
	}
	if keys.Count() > 0 {
		return nil
	}
	_, secret, err := keys.Create("initial admin", model.RoleAdmin, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n  Admin API key (shown once; only its hash is stored):\n\n    %s\n\n  export WAYLINE_KEY=%s\n\n", secret, secret)
	return nil
}

// bootstrapAdminUser makes sure someone can sign in to the designer: when the node has no users
// it creates an admin with the given password, or a new one printed once.
func bootstrapAdminUser(people *users.Store, name, password string) error {
	if people.Count() > 0 {
		return nil
	}
	printed := password == ""
	if printed {
		password = users.NewPassword()
	}
	u, err := people.Create(name, model.RoleAdmin, password)
	if err != nil {
		return fmt.Errorf("the first designer user (--admin-user, --admin-password): %w", err)
	}
	if printed {
		fmt.Fprintf(os.Stderr, "\n  Designer sign-in (shown once; only an argon2id hash is stored):\n\n    user %s  password %s\n\n", u.Username, password)
	}
	return nil
}
