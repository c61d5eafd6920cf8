package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
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
	KindGreetingTimeout     Kind = "greeting_timeout"     // connected, but the server said nothing (or dripped)
	KindTimeout             Kind = "timeout"              // a command, the handshake or a deadline ran out
	KindCanceled            Kind = "canceled"             // stopped on purpose: the caller canceled, or discovery had its answer
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
	KindLocalResources      Kind = "local_resources"      // this machine ran out of file descriptors or memory for sockets
	// KindNotAllowed is set by discovery, never by Run: the server's address is not public
	// (loopback, private, link-local, …) and the caller's policy forbids connecting there.
	KindNotAllowed Kind = "not_allowed"
)

// Kinds lists every error kind, in documentation order. A golden test pins it.
func Kinds() []Kind {
	return []Kind{
		KindDNS, KindRefused, KindConnectTimeout, KindGreetingTimeout, KindTimeout, KindCanceled, KindClosed,
		KindRejected, KindTLSHandshake, KindTLSVersion, KindCertificate, KindStartTLSUnavailable,
		KindStartTLSRefused, KindStartTLSInjection, KindProtocol, KindTooLarge, KindProxy, KindAuth,
		KindLocalResources, KindNotAllowed,
	}
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

// A kinded error knows its probe kind (a proxy's errors do, as strings, so that package need not
// import this one).
type kinded interface{ ErrorKind() string }

func newError(kind Kind, stage, msg string, err error) *Error {
	return &Error{Kind: kind, Stage: stage, Msg: msg, Err: err}
}

// stopped explains a probe whose context ended: a Cut given as the cancel cause, the caller's
// cancellation, or a deadline (the probe's own or the caller's). It returns nil while ctx is
// live.
func stopped(ctx context.Context, stage string, opts *Options, waited time.Duration) *Error {
	err := ctxDone(ctx)
	if err == nil {
		return nil
	}
	var cut *Cut
	if errors.As(context.Cause(ctx), &cut) {
		return cut.explain(stage, opts, waited)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(KindTimeout, stage, "the overall deadline was reached", nil)
	}
	return newError(KindCanceled, stage, "canceled", nil)
}

// classifyIO turns an I/O error during a dialogue stage into an *Error.
func classifyIO(ctx context.Context, stage string, err error, opts *Options) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if e := stopped(ctx, stage, opts, 0); e != nil {
		return e
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
func classifyDial(ctx context.Context, err error, opts *Options, waited time.Duration) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if e := stopped(ctx, "connect", opts, waited); e != nil {
		return e
	}
	var ke kinded
	if errors.As(err, &ke) && slices.Contains(Kinds(), Kind(ke.ErrorKind())) {
		return newError(Kind(ke.ErrorKind()), "connect", err.Error(), nil)
	}
	var dnsErr *net.DNSError
	switch {
	case isResourceExhaustion(err):
		return newError(KindLocalResources, "connect", "this machine ran out of file descriptors or socket buffers (raise ulimit -n, or probe fewer at once)", err)
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
		return newError(KindConnectTimeout, "connect", fmt.Sprintf("no answer to the TCP connection attempt within %s (port filtered, or host down)", opts.ConnectTimeout), nil)
	}
	return newError(KindRefused, "connect", "", err)
}

// isResourceExhaustion reports errors that are this machine's, not the network's: out of file
// descriptors (EMFILE, ENFILE) or socket buffers (ENOBUFS, ENOMEM).
func isResourceExhaustion(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
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
func classifyHandshake(ctx context.Context, err error, opts *Options, waited time.Duration) *Error {
	const stage = "TLS handshake"
	if e := stopped(ctx, stage, opts, waited); e != nil {
		return e
	}
	if errors.Is(err, errSilentToClientHello) {
		return newError(KindGreetingTimeout, stage, fmt.Sprintf("connected, but no answer to the TLS ClientHello within %s: the port probably speaks plaintext and waits for the client to talk first (try STARTTLS or plain), or it is a tarpit", opts.GreetingTimeout), nil)
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		return newError(KindTLSHandshake, stage,
			fmt.Sprintf("server answered in plaintext (\"%s\"): this port does not speak implicit TLS; try STARTTLS or plain", escapeBytes(rhe.RecordHeader[:])), nil)
	}
	var alert tls.AlertError
	msg := err.Error()
	if (errors.As(err, &alert) && alert == 70) || containsAny(msg, "unsupported protocol version", "protocol version not supported", "no supported versions") {
		return newError(KindTLSVersion, stage, fmt.Sprintf("no TLS version in common with the allowed range %s–%s", TLSVersionName(opts.TLSMin), TLSVersionName(opts.TLSMax)), err)
	}
	if isTimeout(err) {
		return newError(KindTimeout, stage, "no TLS answer within the operation timeout (the server may expect plaintext first)", nil)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return newError(KindTLSHandshake, stage, "server closed the connection during the handshake", err)
	}
	return newError(KindTLSHandshake, stage, "", err)
}
