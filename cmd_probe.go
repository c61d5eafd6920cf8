package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/report"
	"github.com/mailscout/mailscout/probe"
)

const probeSynopsis = `probe [flags] HOST[:PORT]

Connects to one endpoint and reports exactly what works there: greeting, capabilities and SASL
mechanisms before and after TLS, TLS version, cipher and certificate verdict, and for every
failure its kind and the reason. The protocol is inferred from well-known ports (25, 465, 587,
2525 smtp; 143, 993 imap; 110, 995 pop3); without --security every mode that makes sense for
the port is tried, concurrently. Without a port, the standard ports are probed: those of
--protocol when it is given (smtp 465 and 587, imap 993 and 143, pop3 995 and 110), else those
of all three protocols. Without credentials, the probes keep to discovery's politeness: at
most 3 sessions open at once to one server address, and once a port has answered in implicit
TLS, the plaintext modes there stop waiting for a greeting that will never come.

Exit codes: 0 a probed mode is usable (or, with --allow-insecure, works only insecurely) and
any login there worked, 1 nothing usable, 2 usage error, 3 no host name resolved, 4 the server
rejected the credentials, 130 interrupted by Ctrl-C or SIGTERM (what was learned is printed
first).`

// probeFlags are the probe core's options as flags; discover shares them.
type probeFlags struct {
	connectTimeout, greetingTimeout, opTimeout, deadline time.Duration
	tlsMin, tlsMax                                       string
	allowInsecureTLS, allowInsecure                      bool
	tlsMinSet                                            bool
	caFile                                               string
	ehlo                                                 string
	proxy                                                proxyFlags
	auth                                                 authFlags
}

// register adds the flags. probeCmd is set for the probe command, which probes one endpoint
// (with its own --deadline) and recommends nothing; discovery and the commands sharing its flags
// leave it unset.
func (p *probeFlags) register(fs *flag.FlagSet, probeCmd bool) {
	d := probe.DefaultOptions()
	p.deadline = d.Deadline
	fs.DurationVar(&p.connectTimeout, "connect-timeout", d.ConnectTimeout, "time allowed for the TCP connect (and a proxy's handshake)")
	fs.DurationVar(&p.greetingTimeout, "greeting-timeout", d.GreetingTimeout, "time allowed until the first complete line of the greeting, or the first answer to an implicit-TLS ClientHello (a silent port is usually a mode mismatch)")
	fs.DurationVar(&p.opTimeout, "timeout", d.OperationTimeout, "time allowed for each complete reply and the TLS handshake")
	if probeCmd {
		fs.DurationVar(&p.deadline, "deadline", d.Deadline, "overall limit for one probe")
	}
	fs.Func("tls-min", "lowest TLS `version` to offer: 1.0, 1.1, 1.2 or 1.3 (default 1.2, or 1.0 with --allow-insecure-tls; below 1.2 needs --allow-insecure-tls)", func(v string) error {
		p.tlsMin, p.tlsMinSet = v, true
		return nil
	})
	fs.StringVar(&p.tlsMax, "tls-max", "1.3", "highest TLS `version` to offer")
	if probeCmd {
		fs.BoolVar(&p.allowInsecureTLS, "allow-insecure-tls", false, "offer TLS 1.0/1.1 and their legacy cipher suites; a mode that works only with them is flagged insecure (legacy_tls) but counts as working for the exit code")
		fs.BoolVar(&p.allowInsecure, "allow-insecure", false, "exit 0 when a mode works, but only insecurely (no TLS, a bad certificate, legacy TLS); the table still flags it")
	} else {
		fs.BoolVar(&p.allowInsecureTLS, "allow-insecure-tls", false, "allow TLS 1.0/1.1 and their legacy cipher suites, and let a server that speaks only those be recommended (flagged)")
		fs.BoolVar(&p.allowInsecure, "allow-insecure", false, "let a server that works only insecurely (no TLS, a bad certificate, legacy TLS) be recommended when nothing safe exists (flagged)")
	}
	fs.StringVar(&p.caFile, "ca-file", "", "PEM `file` of extra trusted root certificates (SSL_CERT_FILE also works)")
	fs.StringVar(&p.ehlo, "ehlo", "", "SMTP EHLO `name` (default: the local address as an address literal)")
	p.proxy.register(fs)
	p.auth.register(fs, probeCmd)
}

