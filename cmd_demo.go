package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

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

Every server knows the account alice@<domain> with the password "demo-password" (and
alice@autoconf.example logs in as "alice"): try --user and --password-stdin. Domains may be
written in any case, and an address at a demo domain (bob@srv.example) is discovered as that
address.

The demo world is reached in this process, not over the network: --proxy, --resolver, --ispdb,
--no-ispdb and --ca-file do not apply (--demo-proxy puts an in-process proxy in the way).

Exit codes: with one domain, discover's: 0 usable settings found (and the login worked, with
credentials), 1 nothing usable, 3 DNS failed, 4 the server rejected the credentials. With
several domains, or none (the tour, which shows broken domains on purpose), 0 whatever the
diagnoses, and --json writes a JSON array of reports. Always: 2 usage error, 130 interrupted by
Ctrl-C or SIGTERM (what was learned is printed first).`

var demoDomains = []string{mailsim.DemoSRV, mailsim.DemoGuess, mailsim.DemoHosted, mailsim.DemoAutoconf, mailsim.DemoBroken,
	mailsim.DemoLegacy, mailsim.DemoPlain, mailsim.DemoNoMail}

// demoIgnored are the discovery flags that make no sense on the demo world, and why; demo and
// batch --demo reject them rather than ignore them.
var demoIgnored = []struct{ flag, why string }{
	{"proxy", "the demo world is reached in this process, not over the network (--demo-proxy puts an in-process proxy in the way)"},
	{"proxy-password-env", "the demo world is reached in this process, not over the network (--demo-proxy puts an in-process proxy in the way)"},
	{"proxy-password-stdin", "the demo world is reached in this process, not over the network (--demo-proxy puts an in-process proxy in the way)"},
	{"no-proxy", "the demo world is reached in this process, not over the network, and never through $ALL_PROXY"},
	{"resolver", "the demo world answers DNS itself, from its own name server"},
	{"ispdb", "the demo world never asks the ISP database: its domains are not on the Internet"},
	{"no-ispdb", "the demo world never asks the ISP database: its domains are not on the Internet"},
	{"ca-file", "the demo servers' certificates come from the demo world's own CA, which is trusted already"},
}

// rejectDemoIgnored returns the usage error for the first flag given that the demo world
// ignores, "" when none was.
func rejectDemoIgnored(cl *commandLine) string {
	for _, d := range demoIgnored {
		if cl.set(d.flag) {
			return fmt.Sprintf("--%s does not apply to the demo world: %s", d.flag, d.why)
		}
	}
	return ""
}

// demoTarget reads a demo command-line argument: a demo domain in any case, or an address at
// one. The address is discovered as given; a domain is discovered for alice@domain.
func demoTarget(arg string) (string, bool) {
	local, domain, hasAt := "alice", arg, false
	if at := strings.LastIndexByte(arg, '@'); at >= 0 {
		local, domain, hasAt = arg[:at], arg[at+1:], true
	}
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if !slices.Contains(demoDomains, domain) || hasAt && local == "" {
		return "", false
	}
	return local + "@" + domain, true
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("demo", demoSynopsis, stdout, stderr)
	f := discoverFlags{cmd: "demo"}
	f.register(cl.FlagSet)
	for _, d := range demoIgnored {
		cl.hidden[d.flag] = true
	}
	probeAllFlag := cl.Bool("probe-all", false, "instead of discovery, probe every endpoint of the demo world in every sensible mode, as 'mailscout probe' would")
	demoProxy := cl.String("demo-proxy", "", "go through an in-process proxy of the demo world: socks4, socks4a, socks5, socks5h or http (with a user and password)")
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if msg := rejectDemoIgnored(cl); msg != "" {
		return usageError(stderr, cl.FlagSet, msg)
	}
	var targets []string
	for _, d := range demoDomains {
		targets = append(targets, "alice@"+d)
	}
	if len(pos) > 0 {
		targets = nil
		for _, arg := range pos {
			t, ok := demoTarget(arg)
			if !ok {
				return usageError(stderr, cl.FlagSet, fmt.Sprintf("%q is not a demo domain or an address at one: the demo domains are %s", arg, strings.Join(demoDomains, ", ")))
			}
			targets = append(targets, t)
		}
	}
	f.probe.proxy.none = true // $ALL_PROXY does not lead to the demo world
	opts, err := f.options()
	if err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	switch {
	case *probeAllFlag && f.format == "autoconfig":
		return usageError(stderr, cl.FlagSet, "--probe-all writes a table or JSON (--json), not autoconfig")
	case *probeAllFlag && len(pos) > 0:
		return usageError(stderr, cl.FlagSet, "--probe-all probes every endpoint of the demo world: name no domain")
	case f.format == "autoconfig" && len(targets) > 1:
		return usageError(stderr, cl.FlagSet, "--format autoconfig writes one document: name one demo domain")
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
			return usageError(stderr, cl.FlagSet, err.Error())
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
		code := probeWorld(ctx, world, opts, outputFlags{json: f.format == "json", transcript: f.transcript, wide: f.wide}, stdout, stderr, f.probe.allowInsecure)
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "mailscout demo: interrupted; the results above are what was learned until then")
			return exitInterrupted
		}
		return code
	}
	if len(targets) == 1 {
		return discoverAndPrint(ctx, targets[0], opts, &f, stdout, stderr)
	}
	return demoTour(ctx, targets, opts, &f, stdout, stderr)
}

// demoTour discovers several demo targets one after the other. It exits 0 whatever the
// diagnoses (the tour shows broken domains on purpose), 130 when interrupted. With --json the
// reports form one JSON array, so that the output stays one JSON document.
func demoTour(ctx context.Context, targets []string, opts discover.Options, f *discoverFlags, stdout, stderr io.Writer) int {
	asJSON := f.format == "json"
	if asJSON {
		io.WriteString(stdout, "[\n")
	}
	code, written := exitWorks, 0
	for _, t := range targets {
		if ctx.Err() != nil {
			code = exitInterrupted
			break
		}
		var c int
		if asJSON {
			var one, indented bytes.Buffer
			c = discoverAndPrint(ctx, t, opts, f, &one, stderr)
			if one.Len() > 0 && json.Indent(&indented, bytes.TrimSpace(one.Bytes()), "  ", "  ") == nil {
				if written > 0 {
					io.WriteString(stdout, ",\n")
				}
				io.WriteString(stdout, "  ")
				stdout.Write(indented.Bytes())
				written++
			}
		} else {
			if written > 0 {
				fmt.Fprintln(stdout)
			}
			c = discoverAndPrint(ctx, t, opts, f, stdout, stderr)
			written++
		}
		if c == exitInterrupted {
			code = exitInterrupted
			break
		}
	}
	if asJSON {
		if written > 0 {
			io.WriteString(stdout, "\n")
		}
		io.WriteString(stdout, "]\n")
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

// probeWorld probes every service of the world in every mode that makes sense for its port, as
// 'mailscout probe' would.
func probeWorld(ctx context.Context, world *mailsim.World, opts discover.Options, of outputFlags, stdout, stderr io.Writer, allowInsecure bool) int {
	opts.Probe.Transcript = of.transcript
	opts.Probe.SkipQuitReply = false
	var targets []probe.Target
	for _, h := range world.Spec.Hosts {
		for _, s := range h.Services {
			proto, ok := probe.ProtocolForPort(s.Port)
			if !ok {
				continue
			}
			for _, m := range probe.ModesForPort(s.Port) {
				targets = append(targets, probe.Target{Protocol: proto, Host: h.Name, Port: s.Port, Security: m, Addrs: world.Addrs(h.Name)})
			}
		}
	}
	return printProbeResults("demo", stdout, stderr, probeAll(ctx, targets, opts.Probe), of, allowInsecure)
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
