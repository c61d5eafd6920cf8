package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// MX is one mail exchanger record.
type MX struct {
	Host       string `json:"host"`
	Preference uint16 `json:"preference"`
}

// SRV is one service record.
type SRV struct {
	Target   string `json:"target"`
	Port     uint16 `json:"port"`
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
}

// Resolver is the DNS seam: real DNS (DNSResolver, the only code that knows miekg/dns), the
// test world's server, or a mock. Authentic reports the AD bit of the answer (RFC 4035 §3.2.3;
// meaningful only from a validating resolver over a trusted path, RFC 6840 §5.8). A name that
// does not exist is an error matching ErrNXDomain; a name without records of the type is an
// empty answer, not an error.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) (records []MX, authentic bool, err error)
	LookupSRV(ctx context.Context, name string) (records []SRV, authentic bool, err error)
	LookupAddr(ctx context.Context, host string) (addrs []netip.Addr, authentic bool, err error)
}

// ErrNXDomain is matched (errors.Is) by lookups of names that do not exist.
var ErrNXDomain = errors.New("no such domain (NXDOMAIN)")

// LookupError is a failed DNS lookup.
type LookupError struct {
	Name string
	Type string
	Err  error
}

func (e *LookupError) Error() string { return fmt.Sprintf("DNS %s %s: %v", e.Type, e.Name, e.Err) }
func (e *LookupError) Unwrap() error { return e.Err }