func (p *probeFlags) options() (probe.Options, error) {
	o := probe.DefaultOptions()
	o.ConnectTimeout, o.GreetingTimeout, o.OperationTimeout, o.Deadline = p.connectTimeout, p.greetingTimeout, p.opTimeout, p.deadline
	o.AllowInsecureTLS, o.EHLOName = p.allowInsecureTLS, p.ehlo
	for name, d := range map[string]time.Duration{"--connect-timeout": p.connectTimeout, "--greeting-timeout": p.greetingTimeout, "--timeout": p.opTimeout, "--deadline": p.deadline} {
		if d <= 0 {
			return o, fmt.Errorf("%s must be a positive duration, not %s", name, d)
		}
	}
	tlsMin := p.tlsMin
	if !p.tlsMinSet {
		tlsMin = "1.2"
		if p.allowInsecureTLS {
			tlsMin = "1.0" // --allow-insecure-tls alone opens the legacy versions
		}
	}
	var err error
	if o.TLSMin, err = probe.ParseTLSVersion(tlsMin); err != nil {
		return o, fmt.Errorf("--tls-min: %w", err)
	}
	if o.TLSMax, err = probe.ParseTLSVersion(p.tlsMax); err != nil {
		return o, fmt.Errorf("--tls-max: %w", err)
	}
	if p.caFile != "" {
		pem, err := os.ReadFile(p.caFile)
		if err != nil {
			return o, fmt.Errorf("--ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("--ca-file %s: no PEM certificate in it", p.caFile)
		}
		o.RootCAs = pool
	}
	if o.Dial, err = p.proxy.dialer(); err != nil {
		return o, err
	}
	if o.TLSMax < tls.VersionTLS12 && !o.AllowInsecureTLS {
		return o, fmt.Errorf("--tls-max %s is below 1.2, which mail clients refuse: add --allow-insecure-tls to test legacy TLS", p.tlsMax)
	}
	if o.TLSMin < tls.VersionTLS12 && !o.AllowInsecureTLS {
		return o, fmt.Errorf("--tls-min %s is below 1.2, which mail clients refuse: add --allow-insecure-tls to test legacy TLS", tlsMin)
	}
	if o.TLSMin > o.TLSMax {
		return o, fmt.Errorf("--tls-min %s is above --tls-max %s", tlsMin, p.tlsMax)
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// credentials reads the login flags (after options(), which may have read standard input for
// the proxy password).
func (p *probeFlags) credentials(needUser bool) (*probe.Credentials, error) {
	return p.auth.credentials(needUser, p.proxy.passwordStdin)
}

// outputFlags choose how results are shown.
type outputFlags struct {
	json, transcript, wide bool
}

func (f *outputFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "write JSON (the documented result contract) instead of a table")
	fs.BoolVar(&f.transcript, "transcript", false, "show the dialogue: each line client/server, plaintext/TLS, time since connect")
	fs.BoolVar(&f.wide, "wide", false, "one line per table row, nothing wrapped (default: fit the terminal, $COLUMNS or 100 columns)")
}

func runProbe(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("probe", probeSynopsis, stdout, stderr)
	var pf probeFlags
	var of outputFlags
	pf.register(cl.FlagSet, true)
	of.register(cl.FlagSet)
	protoFlag := cl.String("protocol", "", "smtp, imap or pop3 (default: inferred from the port)")
	secFlag := cl.String("security", "", "tls, starttls or plain (default: every mode that makes sense for the port)")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, cl.FlagSet, "probe needs exactly one HOST[:PORT]")
	}
	targets, err := probeTargets(pos[0], *protoFlag, *secFlag)
	if err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	opts, err := pf.options()
	if err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	opts.Transcript = of.transcript
	if opts.Credentials, err = pf.credentials(true); err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	ctx, stop := signalContext()
	defer stop()
	results := probeAll(ctx, targets, opts)
	code = printProbeResults("probe", stdout, stderr, results, of, pf.allowInsecure)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "mailscout probe: interrupted; the results above are what was learned until then")
		return exitInterrupted
	}
	return code
}

// standardPorts are probed when a target has no port: implicit TLS first (RFC 8314), then
// STARTTLS; SMTP's relay port 25 is not a client's port.
var standardPorts = map[probe.Protocol][]int{
	probe.SMTP: {465, 587},
	probe.IMAP: {993, 143},
	probe.POP3: {995, 110},
}

