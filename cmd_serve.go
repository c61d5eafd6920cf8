package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/serve"
	"github.com/mailscout/mailscout/mailsim"
)

const serveSynopsis = `serve [--listen 127.0.0.1:8025] [flags]

Runs mailscout as an HTTP service, one process, nothing else needed:
  /                   the helpdesk page: live progress, diagnosis, settings, permalinks, history
  /v1/...             the JSON API (discover, discover/stream, probe, results; /v1/openapi.json)
  /mail/config-v1.1.xml and /.well-known/autoconfig/mail/config-v1.1.xml
                      Mozilla autoconfig
  /autodiscover/autodiscover.xml
                      Microsoft Autodiscover (POX)
  /v1/profile.mobileconfig
                      Apple configuration profile
  /healthz, /metrics  for load balancers and Prometheus

By default it never connects to loopback, private, link-local or other non-public addresses
(--allow-private lifts that), accepts no credentials (--allow-login: only in a POST body over
TLS), and keeps results in the SQLite database --db for --retention (at most
--history-per-domain per domain and --max-results in all).

--demo serves the built-in demo world (simulated DNS, web and mail servers on loopback) so the
page can be tried at once: it implies --allow-private, since the demo servers live on
documentation (TEST-NET) addresses, and keeps results in memory unless --db is given.
With --listen HOST:0 the port is chosen by the system; the address is printed on stderr.

Exit codes: 0 stopped cleanly (SIGTERM or Ctrl-C), 1 it could not start or failed, 2 usage
error.`

func runServe(args []string, stdout, stderr io.Writer) int {
	set, code := parseServe(args, stdout, stderr)
	if set == nil {
		return code
	}
	cfg := set.cfg
	if set.demo {
		world, err := mailsim.StartWorld(mailsim.DemoSpec())
		if err != nil {
			fmt.Fprintf(stderr, "mailscout serve: starting the demo world: %v\n", err)
			return exitNotWorks
		}
		defer world.Close()
		cfg.Engine.Resolver = &discover.DNSResolver{Servers: []string{world.DNSAddr()}}
		cfg.Engine.Probe.Dial = world
		cfg.Engine.Probe.RootCAs = world.CA.Pool()
		cfg.Engine.NoISPDB = true
		cfg.AllowPrivate = true // the demo servers live on TEST-NET addresses
		for _, d := range demoDomains {
			cfg.Examples = append(cfg.Examples, "alice@"+d)
		}
		if !set.dbSet {
			cfg.DB = ""
		}
	}
	srv, err := serve.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mailscout %v\n", err) // serve's errors begin "serve: "
		return exitNotWorks
	}
	ctx, stop := signalContext()
	defer stop()
	set.listen.Stderr = stderr
	if err := serve.Run(ctx, srv, set.listen); err != nil {
		fmt.Fprintf(stderr, "mailscout %v\n", err)
		return exitNotWorks
	}
	return exitWorks
}

// serveSetup is what serve's command line asks for.
type serveSetup struct {
	cfg         serve.Config
	listen      serve.Listen
	demo, dbSet bool
}

