package discover

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/mailscout/mailscout/probe/proxy"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// httpDialer connects autoconfig fetches the way probes connect: through the proxy when there is
// one (letting it resolve the name when it can), else to the addresses our resolver found.
func httpDialer(dial probe.DialFunc, res Resolver, px *proxy.Dialer) probe.DialFunc {
	if px != nil {
		pd := *px
		if pd.Forward == nil {
			pd.Forward = proxy.DialFunc(dial)
		}
		pd.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			addrs, _, err := res.LookupAddr(ctx, host)
			return addrs, err
		}
		return pd.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, _ := strconv.Atoi(portStr)
		addrs, _, err := res.LookupAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, &LookupError{Name: host, Type: "A/AAAA", Err: errors.New("no addresses")}
		}
		return probe.DialRace(ctx, dial, addrs, port)
	}
}

// newHTTPClient makes the client for autoconfig fetches. It connects with dial (httpDialer), so
// a test world or a proxy sees every connection. It never uses HTTP_PROXY from the environment:
// proxies are mailscout's own setting. Redirects are followed at most three times.
func newHTTPClient(dial probe.DialFunc, roots *x509.CertPool, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true, // every fetch goes to another host; nothing to reuse, nothing left idle
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			return nil
		},
	}
}

// fetchResult is one document fetched over HTTP(S).
type fetchResult struct {
	Body []byte
	// AllHTTPS is true when the request and every redirect hop used HTTPS: only then can the
	// document's content be trusted (K-9's isTrusted rule).
	AllHTTPS bool
	FinalURL string
}

// fetch GETs rawURL and returns the body of a 200 answer, at most maxAutoconfigSize bytes.
func fetch(ctx context.Context, c *http.Client, rawURL string) (fetchResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fetchResult{}, err
	}
	req.Header.Set("User-Agent", "mailscout")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the source report
		}
		return fetchResult{}, err
	}
	defer resp.Body.Close()
	res := fetchResult{AllHTTPS: true, FinalURL: resp.Request.URL.String()}
	for r := resp.Request; r != nil; {
		if r.URL.Scheme != "https" {
			res.AllHTTPS = false
		}
		if r.Response == nil {
			break
		}
		r = r.Response.Request
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return res, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAutoconfigSize+1))
	if err != nil {
		return res, fmt.Errorf("reading body: %w", err)
	}
	res.Body = body
	return res, nil
}
