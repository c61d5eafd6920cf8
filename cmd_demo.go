package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/probe/proxy"
)

const demoSynopsis = `demo [flags] [DOMAIN…]

Starts the built-in demo world — a DNS server, a web server with autoconfig files, and SMTP, IMAP
and POP3 servers on loopback with a private CA, including broken and hostile ones — and runs
discovery for an address at each demo domain (or the ones named), exactly as 'mailscout
discover' would on the Internet. Nothing leaves this machine.

Demo domains:
  srv.example        publishes SRV records (RFC 6186/8314), DNSSEC-signed
  guess.example      publishes nothing: found by guessing host names; its 465 has an expired certificate
  customer.example   hosted behind a provider's MX; the provider publishes autoconfig
  autoconf.example   autoconfig XML with odd host names and a local-part username
  broken.example     wrong-name certificate, a filtered and a silent implicit-TLS port, STARTTLS injection
  oldtls.example     speaks only TLS 1.0 (try --allow-insecure-tls)
  plain.example      no TLS at all: an IMAP server with LOGINDISABLED, an SMTP relay without AUTH
  nomail.example     publishes a null MX: accepts no mail

Every server knows the account alice@<domain> with the password "demo-password" (and alice@
autoconf.example logs in as "alice"): try --user and --password-stdin.`

var demoDomains = []string{mailsim.DemoSRV, mailsim.DemoGuess, mailsim.DemoHosted, mailsim.DemoAutoconf, mailsim.DemoBroken,
	mailsim.DemoLegacy, mailsim.DemoPlain, mailsim.DemoNoMail}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", demoSynopsis, stderr)
	var f discoverFlags
	f.register(fs)
	probeAllFlag := fs.Bool("probe-all", false, "instead of discovery, probe every endpoint of the demo world in every sensible mode, as 'mailscout probe' would")
	demoProxy := fs.String("demo-proxy", "", "go through an in-process proxy of the demo world: socks4, socks4a, socks5, socks5h or http (with a user and password)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	domains := demoDomains
	if len(pos) > 0 {
		for _, d := range pos {
			if !slices.Contains(demoDomains, d) {
				return usageError(stderr, fs, fmt.Sprintf("%q is not a demo domain (see --help)", d))
			}
		}
		domains = pos
	}
	opts, err := f.options()
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	world, err := startDemoWorld(&opts)
	if err != nil {
		fmt.Fprintf(stderr, "mailscout demo: %v\n", err)
		return exitNotWorks
	}
	defer world.Close()
	if *demoProxy != "" {
		px, err := startDemoProxy(world, *demoProxy)
		if err != nil {
			return usageError(stderr, fs, err.Error())
		}
		defer px.Close()
		d, _ := proxy.Parse(*demoProxy + "://demo:demo-password@" + px.Addr())
		if *demoProxy == "socks4" || *demoProxy == "socks4a" {
			d, _ = proxy.Parse(*demoProxy + "://demo@" + px.Addr())
		}
		opts.Probe.Dial = d // reach the proxy directly on loopback; the proxy reaches the world
	}
	ctx, stop := signalContext()
	defer stop()
	if *probeAllFlag {
		return probeWorld(ctx, world, opts.Probe, outputFlags{json: f.format == "json", transcript: f.transcript, wide: f.wide}, stdout, stderr, f.probe.allowInsecure)
	}
	code := exitWorks
	for i, d := range domains {
		if i > 0 && f.format == "table" {
			fmt.Fprintln(stdout)
		}
		if c := discoverAndPrint(ctx, "alice@"+d, opts, &f, stdout, stderr); len(domains) == 1 {
			code = c
		}
	}
	return code
}

// startDemoWorld starts the demo world and points opts at it: its DNS, network and CA stand in
// for the Internet's (the world is reachable only through its own network).
func startDemoWorld(opts *discover.Options) (*mailsim.World, error) {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		return nil, err
	}
	opts.Resolver = &discover.DNSResolver{Servers: []string{world.DNSAddr()}}
	opts.Probe.Dial = world
	opts.Probe.RootCAs = world.CA.Pool()
	opts.NoISPDB = true
	return world, nil
}

// probeWorld probes every service of the world in every mode that makes sense for its port.
func probeWorld(ctx context.Context, world *mailsim.World, opts probe.Options, of outputFlags, stdout, stderr io.Writer, allowInsecure bool) int {
	opts.Transcript = of.transcript
	opts.SkipQuitReply = false
	var targets []probe.Target
	for _, h := range world.Spec.Hosts {
		for _, s := range h.Services {
			proto, ok := probe.ProtocolForPort(s.Port)
			if !ok {
				continue
			}
			for _, m := range probe.ModesForPort(s.Port) {
				targets = append(targets, probe.Target{Protocol: proto, Host: h.Name, Port: s.Port, Security: m})
			}
		}
	}
	return printProbeResults(stdout, stderr, probeAll(ctx, targets, opts), of, allowInsecure)
}

// startDemoProxy starts an in-process proxy of the given kind that reaches the demo world.
func startDemoProxy(world *mailsim.World, kind string) (*mailsim.Proxy, error) {
	cfg := mailsim.ProxyConfig{Dial: world.DialContext, User: "demo", Password: "demo-password"}
	switch kind {
	case "socks4", "socks4a":
		cfg.Kind, cfg.Password = "socks4", ""
	case "socks5", "socks5h":
		cfg.Kind = "socks5"
	case "http":
		cfg.Kind = "http"
	default:
		return nil, fmt.Errorf("--demo-proxy %q: want socks4, socks4a, socks5, socks5h or http", kind)
	}
	return mailsim.StartProxy(cfg)
}
