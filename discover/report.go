package discover

import (
	"encoding/json"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// Report is the answer to one discovery. Its JSON form is a public contract (README.md,
// "Discovery JSON"); golden files pin it.
type Report struct {
	Target string `json:"target"`
	Domain string `json:"domain"` // ASCII (punycode) form
	// Elapsed is the wall time of the discovery ("elapsed_ms" in JSON).
	Elapsed time.Duration `json:"-"`
	// Proxy is the proxy every connection went through (URL without password), "" for direct.
	Proxy string `json:"proxy"`
	// Protocols are the protocols the discovery was asked about (smtp, imap, pop3): a report
	// of SMTP alone says nothing about incoming mail.
	Protocols []probe.Protocol `json:"protocols"`
	// Complete is false when fast mode stopped early, the deadline cut the discovery short, or
	// it was canceled.
	Complete bool `json:"complete"`
	// Diagnosis is the short answer in words: can the user log in safely, and if not, what is
	// the one thing in the way.
	Diagnosis   Diagnosis   `json:"diagnosis"`
	Recommended Recommended `json:"recommended"`
	// Nearest names, for a direction with no recommendation, the configuration that came
	// closest and what is in its way.
	Nearest Nearest        `json:"nearest"`
	DNS     DNSReport      `json:"dns"`
	Sources []SourceReport `json:"sources"`
	// Configs are the configurations that answered as mail servers, usable or not, grouped by
	// protocol (smtp, imap, pop3), best first.
	Configs []Config `json:"configs"`
	// Probes are every probe result, failed ones included, ordered by protocol (SMTP, IMAP,
	// POP3), host, port and security (TLS, STARTTLS, plain): a stable order, not the order they
	// finished in.
	Probes   []Config        `json:"probes"`
	Warnings []probe.Warning `json:"warnings"`
	// Connections is the number of TCP connections opened to mail servers for this discovery
	// (logins included; results shared from another discovery of the same engine cost none).
	Connections int `json:"connections"`
}

// MarshalJSON adds elapsed_ms.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		ElapsedMS float64 `json:"elapsed_ms"`
	}{plain(r), probe.Millis(r.Elapsed)})
}

// UnmarshalJSON reads elapsed_ms.
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	var v struct {
		plain
		ElapsedMS float64 `json:"elapsed_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Report(v.plain)
	r.Elapsed = probe.FromMillis(v.ElapsedMS)
	return nil
}

// DNSReport is what DNS said.
type DNSReport struct {
	MX     []MX         `json:"mx"`
	NullMX bool         `json:"null_mx"`
	SRV    []SRVReport  `json:"srv"`
	Hosts  []HostReport `json:"hosts"`
	// DNSSEC is true when the MX and SRV answers carried the AD bit (validated by the resolver).
	DNSSEC bool `json:"dnssec"`
}

// SRVReport is one SRV record with the service it answers. Target "." means "not offered".
type SRVReport struct {
	Service  string `json:"service"` // e.g. "_imaps._tcp.example.com"
	Target   string `json:"target"`
	Port     uint16 `json:"port"`
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
}

// HostReport is one candidate host's address lookup.
type HostReport struct {
	Host      string   `json:"host"`
	Addresses []string `json:"addresses"`
	Authentic bool     `json:"dnssec"`
	// Internal names the class of a non-public address among Addresses ("loopback",
	// "private", "link-local", "documentation", …), "" when every address is public.
	Internal string `json:"internal"`
	Error    string `json:"error"`
}

// SourceReport is one lookup that could name candidates.
type SourceReport struct {
	Kind      string `json:"kind"` // srv, autoconfig, ispdb, mx, provider, guess
	URLOrName string `json:"url_or_name"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	// Candidates is how many (protocol, host, port, security) tuples it named.
	Candidates int `json:"candidates"`
	// Guessed: the source is the usual host names under the domain (kind guess) or under its
	// provider (kind provider), tried because they are usual, not because anything named them.
	Guessed bool `json:"guessed"`
}

// Config is a probe result with what discovery knows about it.
type Config struct {
	probe.Result
	// Rank is 1 for the best configuration of its protocol, 2 for the next…; 0 for probes
	// that failed.
	Rank int `json:"rank"`
	// Sources are the kinds of source that named this configuration.
	Sources []string `json:"sources"`
	// Username is the login name to use: from autoconfig when it says, else the full address
	// (Thunderbird and RFC 6186 §3 try it first); "%EMAILADDRESS%" when only a domain was given.
	Username string `json:"username"`
	// Verdict says whether a user can log in safely here; Blockers say what is in the way,
	// most fundamental first (empty when usable); VerdictText says it in words.
	Verdict     Verdict  `json:"verdict"`
	Blockers    []string `json:"blockers"`
	VerdictText string   `json:"verdict_text"`
}

