package discover

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// Verdict says whether a user can log in safely with a configuration. The values are a public
// contract.
type Verdict string

const (
	// Usable: TLS 1.2 or later (implicit or STARTTLS) with a certificate valid for the host
	// name, and a way to log in there.
	Usable Verdict = "usable"
	// Insecure: it would work, but exposes the user: no TLS, legacy TLS, or a certificate that
	// fails verification.
	Insecure Verdict = "insecure"
	// Unusable: the user cannot log in there at all.
	Unusable Verdict = "unusable"
)

// Blocker codes: the machine-readable "one thing in the way" of a configuration, most
// fundamental first. A failed probe's blocker is its error kind (refused, connect_timeout,
// starttls_refused, …), except a server that speaks only TLS 1.0/1.1, which is legacy_tls.
// The values are a public contract.
const (
	BlockerNoTLS            = "no_tls"             // plaintext: passwords cross the network in the clear
	BlockerLegacyTLS        = "legacy_tls"         // TLS 1.0/1.1 only (RFC 8996)
	BlockerCertExpired      = "cert_expired"       // the certificate has expired
	BlockerCertNotYetValid  = "cert_not_yet_valid" // the certificate is not valid yet
	BlockerCertUntrusted    = "cert_untrusted"     // issued by an authority nobody trusts
	BlockerCertSelfSigned   = "cert_self_signed"   // issued by itself
	BlockerCertNameMismatch = "cert_name_mismatch" // issued for another name
	BlockerCertMissing      = "cert_missing"       // no certificate at all
	BlockerCertInvalid      = "cert_invalid"       // fails verification for another reason
	BlockerLoginDisabled    = "login_disabled"     // IMAP LOGINDISABLED and no other way to log in
	BlockerNoAuth           = "no_auth"            // no way to log in (an SMTP server without AUTH is a relay)
	BlockerMXRelay          = "mx_relay"           // port 25 of an MX host: mail from servers, not from users
)

var certBlockers = map[string]string{
	"expired": BlockerCertExpired, "not_yet_valid": BlockerCertNotYetValid, "unknown_authority": BlockerCertUntrusted,
	"self_signed": BlockerCertSelfSigned, "name_mismatch": BlockerCertNameMismatch, "no_certificate": BlockerCertMissing,
}

// judge is the verdict rule, the one place it is written (README.md "Verdicts";
// TestVerdictRule pins it). mx says the host is one of the domain's MX hosts.
//
//   - A failed probe is unusable; its blocker is its error kind (legacy_tls for a server that
//     speaks only TLS 1.0/1.1).
//   - A session without a login path is unusable: SMTP without AUTH (no_auth; on an MX host's
//     port 25, mx_relay: that port takes mail from other servers), IMAP with LOGINDISABLED and
//     no AUTH= mechanism (login_disabled), POP3 with neither USER nor SASL (no_auth).
//   - A session with a login path but no TLS, legacy TLS or a certificate that fails
//     verification is insecure (no_tls, legacy_tls, cert_*).
//   - Anything else is usable: TLS 1.2+ with a valid certificate and a way to log in.
func judge(r *probe.Result, mx bool) (Verdict, []string) {
	if !r.OK {
		b := string(r.ErrorKind)
		if r.ErrorKind == probe.KindTLSVersion && r.HasWarning(probe.WarnLegacyTLS) {
			b = BlockerLegacyTLS
		}
		return Unusable, []string{b}
	}
	var unusable, insecure []string
	if r.Protocol == probe.SMTP && r.Port == 25 && mx {
		unusable = append(unusable, BlockerMXRelay)
	}
	if b := noLoginPath(r); b != "" {
		unusable = append(unusable, b)
	}
	switch {
	case r.TLS == nil:
		insecure = append(insecure, BlockerNoTLS)
	default:
		if r.TLS.Version == "1.0" || r.TLS.Version == "1.1" {
			insecure = append(insecure, BlockerLegacyTLS)
		}
		if !r.TLS.CertValid {
			b, ok := certBlockers[r.TLS.CertReason]
			if !ok {
				b = BlockerCertInvalid
			}
			insecure = append(insecure, b)
		}
	}
	switch {
	case len(unusable) > 0:
		return Unusable, append(unusable, insecure...)
	case len(insecure) > 0:
		return Insecure, insecure
	}
	return Usable, []string{}
}

// noLoginPath returns the blocker when the session offers no way to log in.
func noLoginPath(r *probe.Result) string {
	switch r.Protocol {
	case probe.SMTP:
		if len(r.AuthMethods) == 0 {
			return BlockerNoAuth
		}
	case probe.IMAP:
		if r.LoginDisabled && len(r.AuthMethods) == 0 {
			return BlockerLoginDisabled
		}
	case probe.POP3:
		// Without CAPA nothing is known; USER/PASS is what RFC 1939 servers take.
		if len(r.AuthMethods) == 0 && !hasCapability(r.Capabilities, "USER") && !r.HasWarning(probe.WarnCapaUnsupported) && !r.APOP {
			return BlockerNoAuth
		}
	}
	return ""
}

func hasCapability(caps []string, kw string) bool {
	for _, c := range caps {
		if f := strings.Fields(c); len(f) > 0 && strings.EqualFold(f[0], kw) {
			return true
		}
	}
	return false
}

