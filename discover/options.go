package discover

import (
	"crypto/x509"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// DefaultISPDB is Thunderbird's public ISP database (mailnews.auto_config_url).
const DefaultISPDB = "https://autoconfig.thunderbird.net/v1.1/"

// Options tune a discovery. Start from DefaultOptions.
type Options struct {
	// Probe is used for every probe; its Dial and RootCAs also serve autoconfig fetches.
	Probe probe.Options
	// Resolver answers every DNS question; nil means the system's resolvers (/etc/resolv.conf).
	Resolver Resolver
	// Protocols to discover; empty means smtp, imap and pop3.
	Protocols []probe.Protocol
	// Deadline bounds the whole discovery (default 20 s). What is not done by then is reported
	// as such and the report is marked incomplete.
	Deadline time.Duration
	// Fast returns as soon as the best configuration of each protocol is proven: no pending
	// probe or source could outrank it. The rest is canceled and the report marked incomplete.
	Fast bool
	// Concurrency bounds probes in flight (default 16); PerIP bounds them per server address
	// (default 3): mail servers rate-limit and block eager clients.
	Concurrency, PerIP int
	// ISPDB is the base URL of an ISP database ("" with NoISPDB false means DefaultISPDB).
	ISPDB   string
	NoISPDB bool
	// FetchTimeout bounds each autoconfig fetch (default 5 s, Thunderbird's).
	FetchTimeout time.Duration
	// Credentials, when set, make discovery log in on the working configurations (see verify
	// for the rules). Username may be empty: the address is used.
	Credentials *probe.Credentials
	// TrustHost allows sending credentials to hosts outside the user's domain that were named
	// over an untrusted path.
	TrustHost bool
	// VerifyAll logs in on every working configuration instead of stopping at the first
	// success per protocol.
	VerifyAll bool
	// Progress, if set, receives one line per event worth showing while discovery runs.
	Progress func(Event)
}

// Event is a progress notice: a source finished or a probe finished.
type Event struct {
	Kind   string // "source" or "probe"
	Detail string
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	p := probe.DefaultOptions()
	p.SkipQuitReply = true
	return Options{
		Probe:        p,
		Deadline:     20 * time.Second,
		Concurrency:  16,
		PerIP:        3,
		FetchTimeout: 5 * time.Second,
	}
}

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
}

// rootCAs is the trust store for autoconfig fetches: the probe's, or the system's.
func (o *Options) rootCAs() *x509.CertPool { return o.Probe.RootCAs }
