package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Protocol is a mail access protocol. The string values are a public contract.
type Protocol string

const (
	SMTP Protocol = "smtp" // message submission (RFC 6409) or relay (RFC 5321)
	IMAP Protocol = "imap" // RFC 9051 / RFC 3501
	POP3 Protocol = "pop3" // RFC 1939
)

// ParseProtocol accepts the protocol names users type ("submission" and "pop" as aliases).
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "smtp", "submission", "submissions", "smtps":
		return SMTP, nil
	case "imap", "imaps":
		return IMAP, nil
	case "pop3", "pop", "pop3s":
		return POP3, nil
	}
	return "", fmt.Errorf("unknown protocol %q (want smtp, imap or pop3)", s)
}

// Security is how a connection is protected. The string values are a public contract.
type Security string

const (
	TLS      Security = "tls"      // implicit TLS: ClientHello first, then the greeting (RFC 8314)
	StartTLS Security = "starttls" // plaintext greeting, then STARTTLS/STLS upgrade (RFC 3207, RFC 2595)
	Plain    Security = "plain"    // no TLS at all
)

// ParseSecurity accepts tls, starttls and plain (and the autoconfig spellings SSL and STARTTLS).
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(s) {
	case "tls", "ssl", "implicit":
		return TLS, nil
	case "starttls", "stls":
		return StartTLS, nil
	case "plain", "none", "cleartext":
		return Plain, nil
	}
	return "", fmt.Errorf("unknown security mode %q (want tls, starttls or plain)", s)
}

// Dialer opens the connections of probes (and of discovery's autoconfig fetches). It is the one
// seam for everything between mailscout and a server: direct connections ([DialFunc]), a proxy
// (package proxy), or a simulated network (package mailsim).
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// ResolvesRemotely reports whether host names are handed to the far side to resolve (a
	// SOCKS 4a, SOCKS 5h or HTTP CONNECT proxy). Probes then dial names rather than the
	// addresses a local resolver found: the proxy's view of DNS is the one that counts.
	ResolvesRemotely() bool
}

// Proxied is implemented by a [Dialer] whose connections go through a proxy. Results name the
// proxy, and connection times through it say nothing about the mail server's round trip.
type Proxied interface {
	// ProxyURL is the proxy's URL without its password.
	ProxyURL() string
}

// ProxyURL returns the proxy d goes through (without password), or "" for direct connections.
func ProxyURL(d Dialer) string {
	if p, ok := d.(Proxied); ok {
		return p.ProxyURL()
	}
	return ""
}

// DialFunc is a function that dials directly; it is a [Dialer] whose names are resolved locally.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// DialContext calls f.
func (f DialFunc) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return f(ctx, network, address)
}

// ResolvesRemotely is false: names are resolved here.
func (DialFunc) ResolvesRemotely() bool { return false }

// Direct is the [Dialer] for connections straight from this machine.
var Direct Dialer = DialFunc((&net.Dialer{}).DialContext)

// Target names one endpoint to probe.
type Target struct {
	Protocol Protocol
	Host     string // a host name (used for SNI and certificate checks) or an IP literal
	Port     int
	Security Security
	// Addrs, when set, are the addresses to connect to (raced, RFC 8305 style) instead of
	// resolving Host; discovery passes what its own resolver found. Host still names the server
	// for SNI and the certificate check. A Dialer that resolves remotely is given Host instead.
	Addrs []netip.Addr
}

func (t Target) String() string {
	return fmt.Sprintf("%s %s %s", t.Protocol, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), t.Security)
}

// Trace is told of a probe's milestones as they happen, on the probe's goroutine: discovery
// learns an address's round-trip time from the connect and judges silent servers by it. Each
// function may be nil; none may block for long.
type Trace struct {
	// Connected: the TCP connection (or a proxy's tunnel) is up, took after the connect began.
	// remote is the address connected to; it is not valid when a proxy resolved the name.
	Connected func(remote netip.AddrPort, took time.Duration)
	// Greeted: the first complete line of the greeting arrived; the server is talking.
	Greeted func()
	// TLSReady: a TLS handshake succeeded (implicit TLS, or after STARTTLS).
	TLSReady func(remote netip.AddrPort)
}

