package discover

import (
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/probe"
)

// TestVerdictRule pins the verdict rule (README.md, "Verdicts"): for each kind of session,
// the verdict and the blockers, most fundamental first.
func TestVerdictRule(t *testing.T) {
	tlsOK := &probe.TLSInfo{Version: "1.3", CertValid: true}
	tls := func(version string, certReason string) *probe.TLSInfo {
		return &probe.TLSInfo{Version: version, CertValid: certReason == "", CertReason: certReason}
	}
	res := func(p probe.Protocol, port int, sec probe.Security, ti *probe.TLSInfo, mut func(*probe.Result)) probe.Result {
		r := probe.Result{OK: true, Protocol: p, Port: port, Security: sec, TLS: ti, AuthMethods: []string{"PLAIN"}}
		if mut != nil {
			mut(&r)
		}
		return r
	}
	noAuth := func(r *probe.Result) { r.AuthMethods = nil }
	tests := []struct {
		name     string
		r        probe.Result
		mx       bool
		verdict  Verdict
		blockers []string
	}{
		{"submission over TLS 1.3, valid certificate, AUTH", res(probe.SMTP, 465, probe.TLS, tlsOK, nil), false, Usable, []string{}},
		{"STARTTLS, TLS 1.2, valid", res(probe.SMTP, 587, probe.StartTLS, tls("1.2", ""), nil), false, Usable, []string{}},
		{"expired certificate", res(probe.IMAP, 993, probe.TLS, tls("1.3", "expired"), nil), false, Insecure, []string{BlockerCertExpired}},
		{"wrong name", res(probe.IMAP, 993, probe.TLS, tls("1.3", "name_mismatch"), nil), false, Insecure, []string{BlockerCertNameMismatch}},
		{"self-signed", res(probe.IMAP, 993, probe.TLS, tls("1.3", "self_signed"), nil), false, Insecure, []string{BlockerCertSelfSigned}},
		{"unknown authority", res(probe.IMAP, 993, probe.TLS, tls("1.3", "unknown_authority"), nil), false, Insecure, []string{BlockerCertUntrusted}},
		{"not yet valid", res(probe.IMAP, 993, probe.TLS, tls("1.3", "not_yet_valid"), nil), false, Insecure, []string{BlockerCertNotYetValid}},
		{"legacy TLS 1.1 (allowed by the probe)", res(probe.SMTP, 465, probe.TLS, tls("1.1", ""), nil), false, Insecure, []string{BlockerLegacyTLS}},
		{"legacy TLS and a bad certificate", res(probe.SMTP, 465, probe.TLS, tls("1.0", "expired"), nil), false, Insecure, []string{BlockerLegacyTLS, BlockerCertExpired}},
		{"plaintext with AUTH", res(probe.POP3, 110, probe.Plain, nil, nil), false, Insecure, []string{BlockerNoTLS}},
		{"SMTP without AUTH after TLS", res(probe.SMTP, 587, probe.StartTLS, tlsOK, noAuth), false, Unusable, []string{BlockerNoAuth}},
		{"plaintext SMTP without AUTH", res(probe.SMTP, 587, probe.Plain, nil, noAuth), false, Unusable, []string{BlockerNoAuth, BlockerNoTLS}},
		{"an MX host's port 25, even with AUTH", res(probe.SMTP, 25, probe.StartTLS, tlsOK, nil), true, Unusable, []string{BlockerMXRelay}},
		{"port 25 of a submission host with AUTH", res(probe.SMTP, 25, probe.StartTLS, tlsOK, nil), false, Usable, []string{}},
		{"IMAP LOGINDISABLED without TLS", res(probe.IMAP, 143, probe.Plain, nil, func(r *probe.Result) { r.AuthMethods, r.LoginDisabled = nil, true }), false, Unusable, []string{BlockerLoginDisabled, BlockerNoTLS}},
		{"IMAP without AUTH= but LOGIN allowed", res(probe.IMAP, 993, probe.TLS, tlsOK, noAuth), false, Usable, []string{}},
		{"IMAP LOGINDISABLED but AUTH=PLAIN", res(probe.IMAP, 993, probe.TLS, tlsOK, func(r *probe.Result) { r.LoginDisabled = true }), false, Usable, []string{}},
		{"POP3 with USER only", res(probe.POP3, 995, probe.TLS, tlsOK, func(r *probe.Result) { r.AuthMethods, r.Capabilities = nil, []string{"USER", "UIDL"} }), false, Usable, []string{}},
		{"POP3 with neither USER nor SASL", res(probe.POP3, 995, probe.TLS, tlsOK, func(r *probe.Result) { r.AuthMethods, r.Capabilities = nil, []string{"UIDL"} }), false, Unusable, []string{BlockerNoAuth}},
		{"POP3 without CAPA (USER assumed)", res(probe.POP3, 995, probe.TLS, tlsOK, func(r *probe.Result) {
			r.AuthMethods = nil
			r.Warnings = []probe.Warning{{Code: probe.WarnCapaUnsupported}}
		}), false, Usable, []string{}},
		{"STARTTLS refused", probe.Result{Protocol: probe.SMTP, Port: 587, Security: probe.StartTLS, ErrorKind: probe.KindStartTLSRefused}, false, Unusable, []string{"starttls_refused"}},
		{"filtered", probe.Result{Protocol: probe.SMTP, Port: 465, Security: probe.TLS, ErrorKind: probe.KindConnectTimeout}, false, Unusable, []string{"connect_timeout"}},
		{"greeting refused", probe.Result{Protocol: probe.SMTP, Port: 587, Security: probe.StartTLS, ErrorKind: probe.KindRejected}, false, Unusable, []string{"rejected"}},
		{"speaks only TLS 1.0/1.1", probe.Result{Protocol: probe.IMAP, Port: 993, Security: probe.TLS, ErrorKind: probe.KindTLSVersion,
			Warnings: []probe.Warning{{Code: probe.WarnLegacyTLS}}}, false, Unusable, []string{BlockerLegacyTLS}},
		{"no TLS version in common (not legacy)", probe.Result{Protocol: probe.IMAP, Port: 993, Security: probe.TLS, ErrorKind: probe.KindTLSVersion}, false, Unusable, []string{"tls_version"}},
	}
	for _, tt := range tests {
		v, b := judge(&tt.r, tt.mx)
		if v != tt.verdict || !slices.Equal(b, tt.blockers) {
			t.Errorf("%s: %s %v, want %s %v", tt.name, v, b, tt.verdict, tt.blockers)
		}
		c := Config{Result: tt.r, Verdict: v, Blockers: b}
		if explain(&c) == "" {
			t.Errorf("%s: no words for %v", tt.name, b)
		}
	}
}