// parseServe reads serve's flags and checks the configuration as serve.New will, so that a
// value that cannot work is a usage error naming its flag; a nil setup comes with the exit code
// (usage, or --help).
func parseServe(args []string, stdout, stderr io.Writer) (*serveSetup, int) {
	cl := newCommandLine("serve", serveSynopsis, stdout, stderr)
	fs := cl.FlagSet
	var df discoverFlags
	shareDiscoverFlags(fs, &df)
	cfg := serve.DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:8025", "`HOST:PORT` to listen on (HOST:0 picks a free port, printed on stderr)")
	demo := fs.Bool("demo", false, "serve the built-in demo world (implies --allow-private; results in memory unless --db is given)")
	fs.BoolVar(&cfg.AllowPrivate, "allow-private", false, "let targets reach loopback, private, link-local and other non-public addresses (only where no stranger can use the service)")
	fs.StringVar(&cfg.DB, "db", "mailscout.db", `SQLite database `+"`file`"+` for results and history ("" keeps them in memory)`)
	fs.DurationVar(&cfg.Retention, "retention", cfg.Retention, "how long results are kept")
	fs.DurationVar(&cfg.CacheTTL, "cache-ttl", cfg.CacheTTL, "how long a discovery answers identical requests (and the engine reuses probe results)")
	fs.IntVar(&cfg.CacheEntries, "cache-entries", cfg.CacheEntries, "discoveries kept in memory at most")
	fs.IntVar(&cfg.MaxConcurrent, "max-concurrent", cfg.MaxConcurrent, "discoveries running at once; more get 503 busy with Retry-After")
	fs.IntVar(&cfg.MaxPerClient, "max-per-client", cfg.MaxPerClient, "discoveries one client (IPv4 address or IPv6 /64) may have running at once, counted until they end; more get 429 rate_limited with Retry-After")
	fs.IntVar(&cfg.HistoryPerDomain, "history-per-domain", cfg.HistoryPerDomain, "results kept per domain (the newest stay)")
	fs.IntVar(&cfg.MaxResults, "max-results", cfg.MaxResults, "results kept in all (the oldest go first)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "requests per second one client (IPv4 address or IPv6 /64) may make to the endpoints that start work; 0 for none")
	fs.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "requests one client may make at once before --rate-limit applies")
	connectRate := fs.Float64("connect-rate", 0, "new connections per second to mail servers over the whole service; 0 for no bound")
	dnsRate := fs.Float64("dns-rate", 0, "DNS questions per second sent to the resolver over the whole service; 0 for no bound")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "how long an API or page request waits for its discovery (which goes on and is cached)")
	fs.DurationVar(&cfg.ClientWait, "client-wait", cfg.ClientWait, "how long a mail client's autoconfig/Autodiscover/profile request waits (Thunderbird gives up after 5s)")
	domains := fs.String("domains", "", "comma-separated `domains` the mail-client endpoints answer for (default: any)")
	fs.BoolVar(&cfg.AllowLogin, "allow-login", false, "accept credentials in POST /v1/discover (only over TLS; never logged or stored)")
	fs.BoolVar(&cfg.TrustProxyHeaders, "trust-proxy-headers", false, "behind a reverse proxy: take the client from X-Forwarded-For and the scheme from X-Forwarded-Proto (their last values), from --trusted-proxies only")
	trustedProxies := fs.String("trusted-proxies", "127.0.0.0/8,::1/128", "comma-separated `networks` (CIDR) the reverse proxy connects from: with --trust-proxy-headers, its headers count only from these peers")
	tlsCert := fs.String("tls-cert", "", "PEM certificate (chain) `file`: serve HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM private key `file` for --tls-cert")
	fs.StringVar(&cfg.ProfileIdentifier, "profile-id", cfg.ProfileIdentifier, "reverse-DNS identifier prefix of Apple profiles")
	fs.StringVar(&cfg.Organization, "organization", cfg.Organization, "publisher shown in Apple profiles")
	logFormat := fs.String("log-format", "text", "log `format` on stderr: text or json")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	shutdown := fs.Duration("shutdown-timeout", 25*time.Second, "on SIGTERM, how long running requests get to finish")
	pos, code, ok := cl.parse(args)
	if !ok {
		return nil, code
	}
	if len(pos) > 0 {
		return nil, usageError(stderr, fs, fmt.Sprintf("serve takes no arguments, not %q", pos))
	}
	dbSet := cl.set("db")
	opts, err := df.options()
	if err != nil {
		return nil, usageError(stderr, fs, err.Error())
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return nil, usageError(stderr, fs, err.Error())
	}
	opts.Probe.Transcript = true // the page shows every dialogue
	cfg.Engine, cfg.Deadline, cfg.AllowInsecure, cfg.Logger = opts, opts.Deadline, opts.AllowInsecure, log
	cfg.Engine.CacheTTL = cfg.CacheTTL
	cfg.Engine.Rate, cfg.Engine.DNSRate = *connectRate, *dnsRate
	if *connectRate < 0 || *dnsRate < 0 {
		return nil, usageError(stderr, fs, "--connect-rate and --dns-rate must not be negative")
	}
	if cfg.TrustedProxies, err = serve.ParsePrefixes(*trustedProxies); err != nil {
		return nil, usageError(stderr, fs, "--trusted-proxies: "+err.Error())
	}
	if *domains != "" {
		for _, d := range strings.Split(*domains, ",") {
			cfg.Domains = append(cfg.Domains, strings.TrimSpace(d))
		}
	}
	if err := checkServeConfig(&cfg); err != nil {
		return nil, usageError(stderr, fs, err.Error())
	}
	if err := checkListen(*listen, *shutdown); err != nil {
		return nil, usageError(stderr, fs, err.Error())
	}
	return &serveSetup{cfg: cfg, demo: *demo, dbSet: dbSet,
		listen: serve.Listen{Addr: *listen, TLSCert: *tlsCert, TLSKey: *tlsKey, ShutdownTimeout: *shutdown}}, 0
}