// Options tune a probe. The zero value is not ready; start from DefaultOptions.
type Options struct {
	// ConnectTimeout bounds the TCP connect (and a proxy's handshake).
	ConnectTimeout time.Duration
	// GreetingTimeout bounds the wait for the first complete line of the greeting, and for the
	// first bytes of the server's answer to an implicit-TLS ClientHello. It is short because a
	// silent port usually means a mode mismatch (an implicit-TLS port probed in plaintext), and
	// a server that drips its first line a byte at a time is a tarpit: waiting longer only holds
	// the answer hostage.
	GreetingTimeout time.Duration
	// OperationTimeout bounds each complete reply (the rest of a multi-line greeting, EHLO,
	// CAPABILITY…) and the TLS handshake. It must allow a postscreen-style "220-" pre-greeting
	// followed by a delayed final line (Postfix waits up to 6 s).
	OperationTimeout time.Duration
	// Deadline bounds the whole probe; zero means no bound beyond the context's.
	Deadline time.Duration

	TLSMin, TLSMax uint16 // TLS version bounds (tls.VersionTLS10 … tls.VersionTLS13)
	// AllowInsecureTLS permits TLS 1.0/1.1 and the legacy cipher suites they need. A probe that
	// negotiates one of them says so in its warnings.
	AllowInsecureTLS bool
	// RootCAs verifies certificates; nil means the system pool (which honours SSL_CERT_FILE).
	RootCAs *x509.CertPool
	// Now is the time certificates are checked against; nil means time.Now.
	Now func() time.Time

	// EHLOName is the SMTP EHLO argument; empty means the address literal of the local end
	// (always syntactically valid, RFC 5321 §4.1.3). Validate checks it is a domain or an
	// address literal, so that no command can ride on it.
	EHLOName string
	// Dial opens the connection; nil means [Direct].
	Dial Dialer
	// Trace, when set, is told of the probe's milestones.
	Trace *Trace
	// Transcript records every line in and out into Result.Transcript.
	Transcript bool
	// Limits bounds reads; the zero value means DefaultLimits().
	Limits Limits
	// Credentials, when set, make the probe log in after the capabilities (see Credentials for
	// the rules that keep a password safe).
	Credentials *Credentials
	// SkipQuitReply sends QUIT/LOGOUT without waiting for the answer: the verdict is known by
	// then, and discovery should not spend a round trip per probe on it.
	SkipQuitReply bool
	// Linger, with SkipQuitReply, is handed the connection once QUIT/LOGOUT has been sent,
	// instead of the probe closing it. The server counts the session until it has answered and
	// closed its side (RFC 5321 §4.1.1.10 has the client wait for that answer), so a caller that
	// limits sessions per address learns there when the session really ended, without holding
	// up the verdict. Linger is called at most once, before Run returns, with the raw
	// connection (under TLS, the bytes are records); it must close it, and should bound its
	// wait with a read deadline.
	Linger func(net.Conn)
	// NoLegacyCheck skips the extra handshake that finds out whether a server whose TLS
	// handshake failed speaks only TLS 1.0/1.1 (see Run).
	NoLegacyCheck bool

	// stopAfterTLS ends the dialogue right after a successful handshake (the legacy check).
	stopAfterTLS bool
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		ConnectTimeout:   5 * time.Second,
		GreetingTimeout:  4 * time.Second,
		OperationTimeout: 10 * time.Second,
		Deadline:         30 * time.Second,
		TLSMin:           tls.VersionTLS12,
		TLSMax:           tls.VersionTLS13,
		Limits:           DefaultLimits(),
	}
}

// Validate reports option combinations that make no sense, and values that could not be sent
// safely: TLS 1.0 without the explicit opt-in, non-positive timeouts, an EHLO name that is not
// a domain or an address literal, credentials with line breaks.
func (o *Options) Validate() error {
	if o.TLSMin == 0 || o.TLSMax == 0 || o.TLSMin > o.TLSMax {
		return fmt.Errorf("TLS version bounds %s..%s are not a range", TLSVersionName(o.TLSMin), TLSVersionName(o.TLSMax))
	}
	if o.TLSMin < tls.VersionTLS12 && !o.AllowInsecureTLS {
		return fmt.Errorf("TLS minimum %s is below 1.2, which needs AllowInsecureTLS", TLSVersionName(o.TLSMin))
	}
	if o.ConnectTimeout <= 0 || o.GreetingTimeout <= 0 || o.OperationTimeout <= 0 || o.Deadline < 0 {
		return fmt.Errorf("timeouts must be positive")
	}
	if o.EHLOName != "" {
		if err := validEHLOName(o.EHLOName); err != nil {
			return err
		}
	}
	if o.Credentials != nil {
		if err := o.Credentials.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ParseTLSVersion parses "1.0" … "1.3".
func ParseTLSVersion(s string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(s), "tls") {
	case "1.0", "10":
		return tls.VersionTLS10, nil
	case "1.1", "11":
		return tls.VersionTLS11, nil
	case "1.2", "12":
		return tls.VersionTLS12, nil
	case "1.3", "13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", s)
}

// TLSVersionName renders a version as "1.3".
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	case 0:
		return "none"
	}
	return fmt.Sprintf("0x%04x", v)
}
