package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Listen says where and how the service listens.
type Listen struct {
	Addr            string // host:port; port 0 picks a free one (printed on Stderr)
	TLSCert, TLSKey string // PEM files; both or neither
	// ShutdownTimeout is how long running requests (and their discoveries) get to finish after
	// the context ends, before they are cut.
	ShutdownTimeout time.Duration
	// Stderr receives "mailscout serve: listening on URL", so a test or a script that asked for
	// port 0 learns the port.
	Stderr io.Writer
}

// Run serves s until ctx ends (SIGTERM, Ctrl-C), then shuts down gracefully: no new
// connections, running requests finish within ShutdownTimeout, then s is closed.
func Run(ctx context.Context, s *Server, l Listen) error {
	if (l.TLSCert == "") != (l.TLSKey == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return fmt.Errorf("serve: listening on %s: %w", l.Addr, err)
	}
	scheme := "http"
	if l.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey); err != nil { // say so now, not at the first handshake
			ln.Close()
			return fmt.Errorf("serve: loading the TLS certificate: %w", err)
		}
		scheme = "https"
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // bodies are small (Autodiscover 64 KiB, login 16 KiB)
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		// No WriteTimeout: the event stream lasts as long as a discovery. Each handler bounds
		// its own wait (RequestTimeout, the discovery deadline).
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if l.Stderr != nil {
		fmt.Fprintf(l.Stderr, "mailscout serve: listening on %s://%s\n", scheme, ln.Addr())
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "tls", scheme == "https", "allow_private", s.cfg.AllowPrivate,
		"allow_login", s.cfg.AllowLogin, "max_concurrent", s.cfg.MaxConcurrent, "domains", s.cfg.Domains)
	served := make(chan error, 1)
	go func() {
		if scheme == "https" {
			served <- hs.ServeTLS(ln, l.TLSCert, l.TLSKey)
			return
		}
		served <- hs.Serve(ln)
	}()
	select {
	case err := <-served:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", l.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), l.ShutdownTimeout)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if shutErr != nil {
		hs.Close() // cut what did not finish in time
	}
	<-served
	closeErr := s.Close()
	if shutErr != nil && !errors.Is(shutErr, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shutting down: %w", shutErr)
	}
	return closeErr
}