// checkListen checks --listen (HOST:PORT, the port 0–65535; 0 lets the system choose) and
// --shutdown-timeout (positive: zero would cut every request in flight at SIGTERM) before
// anything starts, so that a typo is a usage error (exit 2), not a failure to listen (exit 1).
func checkListen(addr string, shutdown time.Duration) error {
	if shutdown <= 0 {
		return fmt.Errorf("--shutdown-timeout must be a positive duration, not %s", shutdown)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q is not HOST:PORT (%v)", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--listen %q: the port must be a number from 0 to 65535", addr)
	}
	return nil
}

// checkServeConfig makes the checks serve.New makes of its configuration (internal/serve's
// Config.validate, which is not exported), in the words of the flags, and normalises the
// domains as it does; a value that passes here passes there.
func checkServeConfig(c *serve.Config) error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--deadline", c.Deadline}, {"--request-timeout", c.RequestTimeout}, {"--client-wait", c.ClientWait},
		{"--cache-ttl", c.CacheTTL}, {"--retention", c.Retention}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be a positive duration, not %s", d.flag, d.v)
		}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--max-concurrent", c.MaxConcurrent}, {"--max-per-client", c.MaxPerClient}, {"--history-per-domain", c.HistoryPerDomain},
		{"--max-results", c.MaxResults}, {"--cache-entries", c.CacheEntries}} {
		if n.v < 1 {
			return fmt.Errorf("%s must be at least 1, not %d", n.flag, n.v)
		}
	}
	switch {
	case c.RateLimit < 0:
		return fmt.Errorf("--rate-limit must not be negative (0 turns it off), not %v", c.RateLimit)
	case c.RateLimit > 0 && c.RateBurst < 1:
		return fmt.Errorf("--rate-burst must be at least 1 with a --rate-limit, not %d", c.RateBurst)
	case c.TrustProxyHeaders && len(c.TrustedProxies) == 0:
		return errors.New("--trust-proxy-headers needs at least one network in --trusted-proxies")
	}
	for i, d := range c.Domains {
		a, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if err != nil || !strings.Contains(a, ".") {
			return fmt.Errorf("--domains: %q is not a domain name (give a comma-separated list, e.g. example.com,example.org)", d)
		}
		c.Domains[i] = strings.ToLower(a)
	}
	return nil
}

// shareDiscoverFlags gives serve the engine-wide flags of discover (timeouts, TLS bounds, CA,
// proxy, resolver, ISPDB, concurrency), defined once in discoverFlags so that both commands
// say the same. Per-discovery and output flags (--user, --json, …) are left out: a service
// takes those per request, and credentials never from its command line.
func shareDiscoverFlags(fs *flag.FlagSet, f *discoverFlags) {
	all := flag.NewFlagSet("discover", flag.ContinueOnError)
	f.register(all)
	_ = all.Set("concurrency", "64") // shared by every discovery of the service
	for _, name := range []string{"deadline", "resolver", "ispdb", "no-ispdb", "concurrency", "per-ip",
		"connect-timeout", "greeting-timeout", "timeout", "tls-min", "tls-max", "allow-insecure-tls", "allow-insecure",
		"ca-file", "ehlo", "proxy", "proxy-password-env", "proxy-password-stdin", "no-proxy"} {
		fl := all.Lookup(name)
		fs.Var(fl.Value, fl.Name, fl.Usage)
	}
	f.format = "json" // output is the service's; options() only checks it is valid
}

// newLogger makes the structured logger of --log-format and --log-level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
