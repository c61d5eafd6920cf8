package proxy

import "fmt"

// Error kinds a proxy failure maps to. They are the probe package's error kinds (as strings, so
// this package stays a leaf): most failures are the proxy's own, but a SOCKS proxy also reports
// what happened when it tried the mail server, and that is the mail server's doing.
const (
	KindProxy          = "proxy"           // the proxy failed or refused: unreachable, auth, policy
	KindRefused        = "refused"         // the proxy reached the target's network, the target refused
	KindConnectTimeout = "connect_timeout" // the proxy's own attempt to connect timed out
	KindTimeout        = "timeout"         // the proxy did not answer in time
)

// Error is a failure to set up a tunnel.
type Error struct {
	Proxy  string // the proxy URL, password left out
	Kind   string // one of the Kind constants
	Reason string // in words: "authentication failed", "403 Forbidden: the proxy does not allow CONNECT to port 587"
	Code   int    // the SOCKS reply code or HTTP status, 0 if none
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("via proxy %s: %s", e.Proxy, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind is the probe error kind the failure maps to (one of the Kind constants).
func (e *Error) ErrorKind() string { return e.Kind }

// socks5Reply words the RFC 1928 §6 reply codes, with the kind each maps to.
func socks5Reply(code byte) (kind, words string) {
	switch code {
	case 1:
		return KindProxy, "general SOCKS server failure"
	case 2:
		return KindProxy, "connection not allowed by the proxy's rules"
	case 3:
		return KindRefused, "network unreachable (reported by the proxy)"
	case 4:
		return KindRefused, "host unreachable (reported by the proxy)"
	case 5:
		return KindRefused, "connection refused by the mail server (reported by the proxy)"
	case 6:
		return KindConnectTimeout, "the proxy's connection attempt timed out (TTL expired)"
	case 7:
		return KindProxy, "command not supported by the proxy"
	case 8:
		return KindProxy, "address type not supported by the proxy"
	}
	return KindProxy, fmt.Sprintf("unknown SOCKS 5 reply code %d", code)
}

// socks4Reply words the SOCKS 4 reply codes (0x5A granted; 0x5B–0x5D refused).
func socks4Reply(code byte) (kind, words string) {
	switch code {
	case 0x5b:
		return KindProxy, "request rejected or failed (the proxy refused, or could not reach the mail server)"
	case 0x5c:
		return KindProxy, "request rejected: the proxy could not reach identd on this machine"
	case 0x5d:
		return KindProxy, "request rejected: identd reported a different user ID"
	}
	return KindProxy, fmt.Sprintf("unknown SOCKS 4 reply code 0x%02x", code)
}
