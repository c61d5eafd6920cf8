package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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
// (methods, the /v1/ catch-all) and an HTML page for people (notFoundPage).
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc) { mux.Handle(pattern, s.instrument(route, h)) }
	get := func(h http.HandlerFunc) http.HandlerFunc {
		return methods(map[string]http.HandlerFunc{http.MethodGet: h})
	}

	handle("/v1/discover", "discover", methods(map[string]http.HandlerFunc{http.MethodGet: s.apiDiscover, http.MethodPost: s.apiDiscoverLogin}))
	handle("/v1/discover/stream", "stream", get(s.apiStream))
	handle("/v1/probe", "probe", get(s.apiProbe))
	handle("/v1/results/{id}", "result", get(s.apiResult))
	handle("/v1/openapi.json", "openapi", get(serveOpenAPI))
	handle("/v1/", "api_not_found", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(codeNotFound, "no such endpoint %s; see /v1/openapi.json", r.URL.Path))
	})

	handle("/mail/config-v1.1.xml", "autoconfig", get(s.autoconfig))
	handle(wellKnownAutoconfig, "autoconfig", get(s.autoconfig))
	handle("/v1/profile.mobileconfig", "mobileconfig", get(s.mobileconfig))
	// Autodiscover is matched whatever the capitalisation: Outlook sends
	// /Autodiscover/Autodiscover.xml, Thunderbird the lower-case form, and Exchange, on IIS,
	// never told them apart.
	autodiscover := s.instrument("autodiscover", methods(map[string]http.HandlerFunc{http.MethodPost: s.autodiscover}))

	handle("/healthz", "healthz", get(s.healthz))
	mux.Handle("/metrics", s.instrument("metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))

	handle("/static/", "static", get(s.page.static))
	handle("/favicon.ico", "static", get(s.page.favicon))
	handle("/r/{id}", "permalink", get(s.permalink))
	handle("/{$}", "index", get(s.index))
	handle("/", "not_found", s.notFoundPage)

	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.URL.Path, "/autodiscover/autodiscover.xml") {
			autodiscover.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
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

// admit applies the per-client rate limit to a request that can start work.
func (s *Server) admit(r *http.Request) error {
	ok, wait := s.limit.allow(clientAddr(r, s.cfg.TrustProxyHeaders))
	if ok {
		return nil
	}
	return &apiError{Code: codeRateLimited, RetryAfter: max(wait, time.Second),
		Message: fmt.Sprintf("too many requests from this client; the limit is %g per second with bursts of %d", s.cfg.RateLimit, s.cfg.RateBurst)}
}

// pruneLoop enforces the retention period: at start, then hourly.
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
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