// explain words a configuration's first blocker for a customer: what is wrong there, never how
// the tool found out. c is the configuration; an empty blocker list says it works.
func explain(c *Config) string {
	if len(c.Blockers) == 0 {
		return fmt.Sprintf("works: TLS %s with a valid certificate", tlsVersion(c))
	}
	b := c.Blockers[0]
	switch b {
	case BlockerNoTLS:
		return "it offers no encryption: the password would cross the network readable by anyone"
	case BlockerLegacyTLS:
		v := tlsVersion(c)
		if v == "" {
			v = "1.0/1.1"
		}
		return fmt.Sprintf("it speaks only TLS %s, which mail clients refuse (obsolete since RFC 8996)", v)
	case BlockerCertExpired:
		return "the certificate expired" + since(c)
	case BlockerCertNotYetValid:
		return "the certificate is not valid yet (check the server's clock)"
	case BlockerCertUntrusted:
		return "the certificate is issued by an authority mail clients do not trust (" + c.TLS.CertIssuer + ")"
	case BlockerCertSelfSigned:
		return "the certificate is self-signed: clients cannot tell the server from an impostor"
	case BlockerCertNameMismatch:
		return fmt.Sprintf("the certificate is for %s, not %s", strings.Join(c.TLS.CertNames, ", "), c.Host)
	case BlockerCertMissing, BlockerCertInvalid:
		return "the certificate fails verification: " + c.TLS.CertError
	case BlockerLoginDisabled:
		switch {
		case c.StartTLSOffered && c.HasWarning(WarnDerivedPlain):
			// Discovery reports the plaintext phase of a STARTTLS port only when the upgrade
			// failed (PlaintextPhase).
			return "it refuses logins without TLS (LOGINDISABLED), and the upgrade to TLS did not work on this port"
		case c.StartTLSOffered:
			// A plaintext probe of its own (mailscout probe): the STARTTLS probe of the same
			// port says whether the upgrade works.
			return "it refuses logins before STARTTLS (LOGINDISABLED): a client must use STARTTLS on this port"
		}
		return "it refuses logins without TLS (LOGINDISABLED) and offers no TLS"
	case BlockerNoAuth:
		switch {
		case c.Security == probe.Plain && c.StartTLSOffered && c.HasWarning(WarnDerivedPlain):
			return "it offers no login before TLS, and the upgrade to TLS did not work on this port"
		case c.Security == probe.Plain && c.StartTLSOffered:
			// RFC 3207 §4.2 / RFC 8314: submission servers commonly offer AUTH only after
			// STARTTLS; mailscout probe's plaintext mode sees the port before the upgrade.
			return "it offers no login without TLS, but it offers STARTTLS: the starttls check of this port says whether a client can log in there"
		case c.Protocol == probe.SMTP:
			return "it offers no login (no AUTH): it takes mail from other servers, not from users"
		}
		return "it offers no way to log in"
	case BlockerMXRelay:
		return "port 25 of the domain's MX host takes mail from other servers, not from users (and is often blocked for them)"
	}
	return failureWords(probe.Kind(b), c)
}

// failureWords says what a failed probe's kind means, in a helpdesk's words.
func failureWords(k probe.Kind, c *Config) string {
	switch k {
	case probe.KindDNS:
		return "the host name did not resolve to an address" // NXDOMAIN, no A/AAAA, or DNS failed: the error says which
	case probe.KindRefused:
		return "the connection is refused (nothing listens there, or a firewall rejects it)"
	case probe.KindConnectTimeout:
		return "it is blocked by a firewall (no answer)"
	case probe.KindGreetingTimeout:
		if c.Security == probe.TLS {
			return "it accepts connections but never answers"
		}
		return "it accepts connections but never greets (a port for implicit TLS, or a tarpit)"
	case probe.KindTimeout:
		return "it stopped answering mid-conversation"
	case probe.KindCanceled:
		return "not checked to the end"
	case probe.KindClosed:
		return "it hangs up mid-conversation"
	case probe.KindRejected:
		if g := firstLine(c.Greeting); g != "" {
			return "it refuses the session (\"" + clipText(g) + "\")"
		}
		return "it refuses the session"
	case probe.KindTLSHandshake:
		return "the TLS handshake fails"
	case probe.KindTLSVersion:
		return "it has no TLS version in common with mail clients"
	case probe.KindStartTLSUnavailable:
		return "it does not offer STARTTLS"
	case probe.KindStartTLSRefused:
		return "it refuses STARTTLS"
	case probe.KindStartTLSInjection:
		return "it (or something on the way) injects data into the STARTTLS upgrade"
	case probe.KindProtocol:
		return fmt.Sprintf("it does not speak %s properly", strings.ToUpper(string(c.Protocol)))
	case probe.KindTooLarge:
		return "it sends endless replies"
	case probe.KindProxy:
		return "the proxy failed: " + c.Error
	case probe.KindAuth:
		return "it rejected the user name or password"
	case probe.KindLocalResources:
		return "this machine ran out of resources before it could check"
	case probe.KindNotAllowed:
		return "it is on an internal address, which is not checked here"
	}
	return c.Error
}

func tlsVersion(c *Config) string {
	if c.TLS != nil {
		return c.TLS.Version
	}
	return ""
}

func since(c *Config) string {
	if c.TLS == nil {
		return ""
	}
	if t, err := time.Parse(time.RFC3339, c.TLS.CertNotAfter); err == nil {
		return " (since " + t.Format("2006-01-02") + ")"
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// Judge is the verdict rule for a single probe result seen on its own (as `mailscout probe`
// sees one): its verdict, what is in the way, and that in words. Discovery also knows whether
// the host is one of the domain's MX hosts, which only matters for port 25.
func Judge(r *probe.Result) (Verdict, []string, string) {
	v, b := judge(r, false)
	c := Config{Result: *r, Verdict: v, Blockers: b}
	return v, b, explain(&c)
}
