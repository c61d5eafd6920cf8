package discover

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/mailscout/mailscout/internal/dialrace"
	"github.com/mailscout/mailscout/probe"
)

// fetcher gets autoconfig documents for one discovery. It connects the way probes connect
// (through the same Dialer, to the addresses discovery's own resolver found), never uses
// HTTP_PROXY from the environment (proxies are mailscout's own setting), follows at most three
// redirects and never one from https to http, and asks the guard before every connection, so
// that a hostile domain cannot point it at an internal address.
type fetcher struct {
	client *http.Client
	guard  *guard
}

func newFetcher(dial probe.Dialer, res Resolver, g *guard, roots *x509.CertPool, timeout time.Duration) *fetcher {
	f := &fetcher{guard: g}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            f.dialer(dial, res),
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true, // every fetch goes to another host; nothing to reuse, nothing left idle
	}
	f.client = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if prev := via[len(via)-1]; prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("refused a redirect from https to %s (%s): it would give up the authenticity HTTPS gave", req.URL.Scheme, req.URL.Redacted())
			}
			return nil
		},
	}
	return f
}

// dialer resolves with discovery's resolver, keeps only addresses the guard allows, and races
// them; through a proxy that resolves names itself, it checks what the local resolver says and
// lets the proxy connect by name.
func (f *fetcher) dialer(dial probe.Dialer, res Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, _ := strconv.Atoi(portStr)
		var addrs []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{ip}
		} else {
			a, err := res.LookupAddr(ctx, host)
			switch {
			case err != nil && dial.ResolvesRemotely() && f.guard.policy != PrivateRefuse:
				return dial.DialContext(ctx, network, addr) // the proxy's DNS may know it
			case err != nil:
				return nil, err
			case len(a.Records) == 0:
				return nil, &LookupError{Name: host, Type: "A/AAAA", Err: errors.New("no addresses")}
			}
			addrs = a.Records
		}
		allowed, refusal := f.guard.filter(ctx, host, addrs)
		if len(allowed) == 0 {
			return nil, refusal
		}
		markTouched(ctx, allowed) // a shared answer goes only to discoveries allowed these too
		if dial.ResolvesRemotely() && net.ParseIP(host) == nil {
			return dial.DialContext(ctx, network, addr)
		}
		return dialrace.Dial(ctx, dial.DialContext, allowed, port)
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
func (f *fetcher) fetch(ctx context.Context, rawURL string) (fetchResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fetchResult{}, err
	}
	req.Header.Set("User-Agent", "mailscout")
	resp, err := f.client.Do(req)
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
		return res, &httpStatusError{resp.Status}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAutoconfigSize+1))
	if err != nil {
		return res, fmt.Errorf("reading body: %w", err)
	}
	res.Body = body
	return res, nil
}
