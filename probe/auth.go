package probe

import (
	"slices"
	"strings"
)

// Credentials make a probe try a real login after the capabilities. The password is never
// written to a result, a transcript or an error.
type Credentials struct {
	Username   string
	Password   string
	OAuthToken string // for OAUTHBEARER and XOAUTH2, instead of a password
	// Mechanisms are the ones the user allows (upper case; see SupportedMechanisms); empty
	// allows all. The report still lists everything the server offers.
	Mechanisms []string
	// AllowPlaintext permits sending credentials over a connection without TLS (RFC 8314 §5.1
	// says MUST NOT; this is the user's explicit override).
	AllowPlaintext bool
	// AllowBadCert permits sending credentials to a server whose certificate failed
	// verification.
	AllowBadCert bool
}

func (c *Credentials) allows(mech string) bool {
	return len(c.Mechanisms) == 0 || slices.ContainsFunc(c.Mechanisms, func(m string) bool { return strings.EqualFold(m, mech) })
}

// AuthResult is what the login attempt gave. Its JSON form is part of the result contract.
type AuthResult struct {
	// Attempted is false when a rule forbade sending the credentials, or nothing could be sent;
	// NotAttempted then says which (a code), and Error says it in words.
	Attempted    bool   `json:"attempted"`
	NotAttempted string `json:"not_attempted"`
	Mechanism    string `json:"mechanism"` // SASL name, or "LOGIN" (IMAP command), "USER", "APOP"
	Username     string `json:"username"`
	OK           bool   `json:"ok"`
	// Error is the server's own text for a refused login, or why no login was attempted.
	Error string `json:"error"`
}

// Why a login was not attempted (AuthResult.NotAttempted). The values are a public contract.
const (
	NotAttemptedNoTLS         = "no_tls"          // the connection is not encrypted
	NotAttemptedBadCert       = "bad_certificate" // the certificate failed verification
	NotAttemptedNoMechanism   = "no_mechanism"    // no mechanism both sides allow
	NotAttemptedUnsafeInput   = "unsafe_input"    // the user name cannot be sent with this mechanism
	NotAttemptedUntrustedHost = "untrusted_host"  // outside the domain, named over an untrusted path
	NotAttemptedNoUser        = "no_user"         // no user name to log in with
	NotAttemptedAlreadyFailed = "already_failed"  // the credentials were already rejected once
	NotAttemptedSucceeded     = "succeeded_elsewhere"
	NotAttemptedUnreachable   = "unreachable" // the connection for the login failed
)

// Refusal says why credentials must not be sent on a connection like r's: a code (see the
// NotAttempted constants) and a sentence, both empty when a login may go ahead. Probes check it
// before logging in; discovery checks it before opening a connection for nothing.
func Refusal(r *Result, c *Credentials) (code, why string) {
	switch {
	case r.TLS == nil && !c.AllowPlaintext:
		return NotAttemptedNoTLS, "not attempted: the connection is not encrypted, and the password would cross the network in the clear"
	case r.TLS != nil && !r.TLS.CertValid && !c.AllowBadCert:
		return NotAttemptedBadCert, "not attempted: the server's certificate failed verification (" + r.TLS.CertReason + "), so it may not be the server it claims"
	}
	return "", ""
}

// redacted is what transcripts show for a line that carries a secret.
const redacted = "<credentials redacted>"
