package probe

import (
	"fmt"
	"net/netip"
	"time"
)

// A Cut is the cause a caller gives (with context.WithCancelCause) when it stops a probe on
// purpose, before the probe's own timeouts would: discovery has learned something that makes a
// wait pointless, or has its answer, or has run out of time. The probe then reports the kind of
// the stage it was in and says, in its own words, why the wait ended; a bare "context canceled"
// would tell the user nothing.
type Cut struct {
	Reason CutReason
	// Addr is the server address the decision is about, and RTT the round trip another
	// connection to it showed (for CutFiltered).
	Addr netip.Addr
	RTT  time.Duration
}

// CutReason says why a probe was cut.
type CutReason int

const (
	// CutFiltered: another port of the same address accepted a connection within RTT; this
	// connect got no answer in many times that, so the port is filtered (connect_timeout).
	CutFiltered CutReason = iota + 1
	// CutHostDown: no port of the address has answered a connection attempt within the connect
	// timeout (connect_timeout).
	CutHostDown
	// CutImplicitTLS: a TLS handshake on the same address and port succeeded, so it speaks
	// implicit TLS and will never greet a plaintext client (greeting_timeout).
	CutImplicitTLS
	// CutSilentHost: the address accepts connections but has not finished a greeting on any
	// port within the greeting timeout: a tarpit, or an overloaded server (greeting_timeout).
	CutSilentHost
	// CutAnswered: the discovery has its answer and needs nothing more (canceled).
	CutAnswered
	// CutDeadline: the discovery's deadline was reached (timeout).
	CutDeadline
	// CutCanceled: whoever asked for the discovery canceled it (canceled).
	CutCanceled
)

func (c *Cut) Error() string {
	switch c.Reason {
	case CutFiltered:
		return fmt.Sprintf("cut: another port of %s answered in %s", c.Addr, c.RTT)
	case CutHostDown:
		return fmt.Sprintf("cut: no port of %s answers", c.Addr)
	case CutImplicitTLS:
		return "cut: the port speaks implicit TLS"
	case CutSilentHost:
		return fmt.Sprintf("cut: %s greets on no port", c.Addr)
	case CutAnswered:
		return "cut: the discovery has its answer"
	case CutDeadline:
		return "cut: the discovery deadline"
	}
	return "cut: canceled"
}

// explain words the failure of a probe stopped by c in stage, after waiting waited there.
func (c *Cut) explain(stage string, opts *Options, waited time.Duration) *Error {
	after := ""
	if waited > 0 {
		after = " after " + roundWait(waited)
	}
	connecting := stage == "connect"
	switch {
	case c.Reason == CutFiltered:
		return newError(KindConnectTimeout, stage, fmt.Sprintf("no answer to the TCP connection attempt; gave up%s because another port of %s accepted a connection in %s: this port is filtered by a firewall", after, c.Addr, roundWait(c.RTT)), nil)
	case c.Reason == CutHostDown || (c.Reason == CutSilentHost && connecting):
		return newError(KindConnectTimeout, stage, fmt.Sprintf("no answer to the TCP connection attempt; gave up%s because no port of %s has answered one within %s (host down, or every port filtered)", after, c.Addr, opts.ConnectTimeout), nil)
	case c.Reason == CutImplicitTLS:
		return newError(KindGreetingTimeout, stage, fmt.Sprintf("connected, but the server said nothing; stopped waiting%s because a TLS handshake on the same port succeeded: it speaks implicit TLS and never greets a plaintext client", after), nil)
	case c.Reason == CutSilentHost:
		return newError(KindGreetingTimeout, stage, fmt.Sprintf("connected, but the server said nothing; stopped waiting%s because %s has not finished a greeting on any port within %s (a tarpit, or an overloaded server)", after, c.Addr, opts.GreetingTimeout), nil)
	case c.Reason == CutAnswered:
		return newError(KindCanceled, stage, "stopped: the discovery already had its answer", nil)
	case c.Reason == CutDeadline:
		return newError(KindTimeout, stage, "the discovery's deadline was reached", nil)
	}
	return newError(KindCanceled, stage, "canceled", nil)
}

func roundWait(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}
