// Package discover finds out how to connect to someone's mail: given "alice@example.com" or
// "example.com", which SMTP submission, IMAP and POP3 servers, ports and security modes work,
// whether a mail client can log in there safely, and if not, what is in the way.
//
// # The model
//
// Data flows one way:
//
//		target → sources → candidates → probes → verdicts → ranking → recommendation and diagnosis
//
//	  - The target is parsed (IDN domains become punycode; see [ParseTarget]).
//	  - Sources look things up, all at once: DNS MX, SRV per RFC 6186 and RFC 8314, the domain's
//	    autoconfig XML (HTTPS, then HTTP), the ISP database, the hosting provider behind the MX,
//	    and the well-known host names (guessed only when the MX answer allows: a null MX or a
//	    domain that does not exist ends guessing). A source only reports what it found.
//	  - Candidates are (protocol, host, port, security) tuples; the same tuple from several
//	    sources is one candidate crediting them all. Fan-out is bounded ([MaxMXHosts],
//	    [MaxSRVTargets], [MaxCandidates], [MaxConnections]) so that a hostile domain cannot
//	    make discovery flood anyone.
//	  - Probes (package probe) check one candidate each: connect, TLS, greeting, capabilities,
//	    STARTTLS and capabilities again, and, with credentials, a login.
//	  - The verdict rule ([Verdict]) says whether a user can log in safely: usable, insecure
//	    (it would work but exposes the user) or unusable, with machine-readable blockers.
//	  - Ranking is one documented key (usable before insecure before unusable, implicit TLS
//	    before STARTTLS before plain, source trust, SRV priority, submission ports before 25).
//	  - Only usable configurations are recommended ([Recommended]); a direction without one gets
//	    the [Nearest] configuration and what is in its way, and the [Diagnosis] says it all in
//	    words a helpdesk can read to a customer.
//
// # Who owns what
//
// One discovery's state (sources, candidates, results, connection count, warnings) has one
// owner: the discovery's scheduler, which changes it only on its own goroutine in answer to
// events. Sources, DNS lookups and probes run on goroutines of their own and send events; they
// never touch the state. The report is built from the final state.
//
// An [Engine] runs discoveries and owns what they share: DNS answers (for their TTL), probe
// results per endpoint, and the politeness budget of every server address. Its dispatcher is
// the one place that knows, per server address, how many connections are open, how fast the
// address answers and what it has shown; it decides when each probe starts and when a wait has
// become pointless, and it stops such a probe with a [probe.Cut] cause that the probe words.
// [Run] uses a one-off engine; a batch or a service keeps one for all its discoveries.
//
// # Politeness that never stalls
//
// At most Options.PerIP connections are open at once to one server address. A connect in
// flight holds a slot until the address's round trip shows it is hopeless (another port
// answered many times faster: the port is filtered, and the connect is cut), or, while no round
// trip is known, for half a second; a session holds its slot until its first greeting line
// arrives or its silence has lasted many round trips. Silent probes then stop counting, so they
// never queue behind each other: on a host that never greets, the first full greeting timeout
// shows it greets on no port and the others stop waiting. A server that refuses a further
// session ("421 too many connections", * BYE, -ERR) while others are open is retried one
// connection at a time after a pause.
//
// # Seams
//
// DNS is the [Resolver] interface ([DNSResolver] asks recursive resolvers with miekg/dns, the
// only file that knows that library). Connections are probe.Options.Dial, a [probe.Dialer]:
// direct, a proxy (package proxy), or a simulated network (package mailsim); autoconfig fetches
// use the same one. Trust is probe.Options.RootCAs. Credentials are Options.Credentials; the
// rules that keep a password safe are in the README ("Checking a password").
//
// # Errors
//
// [Run] returns an error only when the discovery could not be made as asked: [ErrBadTarget],
// [ErrDNS] (no resolver could be set up — or DNS failed during the discovery, in which case the
// report comes back too), [ErrCanceled] (with the report so far). Everything the network does
// wrong is in the report.
package discover
