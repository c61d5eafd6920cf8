package discover

import (
	"github.com/mailscout/mailscout/probe"
)

// Report is the answer to one discovery. Its JSON form is a public contract (README.md,
// "Discovery JSON"); golden files pin it.
type Report struct {
	Target    string  `json:"target"`
	Domain    string  `json:"domain"` // ASCII (punycode) form
	ElapsedMS float64 `json:"elapsed_ms"`
	// Proxy is the proxy every connection went through (URL without password), "" for direct.
	Proxy string `json:"proxy"`
	// Complete is false when --fast stopped early or the deadline cut the discovery short.
	Complete bool           `json:"complete"`
	DNS      DNSReport      `json:"dns"`
	Sources  []SourceReport `json:"sources"`
	// Configs are the working configurations, grouped by protocol (smtp, imap, pop3), best first.
	Configs []Config `json:"configs"`
	// Recommended names the best incoming (IMAP before POP3) and outgoing configuration.
	Recommended Recommended `json:"recommended"`
	// Probes are every probe result, failed ones included, in the order they finished.
	Probes   []Config        `json:"probes"`
	Warnings []probe.Warning `json:"warnings"`
	// Connections is the number of TCP connections opened to mail servers.
	Connections int `json:"connections"`
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
	Error     string   `json:"error"`
}

// SourceReport is one lookup that could name candidates.
type SourceReport struct {
	Kind      string `json:"kind"` // srv, autoconfig, ispdb, mx, provider, guess
	URLOrName string `json:"url_or_name"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	// Candidates is how many (protocol, host, port, security) tuples it named.
	Candidates int `json:"candidates"`
}

// Config is a probe result with what discovery knows about it.
type Config struct {
	probe.Result
	// Rank is 1 for the recommended configuration of its protocol, 2 for the next…; 0 for
	// configurations that do not work.
	Rank int `json:"rank"`
	// Sources are the kinds of source that named this configuration.
	Sources []string `json:"sources"`
	// Username is the login name to use: from autoconfig when it says, else the full address
	// (Thunderbird and RFC 6186 §3 try it first); "%EMAILADDRESS%" when only a domain was given.
	Username string `json:"username"`
}

// Recommended is the short answer a setup wizard needs.
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
	// Verified is true when the configuration fully works: TLS 1.2+ with a valid certificate.
	Verified bool `json:"verified"`
	// LoginOK is true when a login with the given credentials succeeded there.
	LoginOK bool `json:"login_ok"`
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

// Discovery-level warning codes, added to a configuration's warnings (README.md).
const (
	WarnUntrustedHost = "untrusted_host" // outside the user's domain, named over an untrusted path
	WarnHTTPSource    = "http_source"    // named only by autoconfig fetched over plain HTTP
	WarnNullMX        = "null_mx"
	WarnNoServices    = "srv_not_offered"
	WarnDerivedPlain  = "derived_from_starttls"
	WarnLocalDNS      = "dns_local" // with a proxy: DNS lookups were made locally
)