// LOGINDISABLED in plaintext reads differently where the plaintext configuration comes from:
// discovery's (derived only when the STARTTLS upgrade failed) or a probe of its own.
func TestLoginDisabledWords(t *testing.T) {
	base := probe.Result{Protocol: probe.IMAP, Host: "imap.example.com", Port: 143, Security: probe.Plain, OK: true,
		LoginDisabled: true, StartTLSOffered: true, Capabilities: []string{"IMAP4rev1", "STARTTLS", "LOGINDISABLED"}}
	own := Config{Result: base}
	derived := Config{Result: base}
	derived.Warnings = []probe.Warning{{Code: WarnDerivedPlain}}
	noTLS := Config{Result: base}
	noTLS.StartTLSOffered = false
	for _, tc := range []struct {
		c    *Config
		want string
	}{
		{&own, "a client must use STARTTLS on this port"},
		{&derived, "the upgrade to TLS did not work on this port"},
		{&noTLS, "offers no TLS"},
	} {
		tc.c.Verdict, tc.c.Blockers = judge(&tc.c.Result, false)
		if got := explain(tc.c); !strings.Contains(got, tc.want) {
			t.Errorf("%q, want it to say %q", got, tc.want)
		}
	}
}

// SMTP without AUTH in plaintext reads differently when the port offers STARTTLS: a submission
// port shows AUTH only after the upgrade (RFC 3207 §4.2), and is no relay-only server.
func TestNoAuthWords(t *testing.T) {
	base := probe.Result{Protocol: probe.SMTP, Host: "smtp.example.com", Port: 587, Security: probe.Plain, OK: true,
		StartTLSOffered: true, Capabilities: []string{"PIPELINING", "STARTTLS"}}
	own := Config{Result: base}
	derived := Config{Result: base}
	derived.Warnings = []probe.Warning{{Code: WarnDerivedPlain}}
	relay := Config{Result: base}
	relay.StartTLSOffered = false
	for _, tc := range []struct {
		c    *Config
		want string
	}{
		{&own, "the starttls check of this port says whether a client can log in there"},
		{&derived, "the upgrade to TLS did not work on this port"},
		{&relay, "takes mail from other servers, not from users"},
	} {
		tc.c.Verdict, tc.c.Blockers = judge(&tc.c.Result, false)
		if got := explain(tc.c); !strings.Contains(got, tc.want) {
			t.Errorf("%q, want it to say %q", got, tc.want)
		}
	}
}
