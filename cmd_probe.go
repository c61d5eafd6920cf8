package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
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
the port is tried, concurrently. Without a port, --protocol's standard ports are probed.`

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

// register adds the flags; withDeadline adds --deadline for one probe (discover has its own).
func (p *probeFlags) register(fs *flag.FlagSet, withDeadline bool) {
	d := probe.DefaultOptions()
	p.deadline = d.Deadline
	fs.DurationVar(&p.connectTimeout, "connect-timeout", d.ConnectTimeout, "time allowed for the TCP connect")
	fs.DurationVar(&p.greetingTimeout, "greeting-timeout", d.GreetingTimeout, "time allowed until the first byte of the greeting (a silent port is usually a mode mismatch)")
	fs.DurationVar(&p.opTimeout, "timeout", d.OperationTimeout, "time allowed for each complete reply and the TLS handshake")
	if withDeadline {
		fs.DurationVar(&p.deadline, "deadline", d.Deadline, "overall limit for one probe")
	}
	fs.Func("tls-min", "lowest TLS version to offer: 1.0, 1.1, 1.2 or 1.3 (default 1.2; 1.0 with --allow-insecure-tls; below 1.2 needs --allow-insecure-tls)", func(v string) error {
		p.tlsMin, p.tlsMinSet = v, true
		return nil
	})
	fs.StringVar(&p.tlsMax, "tls-max", "1.3", "highest TLS version to offer")
	fs.BoolVar(&p.allowInsecureTLS, "allow-insecure-tls", false, "allow TLS 1.0/1.1 and their legacy cipher suites, and let a server that speaks only those be recommended (flagged)")
	fs.BoolVar(&p.allowInsecure, "allow-insecure", false, "let a server that works only insecurely (no TLS, a bad certificate, legacy TLS) be recommended when nothing safe exists (flagged)")
	fs.StringVar(&p.caFile, "ca-file", "", "PEM file of extra trusted root certificates (SSL_CERT_FILE also works)")
	fs.StringVar(&p.ehlo, "ehlo", "", "SMTP EHLO name (default: the local address as an address literal)")
	p.proxy.register(fs)
	p.auth.register(fs)
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
	if err := o.Validate(); err != nil {
		if o.TLSMin < tls.VersionTLS12 && !o.AllowInsecureTLS {
			return o, fmt.Errorf("%w: add --allow-insecure-tls to test legacy TLS", err)
		}
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
	fs := newFlagSet("probe", probeSynopsis, stderr)
	var pf probeFlags
	var of outputFlags
	pf.register(fs, true)
	of.register(fs)
	protoFlag := fs.String("protocol", "", "smtp, imap or pop3 (default: inferred from the port)")
	secFlag := fs.String("security", "", "tls, starttls or plain (default: every mode that makes sense for the port)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		return usageError(stderr, fs, "probe needs exactly one HOST[:PORT]")
	}
	targets, err := probeTargets(pos[0], *protoFlag, *secFlag)
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	opts, err := pf.options()
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	opts.Transcript = of.transcript
	if opts.Credentials, err = pf.credentials(true); err != nil {
		return usageError(stderr, fs, err.Error())
	}
	ctx, stop := signalContext()
	defer stop()
	results := probeAll(ctx, targets, opts)
	return printProbeResults(stdout, stderr, results, of, pf.allowInsecure)
}

func usageError(stderr io.Writer, fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(stderr, "mailscout %s: %s\n", fs.Name(), msg)
	fmt.Fprintf(stderr, "Run 'mailscout %s --help' for usage.\n", fs.Name())
	return exitUsage
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

// probeAll runs the targets concurrently and returns results in target order.
func probeAll(ctx context.Context, targets []probe.Target, opts probe.Options) []probe.Result {
	results := make([]probe.Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { results[i] = probe.Run(ctx, t, opts) })
	}
	wg.Wait()
	return results
}

func printProbeResults(stdout, stderr io.Writer, results []probe.Result, of outputFlags, allowInsecure bool) int {
	var err error
	l := report.Layout{Width: report.TerminalWidth(os.Stdout), Wide: of.wide}
	switch {
	case of.json:
		err = report.ProbeJSON(stdout, results)
	default:
		if of.transcript {
			err = report.Transcript(stdout, results)
		}
		if err == nil {
			err = report.ProbeTable(stdout, results, l)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailscout: writing output: %v\n", err)
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