// Recommended is the short answer a setup wizard needs: only usable configurations (or, when
// the caller allowed it, insecure ones, flagged by their verdict).
type Recommended struct {
	Incoming *Choice `json:"incoming"`
	Outgoing *Choice `json:"outgoing"`
}

// Choice is one recommended server.
type Choice struct {
	Protocol probe.Protocol `json:"protocol"`
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Security probe.Security `json:"security"`
	Username string         `json:"username"`
	// Verified is true when the configuration is usable: TLS 1.2+ with a valid certificate
	// and a way to log in.
	Verified bool     `json:"verified"`
	Verdict  Verdict  `json:"verdict"`
	Blockers []string `json:"blockers"`
	// LoginOK is true when a login with the given credentials succeeded there; LoginError is
	// the server's answer when one was refused there.
	LoginOK    bool   `json:"login_ok"`
	LoginError string `json:"login_error"`
	// LoginNotAttempted, with credentials, is why no login was made there: a NotAttempted
	// code of package probe (already_failed after a rejection elsewhere, no_tls, …).
	LoginNotAttempted string `json:"login_not_attempted"`
	// Untrusted says the host is outside the user's domain and was named over an untrusted
	// path: the user should confirm it belongs to their provider.
	Untrusted bool `json:"untrusted"`
}

// Nearest is, per direction without a recommendation, the closest configuration.
type Nearest struct {
	Incoming *Near `json:"incoming"`
	Outgoing *Near `json:"outgoing"`
}

// Near is a configuration that came closest to usable, and what stands in its way.
type Near struct {
	Protocol probe.Protocol `json:"protocol"`
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Security probe.Security `json:"security"`
	Verdict  Verdict        `json:"verdict"`
	Blockers []string       `json:"blockers"`
	Text     string         `json:"text"`
}

// Diagnosis is the answer in words a helpdesk can read to a customer.
type Diagnosis struct {
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Summary is a short paragraph: the status, then incoming and outgoing.
	Summary string `json:"summary"`
	// Incoming and Outgoing are the sentences about each direction ("" when not asked).
	Incoming string `json:"incoming"`
	Outgoing string `json:"outgoing"`
	// Tried lists the host names looked up, when none of them exists (status no_mail).
	Tried []string `json:"tried"`
}

// Diagnosis statuses. The values are a public contract.
const (
	StatusOK           = "ok"            // every direction asked for has a usable configuration
	StatusPartial      = "partial"       // one direction does, the other does not
	StatusInsecureOnly = "insecure_only" // servers work, but none safely
	StatusUnusable     = "unusable"      // servers answer, but nobody can log in there
	StatusNoMail       = "no_mail"       // a null MX, or no server of any kind exists
	StatusDNSFailed    = "dns_failed"    // the resolver failed: results unknown, never "no mail"
	StatusLoginFailed  = "login_failed"  // the server rejected the credentials
	// StatusLocalFailure: this machine ran out of file descriptors or socket buffers before
	// anything usable was found: results unknown, and nothing about the domain or the resolver.
	StatusLocalFailure = "local_failure"
)

// ResultsUnknown reports a status that says nothing about the domain's servers (dns_failed,
// local_failure): such a report is no answer to cache, to serve to mail clients or to compare.
func ResultsUnknown(status string) bool {
	return status == StatusDNSFailed || status == StatusLocalFailure
}

// Source kinds (README.md).
const (
	SourceSRV        = "srv"
	SourceAutoconfig = "autoconfig"
	SourceISPDB      = "ispdb"
	SourceMX         = "mx"
	SourceProvider   = "provider"
	SourceGuess      = "guess"
)

// Warning codes of discovery: report-level ones in Report.Warnings, the others added to a
// configuration's warnings (README.md).
const (
	WarnUntrustedHost   = "untrusted_host"   // outside the user's domain, named over an untrusted path
	WarnHTTPSource      = "http_source"      // named only by autoconfig fetched over plain HTTP
	WarnInternalAddress = "internal_address" // the server's address is not public
	WarnDerivedPlain    = "derived_from_starttls"
	WarnNullMX          = "null_mx"
	WarnNXDomain        = "nxdomain"
	WarnNoServices      = "srv_not_offered"
	WarnIncomplete      = "incomplete"
	WarnLocalDNS        = "dns_local" // with a proxy: DNS lookups were made locally
	WarnDNSError        = "dns_error" // a lookup failed (the resolver, not the name)
	// WarnLocalResources: a lookup or connection failed because this machine ran out of file
	// descriptors or socket buffers (neither the resolver's fault nor the server's).
	WarnLocalResources = "local_resources"
	WarnCapped         = "capped"     // a fan-out bound cut what a domain named
	WarnBadRecord      = "bad_record" // an MX or SRV record named something that is not a host name; ignored
)
