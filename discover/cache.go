package discover

import (
	"context"
	"net/netip"
	"sync"
)

// cachingResolver answers each (type, name) once per discovery: candidates from many sources
// share hosts, and the HTTP fetches and probes must not repeat lookups.
type cachingResolver struct {
	next Resolver
	mu   sync.Mutex
	mx   map[string]*cached[[]MX]
	srv  map[string]*cached[[]SRV]
	addr map[string]*cached[[]netip.Addr]
}

type cached[T any] struct {
	once      sync.Once
	val       T
	authentic bool
	err       error
}

func newCachingResolver(next Resolver) *cachingResolver {
	return &cachingResolver{next: next, mx: map[string]*cached[[]MX]{}, srv: map[string]*cached[[]SRV]{}, addr: map[string]*cached[[]netip.Addr]{}}
}

func lookupOnce[T any](r *cachingResolver, m map[string]*cached[T], key string, f func() (T, bool, error)) (T, bool, error) {
	r.mu.Lock()
	e, ok := m[key]
	if !ok {
		e = &cached[T]{}
		m[key] = e
	}
	r.mu.Unlock()
	e.once.Do(func() { e.val, e.authentic, e.err = f() })
	return e.val, e.authentic, e.err
}

func (r *cachingResolver) LookupMX(ctx context.Context, d string) ([]MX, bool, error) {
	return lookupOnce(r, r.mx, d, func() ([]MX, bool, error) { return r.next.LookupMX(ctx, d) })
}

func (r *cachingResolver) LookupSRV(ctx context.Context, n string) ([]SRV, bool, error) {
	return lookupOnce(r, r.srv, n, func() ([]SRV, bool, error) { return r.next.LookupSRV(ctx, n) })
}

func (r *cachingResolver) LookupAddr(ctx context.Context, h string) ([]netip.Addr, bool, error) {
	return lookupOnce(r, r.addr, h, func() ([]netip.Addr, bool, error) { return r.next.LookupAddr(ctx, h) })
}
