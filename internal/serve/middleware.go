package serve

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// securityHeaders go on every response. The page loads nothing but its own embedded script
// and style sheet, so 'self' is the whole policy: a server greeting that smuggled markup into
// the page (it cannot: html/template escapes it) still could not run a script, load an image
// that leaks the page's contents, or frame the page for clickjacking.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for the log line and the metrics. Unwrap lets
// http.ResponseController reach the connection's Flush and SetWriteDeadline (the event stream
// needs both).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument logs one line per request and counts it by route. The line carries the route and
// its pattern ("/r/{id}"), never the path, the query string or a body: a path can carry a
// permalink ID (which opens a result, address and all), a query an address, a body a password.
func (s *Server) instrument(route, pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "route", route, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, newError(codeInternal, "internal error"))
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
			s.log.Log(r.Context(), level, "request", "method", r.Method, "route", route, "pattern", pattern,
				"status", sw.status, "bytes", sw.bytes, "ms", time.Since(start).Milliseconds(),
				"client", clientAddr(r, s.cfg.fromProxy(r)).String())
		}()
		h.ServeHTTP(sw, r)
	})
}

// methods dispatches by method and answers anything else with 405 and an Allow header, in
// the API's error format (the standard mux's 405 is plain text).
func methods(hs map[string]http.HandlerFunc) http.HandlerFunc {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		_, ok := hs[m]
		if _, get := hs[http.MethodGet]; ok || m == http.MethodHead && get {
			allowed = append(allowed, m)
		}
	}
	allow := strings.Join(allowed, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		h, ok := hs[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = hs[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			writeError(w, newError(codeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, allow))
			return
		}
		h(w, r)
	}
}
