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
	// Attempted is false when a rule forbade sending the credentials; Error says which.
	Attempted bool   `json:"attempted"`
	Mechanism string `json:"mechanism"` // SASL name, or "LOGIN" (IMAP command), "USER", "APOP"
	Username  string `json:"username"`
	OK        bool   `json:"ok"`
	// Error is the server's own text for a refused login, or why no login was attempted.
	Error string `json:"error"`
}

// RefuseReason says why credentials must not be sent on a connection like r's, or "". Probes
// check it before logging in; discovery checks it before opening a connection for nothing.
func RefuseReason(r *Result, c *Credentials) string {
	switch {
	case r.TLS == nil && !c.AllowPlaintext:
		return "not attempted: the connection is not encrypted, and the password would cross the network in the clear (--allow-plaintext-auth overrides)"
	case r.TLS != nil && !r.TLS.CertValid && !c.AllowBadCert:
		return "not attempted: the server's certificate failed verification (" + r.TLS.CertReason + "), so it may not be the server it claims (--allow-bad-cert overrides)"
	}
	return ""
}

// redacted is what transcripts show for a line that carries a secret.
const redacted = "<credentials redacted>"
