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
// net.Resolver) because mailscout needs the AD bit and the TTL of every answer, which
// net.Resolver never exposes, and deterministic record order. This file is the only one that
// imports miekg/dns, so moving to its successor is a one-file change.
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
	var lastErr error = fmt.Errorf("%w: no DNS server configured", ErrNoAnswer)
	for range attempts {
		for _, srv := range r.Servers {
			c := &dns.Client{Net: "udp", Timeout: timeout}
			resp, _, err := c.ExchangeContext(ctx, m, srv)
			if err == nil && resp.Truncated {
				c.Net = "tcp"
				resp, _, err = c.ExchangeContext(ctx, m, srv)
				if err == nil && resp.Truncated {
					return nil, fmt.Errorf("%s: %w", srv, ErrTruncated)
				}
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				if isResourceExhaustion(err) {
					return nil, fmt.Errorf("%w: %v", ErrLocalResources, err)
				}
				lastErr = fmt.Errorf("%s: %w (%v)", srv, ErrNoAnswer, err)
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess:
				return resp, nil
			case dns.RcodeNameError:
				return resp, ErrNXDomain
			}
			lastErr = fmt.Errorf("%s answered %s: %w", srv, dns.RcodeToString[resp.Rcode], ErrServerFailure)
		}
	}
	return nil, lastErr
}

// maxCNAMEs bounds a CNAME chain; real ones are one or two links long.
const maxCNAMEs = 8

// defaultNegativeTTL is used for a negative answer without an SOA.
const defaultNegativeTTL = time.Minute

// lookup returns the records of qtype for name, following the CNAME chain inside the answer.
// Records whose owner is neither name nor a name the chain leads to are dropped: an answer
// section may carry anything, and only what answers the question counts.
func (r *DNSResolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, time.Duration, error) {
	resp, err := r.exchange(ctx, name, qtype)
	wrap := func(err error) error {
		return &LookupError{Name: strings.TrimSuffix(name, "."), Type: dns.TypeToString[qtype], Err: err}
	}
	if err != nil {
		if resp != nil {
			return nil, false, negativeTTL(resp), wrap(err)
		}
		return nil, false, 0, wrap(err)
	}
	owner := strings.ToLower(dns.Fqdn(name))
	var ttl uint32 = 1<<32 - 1
	seen := map[string]bool{owner: true}
	for range maxCNAMEs {
		var out []dns.RR
		next := ""
		for _, rr := range resp.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, owner) {
				continue
			}
			switch {
			case h.Rrtype == qtype:
				out = append(out, rr)
				ttl = min(ttl, h.Ttl)
			case h.Rrtype == dns.TypeCNAME && qtype != dns.TypeCNAME:
				next = strings.ToLower(rr.(*dns.CNAME).Target)
				ttl = min(ttl, h.Ttl)
			}
		}
		switch {
		case len(out) > 0 || next == "":
			t := time.Duration(ttl) * time.Second
			if len(out) == 0 {
				t = negativeTTL(resp)
			}
			return out, resp.AuthenticatedData, t, nil
		case seen[next]:
			return nil, false, 0, wrap(fmt.Errorf("%w: %s points back into its own chain", ErrCNAMELoop, next))
		}
		seen[next] = true
		owner = next
	}
	return nil, false, 0, wrap(fmt.Errorf("%w: more than %d CNAMEs", ErrCNAMELoop, maxCNAMEs))
}

// negativeTTL is RFC 2308 §5: the smaller of the SOA's own TTL and its MINIMUM field.
func negativeTTL(resp *dns.Msg) time.Duration {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return defaultNegativeTTL
}

// LookupMX implements Resolver. A null MX (RFC 7505) comes back as a record with Host "".
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) (Answer[MX], error) {
	rrs, ad, ttl, err := r.lookup(ctx, domain, dns.TypeMX)
	a := Answer[MX]{Authentic: ad, TTL: ttl}
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		a.Records = append(a.Records, MX{Host: strings.TrimSuffix(strings.ToLower(mx.Mx), "."), Preference: mx.Preference})
	}
	return a, err
}

// LookupSRV implements Resolver. A target of "." is returned as "" (service not offered).
func (r *DNSResolver) LookupSRV(ctx context.Context, name string) (Answer[SRV], error) {
	rrs, ad, ttl, err := r.lookup(ctx, name, dns.TypeSRV)
	a := Answer[SRV]{Authentic: ad, TTL: ttl}
	for _, rr := range rrs {
		s := rr.(*dns.SRV)
		a.Records = append(a.Records, SRV{Target: strings.TrimSuffix(strings.ToLower(s.Target), "."), Port: s.Port, Priority: s.Priority, Weight: s.Weight})
	}
	return a, err
}

// LookupAddr implements Resolver: AAAA and A at once, IPv6 first. The answer is authentic only
// if both are.
func (r *DNSResolver) LookupAddr(ctx context.Context, host string) (Answer[netip.Addr], error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return Answer[netip.Addr]{Records: []netip.Addr{ip}}, nil
	}
	var wg sync.WaitGroup
	var rr4, rr6 []dns.RR
	var ad4, ad6 bool
	var ttl4, ttl6 time.Duration
	var err4, err6 error
	wg.Go(func() { rr4, ad4, ttl4, err4 = r.lookup(ctx, host, dns.TypeA) })
	wg.Go(func() { rr6, ad6, ttl6, err6 = r.lookup(ctx, host, dns.TypeAAAA) })
	wg.Wait()
	a := Answer[netip.Addr]{Authentic: ad4 && ad6, TTL: min(ttl4, ttl6)}
	for _, rr := range rr6 {
		if ip, ok := netip.AddrFromSlice(rr.(*dns.AAAA).AAAA); ok {
			a.Records = append(a.Records, ip)
		}
	}
	for _, rr := range rr4 {
		if ip, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			a.Records = append(a.Records, ip)
		}
	}
	switch {
	case len(a.Records) > 0:
		if err4 != nil || err6 != nil {
			a.Authentic = false
		}
		return a, nil
	case err4 != nil:
		return a, err4
	case err6 != nil && !errors.Is(err6, ErrNXDomain):
		return a, err6
	}
	return a, nil
}
