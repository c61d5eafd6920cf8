package mailsim

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// WebFile is one document the world's web server serves, e.g. an autoconfig XML at
// "https://autoconfig.example.test/mail/config-v1.1.xml". Status 0 means 200; a Redirect sends a
// 302 to that URL instead.
type WebFile struct {
	URL      string
	Body     string
	Status   int
	Redirect string
}

// webServer serves every WebFile over HTTP and HTTPS (one listener each, a certificate naming
// every HTTPS host), and records the requests it saw.
type webServer struct {
	w        *World
	http     *http.Server
	https    *http.Server
	httpLn   net.Listener
	httpsLn  net.Listener
	files    map[string]WebFile // scheme://host/path
	mu       sync.Mutex
	requests []string
}

func (w *World) startWeb() error {
	ws := &webServer{w: w, files: map[string]WebFile{}}
	var httpsHosts []string
	hosts := map[string]bool{}
	for _, f := range w.Spec.Web {
		u, err := url.Parse(f.URL)
		if err != nil {
			return fmt.Errorf("mailsim: web file %q: %w", f.URL, err)
		}
		ws.files[u.Scheme+"://"+strings.ToLower(u.Hostname())+u.Path] = f
		if u.Scheme == "https" && !hosts[u.Hostname()] {
			httpsHosts = append(httpsHosts, u.Hostname())
		}
		hosts[u.Hostname()] = true
	}
	if len(ws.files) == 0 {
		return nil
	}
	var err error
	if ws.httpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	if ws.httpsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		ws.httpLn.Close()
		return err
	}
	var bound []net.Listener // a bound world: each web host's own address, ports 80 and 443
	bound443 := map[net.Listener]bool{}
	// Handshake failures are expected (clients that reject a certificate): not worth a log line.
	quiet := log.New(io.Discard, "", 0)
	ws.http = &http.Server{Handler: ws.handler("http"), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	ws.https = &http.Server{Handler: ws.handler("https"), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	if len(httpsHosts) > 0 {
		cert, err := w.CA.Issue(CertValid, httpsHosts...)
		if err != nil {
			return err
		}
		ws.https.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	for h := range hosts {
		w.ensureHost(h)
		if w.Spec.Bind {
			for _, a := range w.addrs[h] {
				for _, port := range []string{"80", "443"} {
					ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), port))
					if err != nil {
						for _, l := range bound {
							l.Close()
						}
						ws.httpLn.Close()
						ws.httpsLn.Close()
						return fmt.Errorf("mailsim: web host %s: %w", h, err)
					}
					bound = append(bound, ln)
					bound443[ln] = port == "443"
				}
			}
		}
	}
	serve := func(ln net.Listener, tls bool) {
		w.bg.Add(1)
		go func() {
			defer w.bg.Done()
			if tls {
				ws.https.ServeTLS(latencyListener{ln, w.Spec.RTT}, "", "")
			} else {
				ws.http.Serve(latencyListener{ln, w.Spec.RTT})
			}
		}()
	}
	serve(ws.httpLn, false)
	serve(ws.httpsLn, true)
	for _, ln := range bound {
		serve(ln, bound443[ln])
	}
	for h := range hosts {
		for _, a := range w.addrs[h] {
			w.Net.Route(net.JoinHostPort(a.String(), "80"), ws.httpLn.Addr().String())
			w.Net.Route(net.JoinHostPort(a.String(), "443"), ws.httpsLn.Addr().String())
		}
		w.Net.Route(h+":80", ws.httpLn.Addr().String())
		w.Net.Route(h+":443", ws.httpsLn.Addr().String())
	}
	w.web = ws
	return nil
}

func (ws *webServer) handler(scheme string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		key := scheme + "://" + host + r.URL.Path
		ws.mu.Lock()
		ws.requests = append(ws.requests, scheme+"://"+host+r.URL.RequestURI())
		ws.mu.Unlock()
		f, ok := ws.files[key]
		switch {
		case !ok:
			http.NotFound(rw, r)
		case f.Redirect != "":
			http.Redirect(rw, r, f.Redirect, http.StatusFound)
		default:
			rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
			if f.Status != 0 {
				rw.WriteHeader(f.Status)
			}
			fmt.Fprint(rw, f.Body)
		}
	})
}

func (ws *webServer) close() {
	ws.http.Close()
	ws.https.Close()
}

// WebRequests returns the URLs (with query) the web server was asked for, in order.
func (w *World) WebRequests() []string {
	if w.web == nil {
		return nil
	}
	w.web.mu.Lock()
	defer w.web.mu.Unlock()
	return append([]string(nil), w.web.requests...)
}

// latencyListener delays every write of accepted connections by rtt: a request answered at
// once reaches the client one round trip after it was sent.
type latencyListener struct {
	net.Listener
	rtt time.Duration
}

func (l latencyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.rtt <= 0 {
		return c, err
	}
	return newLatencyConn(c, l.rtt), nil
}

// latencyConn delivers every write rtt after it was made, as a network path would: writes do
// not wait for each other (a TLS session ticket and the greeting written back to back arrive
// back to back, one round trip after the request), and Close delivers what is queued first.
type latencyConn struct {
	net.Conn
	rtt     time.Duration
	mu      sync.Mutex
	closed  bool
	queue   chan latencyChunk
	flushed chan struct{}
}

type latencyChunk struct {
	data []byte
	at   time.Time
}

func newLatencyConn(c net.Conn, rtt time.Duration) *latencyConn {
	lc := &latencyConn{Conn: c, rtt: rtt, queue: make(chan latencyChunk, 256), flushed: make(chan struct{})}
	go lc.flush()
	return lc
}

func (c *latencyConn) flush() {
	defer close(c.flushed)
	failed := false
	for ch := range c.queue {
		if d := time.Until(ch.at); d > 0 {
			time.Sleep(d)
		}
		if !failed {
			if _, err := c.Conn.Write(ch.data); err != nil {
				failed = true // keep draining so writers never block
			}
		}
	}
}

func (c *latencyConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.queue <- latencyChunk{data: append([]byte(nil), p...), at: time.Now().Add(c.rtt)}
	return len(p), nil
}

func (c *latencyConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.flushed
	return c.Conn.Close()
}
