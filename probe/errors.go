package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/mailscout/mailscout/probe/proxy"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Kind is the machine-readable class of a failed probe. The values are a public contract: they
// appear as "error_kind" in JSON output and are documented in README.md.
type Kind string

// The error kinds. Each says which stage failed and, where it matters to a user, why.
const (
	KindNone                Kind = ""
	KindDNS                 Kind = "dns"                  // the host name did not resolve
	KindRefused             Kind = "refused"              // connection refused or unreachable
	KindConnectTimeout      Kind = "connect_timeout"      // no TCP answer: filtered or down
	KindGreetingTimeout     Kind = "greeting_timeout"     // connected, but the server said nothing
	KindTimeout             Kind = "timeout"              // a command, the handshake or the deadline ran out
	KindClosed              Kind = "closed"               // the server closed or reset mid-dialogue
	KindRejected            Kind = "rejected"             // 421/554 greeting, * BYE, -ERR: the server refused us
	KindTLSHandshake        Kind = "tls_handshake"        // the TLS handshake failed (not a version issue)
	KindTLSVersion          Kind = "tls_version"          // no TLS version in common within the allowed bounds
	KindCertificate         Kind = "certificate"          // reserved for callers that require a valid certificate
	KindStartTLSUnavailable Kind = "starttls_unavailable" // STARTTLS/STLS not offered (or impossible)
	KindStartTLSRefused     Kind = "starttls_refused"     // STARTTLS offered but the server declined it
	KindStartTLSInjection   Kind = "starttls_injection"   // bytes arrived between the go-ahead and the handshake
	KindProtocol            Kind = "protocol"             // the server does not speak the protocol as expected
	KindTooLarge            Kind = "too_large"            // a line, reply or session exceeded its bound
	KindProxy               Kind = "proxy"                // the proxy, not the mail server, failed
	KindAuth                Kind = "auth"                 // login failed
)

// Kinds lists every error kind, in documentation order. A golden test pins it.
var Kinds = []Kind{
	KindDNS, KindRefused, KindConnectTimeout, KindGreetingTimeout, KindTimeout, KindClosed,
	KindRejected, KindTLSHandshake, KindTLSVersion, KindCertificate, KindStartTLSUnavailable,
	KindStartTLSRefused, KindStartTLSInjection, KindProtocol, KindTooLarge, KindProxy, KindAuth,
}

// Sentinel errors for conditions the line reader detects; they are wrapped in an *Error.
var (
	ErrLineTooLong    = errors.New("line longer than the line limit")
	ErrReplyTooLarge  = errors.New("reply longer than the reply limit")
	ErrSessionTooLong = errors.New("session read limit reached")
)

// errSilentToClientHello: connected, ClientHello sent, and not one byte back within the
// greeting timeout.
var errSilentToClientHello = errors.New("silent to the ClientHello")

// Error is a probe failure with its kind and the stage it happened in.
type Error struct {
	Kind  Kind   // machine-readable class
	Stage string // e.g. "connect", "greeting", "EHLO", "STARTTLS", "TLS handshake"
	Msg   string // human explanation; may quote the server
	Err   error  // the underlying cause, if any
}

func (e *Error) Error() string {
	s := e.Stage
	if e.Msg != "" {
		if s != "" {
			s += ": "
		}
		s += e.Msg
	}
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind carried by err, or KindProtocol for an unclassified non-nil error.
func KindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return KindProtocol
}

func newError(kind Kind, stage, msg string, err error) *Error {
	return &Error{Kind: kind, Stage: stage, Msg: msg, Err: err}
}

// classifyIO turns an I/O error during a dialogue stage into an *Error. ctx tells a deadline or
// cancellation of the whole probe apart from a per-command timeout.
func classifyIO(ctx context.Context, stage string, err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if ctxErr := ctxDone(ctx); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return newError(KindTimeout, stage, "overall probe deadline reached", nil)
		}
		return newError(KindTimeout, stage, "probe canceled", ctxErr)
	}
	switch {
	case errors.Is(err, ErrLineTooLong), errors.Is(err, ErrReplyTooLarge), errors.Is(err, ErrSessionTooLong):
		return newError(KindTooLarge, stage, "the server sent more than a mail client would ever accept", err)
	case isTimeout(err):
		return newError(KindTimeout, stage, "no complete reply within the operation timeout", nil)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newError(KindClosed, stage, "server closed the connection", nil)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return newError(KindClosed, stage, "connection reset by the server", nil)
	}
	return newError(KindClosed, stage, "", err)
}

// classifyDial turns a dial error into an *Error.
func classifyDial(ctx context.Context, err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	var proxyErr *proxy.Error
	if errors.As(err, &proxyErr) {
		return newError(Kind(proxyErr.Kind), "connect", proxyErr.Error(), nil)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		msg := "host name does not resolve"
		if dnsErr.IsNotFound {
			msg = "no such host"
		} else if dnsErr.IsTimeout {
			msg = "DNS lookup timed out"
		}
		return newError(KindDNS, "connect", msg, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return newError(KindRefused, "connect", "connection refused (nothing listens on that port, or a firewall rejects it)", nil)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return newError(KindRefused, "connect", "host or network unreachable", err)
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return newError(KindTimeout, "connect", "probe canceled", ctx.Err())
		}
		return newError(KindConnectTimeout, "connect", "no answer to the TCP connection attempt (port filtered, or host down)", nil)
	case errors.Is(err, context.Canceled):
		return newError(KindTimeout, "connect", "probe canceled", err)
	}
	return newError(KindRefused, "connect", "", err)
}

// ctxDone is ctx.Err, except that a deadline already in the past counts even if the context's
// timer has not fired yet: a read deadline capped at the context's deadline can expire first.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classifyHandshake explains a failed TLS handshake. A plaintext greeting where a ServerHello was
// expected is the classic mode mismatch (plaintext port probed with implicit TLS).
func classifyHandshake(ctx context.Context, err error, opts *Options) *Error {
	const stage = "TLS handshake"
	if ctxDone(ctx) != nil {
		return classifyIO(ctx, stage, err)
	}
	if errors.Is(err, errSilentToClientHello) {
		return newError(KindGreetingTimeout, stage, fmt.Sprintf("connected, but no answer to the TLS ClientHello within %s: the port probably speaks plaintext and waits for the client (try --security starttls or plain), or it is a tarpit", opts.GreetingTimeout), nil)
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return newError(KindTLSHandshake, stage,
			fmt.Sprintf("server answered in plaintext (\"%s\"): this port does not speak implicit TLS; try starttls or plain", escapeBytes(rhe.RecordHeader[:])), nil)
	}
	var alert tls.AlertError
	msg := err.Error()
	if (errors.As(err, &alert) && alert == 70) || containsAny(msg, "unsupported protocol version", "protocol version not supported", "no supported versions") {
		hint := fmt.Sprintf("no TLS version in common with the allowed range %s–%s", TLSVersionName(opts.TLSMin), TLSVersionName(opts.TLSMax))
		if !opts.AllowInsecureTLS {
			hint += " (if the server only offers TLS 1.0/1.1, --allow-insecure-tls --tls-min 1.0 will show it)"
		}
		return newError(KindTLSVersion, stage, hint, err)
	}
	if isTimeout(err) {
		return newError(KindTimeout, stage, "no TLS answer within the operation timeout (the server may expect plaintext first)", nil)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return newError(KindTLSHandshake, stage, "server closed the connection during the handshake", err)
	}
	return newError(KindTLSHandshake, stage, "", err)
}
