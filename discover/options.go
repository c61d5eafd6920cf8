package discover

import (
	"errors"
	"fmt"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// DefaultISPDB is Thunderbird's public ISP database (mailnews.auto_config_url).
const DefaultISPDB = "https://autoconfig.thunderbird.net/v1.1/"

// Options tune a discovery. Start from DefaultOptions.
//
// The fields up to Private belong to the engine: an [Engine] takes them once, at NewEngine,
// and they hold for every discovery it runs (a batch shares its probes, DNS answers and
// politeness). Run makes a one-off engine from them. The fields after Private belong to one
// discovery; Engine.Run reads only those.
type Options struct {
	// Probe is used for every probe; its Dial and RootCAs also serve autoconfig fetches.
	Probe probe.Options
	// Resolver answers every DNS question; nil means the system's resolvers (/etc/resolv.conf).
	Resolver Resolver
	// Concurrency bounds probes in flight (default 16). PerIP bounds the connections open at
	// once to one server address (default 3): mail servers rate-limit and block eager clients.
	Concurrency, PerIP int
	// Rate, when positive, bounds new connections per second over the whole engine.
	Rate float64
	// DNSRate, when positive, bounds the DNS questions per second the engine sends to its
	// resolver (answers from its cache cost nothing): a batch of thousands of domains must not
	// trip an authoritative server's response-rate limiting, which drops answers and would turn
	// healthy domains into dns_failed.
	DNSRate float64
	// CacheTTL is how long an endpoint's probe result is reused by later discoveries of the
	// same engine (default 10 minutes); a one-off Run has no later discoveries.
	CacheTTL time.Duration
	// ISPDB is the base URL of an ISP database ("" with NoISPDB false means DefaultISPDB).
	ISPDB   string
	NoISPDB bool
	// FetchTimeout bounds each autoconfig fetch (default 5 s, Thunderbird's).
	FetchTimeout time.Duration
	// Private says what to do with server addresses that are not public (loopback, private,
	// link-local, documentation, …): see PrivatePolicy.
	Private PrivatePolicy

	// Protocols to discover; empty means smtp, imap and pop3.
	Protocols []probe.Protocol
	// Deadline bounds the whole discovery (default 20 s). What is not done by then is reported
	// as such and the report is marked incomplete.
	Deadline time.Duration
	// Fast returns as soon as the best configuration of each protocol is proven: no pending
	// probe or source could outrank it. The rest is canceled and the report marked incomplete.
	Fast bool
	// Credentials, when set, make discovery log in on the usable configurations (see
	// Report.Configs[].Auth for the rules). Username may be empty: the address is used.
	Credentials *probe.Credentials
	// TrustHost allows sending credentials to hosts outside the user's domain that were named
	// over an untrusted path.
	TrustHost bool
	// VerifyAll logs in on every usable configuration instead of stopping at the first success
	// per protocol.
	VerifyAll bool
	// AllowInsecure lets configurations whose verdict is insecure (no TLS, a certificate that
	// fails verification, legacy TLS) be recommended when nothing usable exists; they stay
	// flagged. With Probe.AllowInsecureTLS alone, only legacy TLS is allowed that way.
	AllowInsecure bool
	// Fresh probes every endpoint anew and fetches every autoconfig document again instead of
	// reusing the engine's cached results (a probe or fetch already under way is still
	// joined); the new results replace the cached ones. A helpdesk's "check again" after the
	// customer fixed a server. DNS answers are still reused for their TTL.
	Fresh bool
	// Progress, if set, receives an event as each source and probe finishes. It is called from
	// the discovery's own goroutine and must return quickly.
	Progress func(Event)
}

// PrivatePolicy is what discovery does with a server whose address is not public.
type PrivatePolicy int

const (
	// PrivateFlag (the default) probes such servers and flags them (warning internal_address),
	// unless the domain's own addresses (its apex and MX hosts) are in the same class: an
	// intranet domain is allowed its intranet. Autoconfig fetches and redirects to such
	// addresses are refused under the same rule.
	PrivateFlag PrivatePolicy = iota
	// PrivateRefuse never connects to them (a service exposed to strangers must not be steered
	// at its own network): the probe fails with kind not_allowed, and fetches are refused. The
	// report then never shows a non-public address (not in dns.hosts, not in an error): a
	// stranger must not learn what the service's resolver says about internal names.
	PrivateRefuse
	// PrivateAllow connects anywhere without a word.
	PrivateAllow
)

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	p := probe.DefaultOptions()
	p.SkipQuitReply = true
	return Options{
		Probe:        p,
		Deadline:     20 * time.Second,
		Concurrency:  16,
		PerIP:        3,
		CacheTTL:     10 * time.Minute,
		FetchTimeout: 5 * time.Second,
	}
}

// Fan-out bounds: what one domain can make a discovery do, however hostile its DNS.
const (
	MaxMXHosts        = 10 // MX records kept (by preference); the best two are probed
	MaxSRVTargets     = 10 // targets kept per SRV service (by priority, then weight)
	MaxAddrsPerFamily = 2  // addresses per host and family (IPv6, IPv4)
	// MaxCandidates (protocol, host, port, security) tuples are probed at most, first come
	// first served. A hosted domain's guesses alone are up to 52 (23 usual names under the
	// domain, 23 under its MX provider, 6 ports of its MX host), and they come first: the
	// rest must leave room for a full autoconfig document (10 servers per protocol), which
	// comes last. (At 64, such a domain's full autoconfig lost 17 of its 30 servers.)
	MaxCandidates      = 96
	MaxConnections     = 96 // connections one discovery opens, logins included
	maxAutoconfigHosts = 10 // servers taken from one autoconfig document, per protocol
	maxRedirects       = 3  // autoconfig redirects followed
)

// validate rejects values that cannot work.
func (o *Options) validate() error {
	if o.Deadline < 0 || o.FetchTimeout < 0 || o.CacheTTL < 0 {
		return errors.New("durations must be positive")
	}
	if o.Concurrency < 0 || o.PerIP < 0 || !(o.Rate >= 0) || !(o.DNSRate >= 0) { // NaN is no rate either
		return errors.New("concurrency, per-address limit and rate must be positive")
	}
	for _, p := range o.Protocols {
		if _, err := probe.ParseProtocol(string(p)); err != nil {
			return err
		}
	}
	if err := o.Probe.Validate(); err != nil {
		return fmt.Errorf("probe options: %w", err)
	}
	return nil
}

// fill puts defaults into zero fields.
func (o *Options) fill() {
	if len(o.Protocols) == 0 {
		o.Protocols = []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3}
	}
	if o.Deadline <= 0 {
		o.Deadline = 20 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.PerIP <= 0 {
		o.PerIP = 3
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Second
	}
	if o.ISPDB == "" {
		o.ISPDB = DefaultISPDB
	}
	if o.Probe.Dial == nil {
		o.Probe.Dial = probe.Direct
	}
	if o.Probe.Limits == (probe.Limits{}) {
		o.Probe.Limits = probe.DefaultLimits()
	}
}
