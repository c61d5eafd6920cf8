package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailscout/mailscout/clientconfig"
	"github.com/mailscout/mailscout/discover"
)

// Server is the service: its handler, and the engine, cache, store and limits behind it.
type Server struct {
	cfg     Config
	engine  *discover.Engine
	store   *store
	disc    *discoverer
	limit   *limiter
	metrics *metrics
	log     *slog.Logger
	page    *pages
	handler http.Handler

	stopPrune context.CancelFunc
	pruned    sync.WaitGroup
}

// New starts the engine and opens the store. Close releases both.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	eo := cfg.Engine
	eo.Private = discover.PrivateRefuse
	if cfg.AllowPrivate {
		eo.Private = discover.PrivateAllow
	}
	if eo.Resolver == nil {
		r, err := discover.SystemResolver()
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		eo.Resolver = r
	}
	cfg.Engine = eo
	engine, err := discover.NewEngine(eo)
	if err != nil {
		return nil, fmt.Errorf("serve: starting the discovery engine: %w", err)
	}
	st, err := openStore(cfg.DB)
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	pg, err := newPages()
	if err != nil {
		engine.Close()
		st.close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	st.perDomain, st.maxRows = cfg.HistoryPerDomain, cfg.MaxResults
	s := &Server{cfg: cfg, engine: engine, store: st, metrics: newMetrics(), log: cfg.Logger, page: pg}
	s.limit = newLimiter(cfg.RateLimit, cfg.RateBurst, cfg.now)
	s.disc = newDiscoverer(engine, &s.cfg, st, s.metrics, s.log)
	s.handler = s.routes()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopPrune = cancel
	s.pruned.Add(1)
	go s.pruneLoop(ctx)
	return s, nil
}

// Handler is the whole service as one http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops every discovery, then the engine and the store. Call it after the HTTP server's
// Shutdown, so that requests still waiting see their discovery end rather than a closed store.
func (s *Server) Close() error {
	s.stopPrune()
	s.pruned.Wait()
	s.disc.close()
	s.engine.Close()
	if err := s.store.close(); err != nil {
		return fmt.Errorf("serve: closing the database: %w", err)
	}
	return nil
}

// routes maps every path. The mux's own 404 and 405 are replaced by the API's error format
// (methods, the /v1/ catch-all) and an HTML page for people (notFoundPage). Every route refuses
// credentials in its query (noCredentials) and is logged by its pattern, never its path
// (instrument).
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.Handler) {
		mux.Handle(pattern, s.instrument(route, pattern, s.noCredentials(route, h)))
	}
	get := func(h http.Handler) http.HandlerFunc {
		return methods(map[string]http.HandlerFunc{http.MethodGet: h.ServeHTTP})
	}

	handle("/v1/discover", "discover", methods(map[string]http.HandlerFunc{http.MethodGet: s.apiDiscover, http.MethodPost: s.apiDiscoverLogin}))
	handle("/v1/discover/stream", "stream", get(http.HandlerFunc(s.apiStream)))
	handle("/v1/probe", "probe", get(http.HandlerFunc(s.apiProbe)))
	handle("/v1/results/{id}", "result", get(http.HandlerFunc(s.apiResult)))
	handle("/v1/openapi.json", "openapi", get(http.HandlerFunc(serveOpenAPI)))
	handle("/v1/", "api_not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(codeNotFound, "no such endpoint %s; see /v1/openapi.json", r.URL.Path))
	}))

	handle("/mail/config-v1.1.xml", "autoconfig", get(http.HandlerFunc(s.autoconfig)))
	handle(wellKnownAutoconfig, "autoconfig", get(http.HandlerFunc(s.autoconfig)))
	handle("/v1/profile.mobileconfig", "mobileconfig", get(http.HandlerFunc(s.mobileconfig)))
	// Autodiscover is matched whatever the capitalisation: Outlook sends
	// /Autodiscover/Autodiscover.xml, Thunderbird the lower-case form, and Exchange, on IIS,
	// never told them apart. It answers every method itself, in Autodiscover documents.
	const autodiscoverPath = "/autodiscover/autodiscover.xml"
	autodiscover := s.instrument("autodiscover", autodiscoverPath, s.noCredentials("autodiscover", http.HandlerFunc(s.autodiscover)))

	handle("/healthz", "healthz", get(http.HandlerFunc(s.healthz)))
	// No authentication: the operator restricts /metrics at the reverse proxy (README).
	handle("/metrics", "metrics", get(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))

	handle("/static/", "static", get(http.HandlerFunc(s.page.static)))
	handle("/favicon.ico", "static", get(http.HandlerFunc(s.page.favicon)))
	handle("/r/{id}", "permalink", get(http.HandlerFunc(s.permalink)))
	handle("/{$}", "index", get(http.HandlerFunc(s.index)))
	handle("/", "not_found", http.HandlerFunc(s.notFoundPage))

	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.URL.Path, autodiscoverPath) {
			autodiscover.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// noCredentials refuses, on every route, a query that carries a parameter named like a
// credential (credentialsInQuery): 403 login_not_allowed, in the route's own form of error.
func (s *Server) noCredentials(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !credentialsInQuery(r.URL.RawQuery) {
			h.ServeHTTP(w, r)
			return
		}
		switch route {
		case "index", "permalink", "not_found":
			s.render(w, s.page.index, http.StatusForbidden, pageData{Title: "Check mail settings", Error: errCredentialsInURL, Examples: s.cfg.Examples})
		case "autodiscover":
			writeAutodiscoverError(w, http.StatusForbidden, clientconfig.AutodiscoverInvalidRequest, "Invalid Request: "+errCredentialsInURL.Message, 0)
		default:
			writeError(w, errCredentialsInURL)
		}
	})
}

// healthz answers 200 while the store answers; a load balancer takes the instance out otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.store.db.PingContext(ctx); err != nil {
		s.log.Error("healthz", "err", err)
		writeError(w, &apiError{Code: codeUnavailable, Message: "the database does not answer"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"status\":\"ok\",\"discoveries_in_flight\":%d}\n", s.disc.running.Load())
}

// client is who sent r, as the limits count clients: an IPv4 address or an IPv6 /64, read from
// X-Forwarded-For only when r came from a trusted proxy.
func (s *Server) client(r *http.Request) netip.Prefix {
	return clientPrefix(clientAddr(r, s.cfg.fromProxy(r)))
}

// admit applies the per-client rate limit to a request that can start work.
func (s *Server) admit(r *http.Request) error {
	ok, wait := s.limit.allow(clientAddr(r, s.cfg.fromProxy(r)))
	if ok {
		return nil
	}
	return &apiError{Code: codeRateLimited, RetryAfter: max(wait, time.Second),
		Message: fmt.Sprintf("too many requests from this client; the limit is %g per second with bursts of %d", s.cfg.RateLimit, s.cfg.RateBurst)}
}

// pruneLoop enforces the retention period and the store's bounds (--history-per-domain,
// --max-results): at start, then hourly. Saving a result enforces the bounds too.
func (s *Server) pruneLoop(ctx context.Context) {
	defer s.pruned.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.store.prune(ctx, s.cfg.now().Add(-s.cfg.Retention))
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.log.Error("retention", "err", err)
		case n > 0:
			s.log.Info("retention", "deleted", n)
		}
		n, err = s.store.trim(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.log.Error("store bounds", "err", err)
		case n > 0:
			s.log.Info("store bounds", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
