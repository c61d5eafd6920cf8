package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNSResolver asks recursive resolvers directly with github.com/miekg/dns. It exists (instead of
// net.Resolver) because mailscout needs the AD bit of every answer, which net.Resolver never
// exposes, and deterministic record order. This file is the only one that imports miekg/dns,
// so moving to its successor is a one-file change.
type DNSResolver struct {
	Servers  []string      // host:port of recursive resolvers, tried in order
	Timeout  time.Duration // per attempt; default 2 s
	Attempts int           // rounds over all servers; default 2
}

// SystemResolver reads /etc/resolv.conf.
func SystemResolver() (*DNSResolver, error) {
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("reading /etc/resolv.conf: %w", err)
	}
	r := &DNSResolver{}
	for _, s := range cfg.Servers {
		r.Servers = append(r.Servers, net.JoinHostPort(s, cfg.Port))
	}
	if len(r.Servers) == 0 {
		return nil, errors.New("/etc/resolv.conf names no nameserver")
	}
	return r, nil
}

// exchange asks every server in turn (Attempts rounds) until one answers with NOERROR or
// NXDOMAIN, retrying over TCP when a UDP answer is truncated. miekg's client does neither.
func (r *DNSResolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, true) // DO: ask for DNSSEC so a validating resolver reports AD
	m.AuthenticatedData = true
	timeout, attempts := r.Timeout, r.Attempts
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	if attempts <= 0 {
		attempts = 2
	}
	var lastErr error = errors.New("no DNS server configured")
	for range attempts {
		for _, srv := range r.Servers {
			c := &dns.Client{Net: "udp", Timeout: timeout}
			resp, _, err := c.ExchangeContext(ctx, m, srv)
			if err == nil && resp.Truncated {
				c.Net = "tcp"
				resp, _, err = c.ExchangeContext(ctx, m, srv)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", srv, err)
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess:
				return resp, nil
			case dns.RcodeNameError:
				return resp, ErrNXDomain
			}
			lastErr = fmt.Errorf("%s answered %s", srv, dns.RcodeToString[resp.Rcode])
		}
	}
	return nil, lastErr
}

func (r *DNSResolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, error) {
	resp, err := r.exchange(ctx, name, qtype)
	if err != nil {
		return nil, false, &LookupError{Name: strings.TrimSuffix(name, "."), Type: dns.TypeToString[qtype], Err: err}
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == qtype { // CNAMEs in the chain are skipped; their targets' records count
			out = append(out, rr)
		}
	}
	return out, resp.AuthenticatedData, nil
}

// LookupMX implements Resolver. Records come back in answer order; callers sort.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]MX, bool, error) {
	rrs, ad, err := r.lookup(ctx, domain, dns.TypeMX)
	var out []MX
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, MX{Host: strings.TrimSuffix(strings.ToLower(mx.Mx), "."), Preference: mx.Preference})
	}
	return out, ad, err
}

// LookupSRV implements Resolver. A target of "." is returned as "" (service not offered).
func (r *DNSResolver) LookupSRV(ctx context.Context, name string) ([]SRV, bool, error) {
	rrs, ad, err := r.lookup(ctx, name, dns.TypeSRV)
	var out []SRV
	for _, rr := range rrs {
		s := rr.(*dns.SRV)
		out = append(out, SRV{Target: strings.TrimSuffix(strings.ToLower(s.Target), "."), Port: s.Port, Priority: s.Priority, Weight: s.Weight})
	}
	return out, ad, err
}

// LookupAddr implements Resolver: A and AAAA at once. The answer is authentic only if both are.
func (r *DNSResolver) LookupAddr(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, false, nil
	}
	var wg sync.WaitGroup
	var rr4, rr6 []dns.RR
	var ad4, ad6 bool
	var err4, err6 error
	wg.Go(func() { rr4, ad4, err4 = r.lookup(ctx, host, dns.TypeA) })
	wg.Go(func() { rr6, ad6, err6 = r.lookup(ctx, host, dns.TypeAAAA) })
	wg.Wait()
	var out []netip.Addr
	for _, rr := range rr6 {
		if a, ok := netip.AddrFromSlice(rr.(*dns.AAAA).AAAA); ok {
			out = append(out, a)
		}
	}
	for _, rr := range rr4 {
		if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out, ad4 && ad6, nil
	}
	if err4 != nil {
		return nil, false, err4
	}
	if err6 != nil && !errors.Is(err6, ErrNXDomain) {
		return nil, false, err6
	}
	return nil, ad4 && ad6, nil
}