// probeTargets expands HOST[:PORT] with the protocol and security flags into the targets to probe.
func probeTargets(arg, protoFlag, secFlag string) ([]probe.Target, error) {
	host, portStr, err := net.SplitHostPort(arg)
	if err != nil {
		host, portStr = strings.Trim(arg, "[]"), ""
	}
	if host == "" || strings.ContainsAny(host, "/ @") {
		return nil, fmt.Errorf("%q is not a HOST[:PORT]", arg)
	}
	var proto probe.Protocol
	if protoFlag != "" {
		if proto, err = probe.ParseProtocol(protoFlag); err != nil {
			return nil, err
		}
	}
	var ports []int
	if portStr != "" {
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("port %q is not a number from 1 to 65535", portStr)
		}
		ports = []int{port}
		if proto == "" {
			p, ok := probe.ProtocolForPort(port)
			if !ok {
				return nil, fmt.Errorf("port %d is not a well-known mail port: say --protocol smtp, imap or pop3", port)
			}
			proto = p
		}
	}
	var modes []probe.Security
	if secFlag != "" {
		m, err := probe.ParseSecurity(secFlag)
		if err != nil {
			return nil, err
		}
		modes = []probe.Security{m}
	}
	var out []probe.Target
	add := func(proto probe.Protocol, port int) {
		ms := modes
		if ms == nil {
			ms = probe.ModesForPort(port)
		}
		for _, m := range ms {
			out = append(out, probe.Target{Protocol: proto, Host: host, Port: port, Security: m})
		}
	}
	switch {
	case ports != nil:
		add(proto, ports[0])
	case proto != "":
		for _, port := range standardPorts[proto] {
			add(proto, port)
		}
	default: // no port, no protocol: every standard port of every protocol
		for _, p := range []probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3} {
			for _, port := range standardPorts[p] {
				add(p, port)
			}
		}
	}
	return out, nil
}

// probeAll runs the targets and returns their results in target order. They run on a discovery
// engine (discover.Engine.Probe), under discovery's rules: at most 3 sessions (its default PerIP) at
// once per server address, and waits cut short by what the engine learns (a plaintext mode on a
// port that just answered in implicit TLS stops waiting for a greeting; a filtered port, a host
// that greets nowhere). Targets without addresses are resolved here as the direct dialer would
// resolve them (unless the dialer hands names to a proxy). When the engine cannot be set up,
// every target is probed directly and concurrently.
//
// With credentials the probes themselves carry none: logIn then logs in on what answered, one
// login at a time, so that a wrong password is rejected once in all rather than once per mode.
func probeAll(ctx context.Context, targets []probe.Target, opts probe.Options) []probe.Result {
	cred := opts.Credentials
	opts.Credentials = nil
	results := survey(ctx, targets, opts)
	if cred != nil {
		logIn(ctx, targets, results, opts, cred)
	}
	return results
}

// survey probes the targets without credentials, through an engine when one can be set up.
func survey(ctx context.Context, targets []probe.Target, opts probe.Options) []probe.Result {
	eo := discover.DefaultOptions()
	eo.Probe, eo.Resolver, eo.NoISPDB = opts, noResolver{}, true
	engine, err := discover.NewEngine(eo)
	if err != nil {
		return probeDirect(ctx, targets, opts)
	}
	defer engine.Close()
	results := make([]probe.Result, len(targets))
	var viaEngine []probe.Target
	var at []int
	var direct sync.WaitGroup
	addrs := resolveTargets(ctx, targets, opts.Dial)
	for i, t := range targets {
		if t.Addrs == nil && (opts.Dial == nil || !opts.Dial.ResolvesRemotely()) {
			t.Addrs = addrs[t.Host]
			if t.Addrs == nil { // the lookup failed: probe.Run reports it in its own words
				direct.Go(func() { results[i] = probe.Run(ctx, t, opts) })
				continue
			}
		}
		viaEngine, at = append(viaEngine, t), append(at, i)
	}
	for k, r := range engine.Probe(ctx, viaEngine...) {
		results[at[k]] = r
	}
	direct.Wait()
	return results
}

