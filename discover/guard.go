package discover

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/mailscout/mailscout/internal/netaddr"
)

// InternalAddressError says a connection was not made because the address is not public and
// the policy does not allow it. Under PrivateRefuse, Addr is left out (the zero Addr): a
// service facing strangers must not tell them what its resolver says about internal names.
type InternalAddressError struct {
	Host  string
	Addr  netip.Addr
	Class netaddr.Class
}

func (e *InternalAddressError) Error() string {
	if !e.Addr.IsValid() {
		return fmt.Sprintf("refused to connect to %s: it resolves to a %s address, not on the public Internet", e.Host, e.Class)
	}
	return fmt.Sprintf("refused to connect to %s (%s): a %s address, not on the public Internet", e.Host, e.Addr, e.Class)
}

// guard applies a discovery's PrivatePolicy. Under PrivateFlag, the classes of the domain's
// own addresses (its apex and its MX hosts) are allowed: an intranet domain may point at its
// intranet, but nobody else's domain may point this tool at it. It is used from the fetch
// goroutines and, at the end, by the report; its one lock guards the lazily computed classes.
type guard struct {
	policy PrivatePolicy
	domain string
	dns    Resolver

	once sync.Once
	own  []netaddr.Class
}

// ownClasses looks up the domain's apex and best MX hosts (answers the discovery asks for
// anyway, so they come from the cache) and returns the non-public classes among them.
func (g *guard) ownClasses(ctx context.Context) []netaddr.Class {
	g.once.Do(func() {
		hosts := []string{g.domain}
		if mx, err := g.dns.LookupMX(ctx, g.domain); err == nil {
			for _, r := range mx.Records {
				if r.Host != "" && len(hosts) < 3 {
					hosts = append(hosts, r.Host)
				}
			}
		}
		for _, h := range hosts {
			a, err := g.dns.LookupAddr(ctx, h)
			if err != nil {
				continue
			}
			for _, ip := range a.Records {
				if c := netaddr.Classify(ip); c != netaddr.Public && !slices.Contains(g.own, c) {
					g.own = append(g.own, c)
				}
			}
		}
	})
	return g.own
}

// allowed reports whether connecting to ip is allowed, and its class.
func (g *guard) allowed(ctx context.Context, ip netip.Addr) (bool, netaddr.Class) {
	c := netaddr.Classify(ip)
	switch {
	case c == netaddr.Public || g.policy == PrivateAllow:
		return true, c
	case g.policy == PrivateRefuse:
		return false, c
	}
	return slices.Contains(g.ownClasses(ctx), c), c
}

// allowsClasses reports whether connections to addresses of every one of classes are allowed.
func (g *guard) allowsClasses(ctx context.Context, classes []netaddr.Class) bool {
	for _, c := range classes {
		switch {
		case c == netaddr.Public || g.policy == PrivateAllow:
		case g.policy == PrivateRefuse, !slices.Contains(g.ownClasses(ctx), c):
			return false
		}
	}
	return true
}

// filter keeps the addresses that may be connected to; when none may, the refusal says why.
func (g *guard) filter(ctx context.Context, host string, addrs []netip.Addr) ([]netip.Addr, error) {
	var ok []netip.Addr
	var refusal error
	for _, a := range addrs {
		if yes, c := g.allowed(ctx, a); yes {
			ok = append(ok, a)
		} else if refusal == nil {
			refusal = &InternalAddressError{Host: host, Addr: a, Class: c}
			if g.policy == PrivateRefuse {
				refusal.(*InternalAddressError).Addr = netip.Addr{}
			}
		}
	}
	return ok, refusal
}
