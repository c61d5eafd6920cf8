package discover

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"
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

// Answer is what DNS said to one question.
type Answer[T any] struct {
	Records []T
	// Authentic is the AD bit of the answer (RFC 4035 §3.2.3; meaningful only from a validating
	// resolver over a trusted path, RFC 6840 §5.8).
	Authentic bool
	// TTL is how long the answer may be reused: the smallest TTL of the records used, or for a
	// negative answer the SOA's negative-caching TTL (RFC 2308 §5). Zero means unknown.
	TTL time.Duration
}

// Resolver is the DNS seam: real DNS (DNSResolver, the only code that knows miekg/dns), a
// simulated world's server, or a mock. A name that does not exist is an error matching
// ErrNXDomain (the Answer may still carry its negative TTL); a name without records of the type
// is an empty answer, not an error. Records come back in answer order; callers sort.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) (Answer[MX], error)
	LookupSRV(ctx context.Context, name string) (Answer[SRV], error)
	LookupAddr(ctx context.Context, host string) (Answer[netip.Addr], error)
}

// Errors a lookup can match (errors.Is), besides the context's own.
var (
	// ErrNXDomain: the name does not exist.
	ErrNXDomain = errors.New("no such domain (NXDOMAIN)")
	// ErrNoAnswer: no resolver answered in time.
	ErrNoAnswer = errors.New("the resolver did not answer")
	// ErrServerFailure: the resolver answered SERVFAIL, REFUSED or another error code.
	ErrServerFailure = errors.New("the resolver failed to answer")
	// ErrTruncated: even the TCP answer was truncated.
	ErrTruncated = errors.New("the answer was truncated even over TCP")
	// ErrCNAMELoop: the CNAME chain loops or is too long.
	ErrCNAMELoop = errors.New("CNAME loop")
	// ErrLocalResources: this machine ran out of file descriptors or socket buffers.
	ErrLocalResources = errors.New("out of file descriptors or socket buffers on this machine")
)

// LookupError is a failed DNS lookup.
type LookupError struct {
	Name string
	Type string
	Err  error
}

func (e *LookupError) Error() string { return fmt.Sprintf("DNS %s %s: %v", e.Type, e.Name, e.Err) }
func (e *LookupError) Unwrap() error { return e.Err }

// resolverFailed reports an error that says nothing about the name, only that DNS did not work:
// results built on it are unknown, never "no mail".
func resolverFailed(err error) bool {
	return err != nil && !errors.Is(err, ErrNXDomain) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		!isResourceExhaustion(err)
}

// isResourceExhaustion reports errors that are this machine's, not the network's.
func isResourceExhaustion(err error) bool {
	return errors.Is(err, ErrLocalResources) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