// logIn logs in on each result a client could log in to, one login at a time, in the order of
// the targets (implicit TLS before STARTTLS before plain, as probeTargets lists them), on a new
// connection to the address the probe reached. Discovery's rule for a password applies (see
// discover's verify): once a server has rejected the user name and password, nothing more is
// sent with them, because a burst of failures is what fail2ban and account lockouts count. A
// result that was logged in on is replaced by the login's own, fuller one (its transcript shows
// the AUTH exchange); where the rules forbid a login, Auth says which rule.
func logIn(ctx context.Context, targets []probe.Target, results []probe.Result, opts probe.Options, cred *probe.Credentials) {
	rejectedBy := ""
	for i, t := range targets {
		r := &results[i]
		if !r.OK || ctx.Err() != nil {
			continue // nothing to log in to, or no time left to do it
		}
		if code, why := probe.Refusal(r, cred); code != "" {
			r.Auth = &probe.AuthResult{Username: cred.Username, NotAttempted: code, Error: why}
			continue
		}
		if rejectedBy != "" {
			r.Auth = &probe.AuthResult{Username: cred.Username, NotAttempted: probe.NotAttemptedAlreadyFailed,
				Error: "not attempted: " + rejectedBy + " already rejected this user name and password once; not trying again (accounts get locked)"}
			continue
		}
		if ap, err := netip.ParseAddrPort(r.Address); err == nil {
			t.Addrs = []netip.Addr{ap.Addr()} // the address that answered, not another one of the name
		}
		lo := opts
		lo.Credentials = cred
		lr := probe.Run(ctx, t, lo)
		if lr.Auth == nil {
			r.Auth = &probe.AuthResult{Username: cred.Username, NotAttempted: probe.NotAttemptedUnreachable,
				Error: "not attempted: the connection for the login failed: " + lr.Error}
			continue
		}
		*r = lr
		if lr.Auth.Attempted && !lr.Auth.OK {
			rejectedBy = fmt.Sprintf("%s %s", t.Protocol, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
		}
	}
}

// probeDirect probes every target at once, each on its own connection.
func probeDirect(ctx context.Context, targets []probe.Target, opts probe.Options) []probe.Result {
	results := make([]probe.Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { results[i] = probe.Run(ctx, t, opts) })
	}
	wg.Wait()
	return results
}

// resolveTargets looks up the addresses of the targets' hosts that have none, with the system's
// resolver (as a direct dial would); a host whose lookup fails is left out. Nothing is looked up
// when the dialer resolves names remotely.
func resolveTargets(ctx context.Context, targets []probe.Target, dial probe.Dialer) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	if dial != nil && dial.ResolvesRemotely() {
		return out
	}
	for _, t := range targets {
		if t.Addrs != nil {
			continue
		}
		if _, done := out[t.Host]; done {
			continue
		}
		if ip, err := netip.ParseAddr(t.Host); err == nil {
			out[t.Host] = []netip.Addr{ip}
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
		if err != nil || len(ips) == 0 {
			out[t.Host] = nil
			continue
		}
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		out[t.Host] = ips
	}
	return out
}

// noResolver is the engine's resolver for probes: Engine.Probe asks DNS nothing (the targets
// carry their addresses), and NewEngine must not need /etc/resolv.conf for it.
type noResolver struct{}

var errNoDNS = errors.New("DNS is not used for probes")

func (noResolver) LookupMX(context.Context, string) (discover.Answer[discover.MX], error) {
	return discover.Answer[discover.MX]{}, errNoDNS
}

func (noResolver) LookupSRV(context.Context, string) (discover.Answer[discover.SRV], error) {
	return discover.Answer[discover.SRV]{}, errNoDNS
}

func (noResolver) LookupAddr(context.Context, string) (discover.Answer[netip.Addr], error) {
	return discover.Answer[netip.Addr]{}, errNoDNS
}

func printProbeResults(cmd string, stdout, stderr io.Writer, results []probe.Result, of outputFlags, allowInsecure bool) int {
	var err error
	l := report.Layout{Width: report.TerminalWidth(os.Stdout), Wide: of.wide}
	switch {
	case of.json:
		err = report.ProbeJSON(stdout, results)
	default:
		if of.transcript {
			err = report.Transcript(stdout, results, l)
		}
		if err == nil {
			err = report.ProbeTable(stdout, results, l)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailscout %s: writing output: %v\n", cmd, err)
		return exitNotWorks
	}
	return probeExit(results, allowInsecure)
}

// probeExit is the exit code of probe (README.md, "Exit codes"): 0 when a mode is usable (or,
// with --allow-insecure, works at all) and any login there worked; 4 when the server rejected
// the credentials; 3 when no host name resolved; 1 otherwise.
func probeExit(results []probe.Result, allowInsecure bool) int {
	allDNS := len(results) > 0
	for _, r := range results {
		allDNS = allDNS && r.ErrorKind == probe.KindDNS
		if r.Auth != nil && r.Auth.Attempted && !r.Auth.OK {
			return exitLoginFailed
		}
	}
	for _, r := range results {
		v, blockers, _ := discover.Judge(&r)
		ok := v == discover.Usable || v == discover.Insecure && (allowInsecure || onlyLegacy(blockers) && r.TLS != nil)
		if ok && (r.Auth == nil || r.Auth.OK) {
			return exitWorks
		}
	}
	if allDNS {
		return exitDNSFailed
	}
	return exitNotWorks
}

func onlyLegacy(blockers []string) bool {
	for _, b := range blockers {
		if b != discover.BlockerLegacyTLS {
			return false
		}
	}
	return true
}
