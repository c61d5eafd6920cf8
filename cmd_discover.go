package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mailscout/mailscout/clientconfig"
	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/report"
	"github.com/mailscout/mailscout/probe"
)

const discoverSynopsis = `discover [flags] ADDRESS|DOMAIN

Finds every plausible SMTP submission, IMAP and POP3 server for an address or domain — DNS (MX,
SRV per RFC 6186/8314, A/AAAA), autoconfig XML (HTTPS, then HTTP, then the ISPDB), the provider
behind the MX hosts, and well-known host names — probes them concurrently, and answers: can the
user log in safely, where, and if not, what is in the way. To check one server, use
'mailscout probe HOST[:PORT]'.

Exit codes: 0 usable settings found (and the login worked, with credentials), 1 nothing usable,
2 usage error, 3 DNS failed (results unknown), 4 the server rejected the credentials, 130
interrupted by Ctrl-C or SIGTERM (the report so far is printed first, marked INCOMPLETE).`

// discoverFlags are discover's own flags; demo, batch and serve share them.
type discoverFlags struct {
	cmd          string // the command that runs discovery, for messages ("discover", "demo", …)
	probe        probeFlags
	protocols    string
	fast         bool
	deadline     time.Duration
	resolver     string
	ispdb        string
	noISPDB      bool
	concurrency  int
	perIP        int
	allowPrivate bool
	json         bool
	format       string
	formatSet    bool // --format was given (not only its default)
	verbose      bool
	wide         bool
	transcript   bool
	trustHost    bool
	verifyAll    bool
}

// register adds every discover flag: what to discover and how, and how to show it.
func (f *discoverFlags) register(fs *flag.FlagSet) {
	f.registerDiscovery(fs)
	f.registerOutput(fs)
}

// registerDiscovery adds the flags of discovery itself (batch takes these, not the output ones).
func (f *discoverFlags) registerDiscovery(fs *flag.FlagSet) {
	d := discover.DefaultOptions()
	if f.cmd == "" {
		f.cmd = fs.Name()
	}
	f.probe.register(fs, false)
	fs.StringVar(&f.protocols, "protocols", "smtp,imap,pop3", "protocols to discover, comma-separated")
	fs.BoolVar(&f.fast, "fast", false, "answer as soon as the best configuration of each protocol is proven; cancel the rest (report marked incomplete)")
	fs.DurationVar(&f.deadline, "deadline", d.Deadline, "overall limit for the whole discovery")
	fs.StringVar(&f.resolver, "resolver", "", "DNS resolver to ask, an `IP:PORT` (default: the nameservers of /etc/resolv.conf)")
	fs.StringVar(&f.ispdb, "ispdb", discover.DefaultISPDB, "base `URL` of the ISP database (the domain is appended)")
	fs.BoolVar(&f.noISPDB, "no-ispdb", false, "do not ask the ISP database")
	fs.IntVar(&f.concurrency, "concurrency", d.Concurrency, "probes in flight at once")
	fs.IntVar(&f.perIP, "per-ip", d.PerIP, "connections open at once to one server address (mail servers block eager clients)")
	fs.BoolVar(&f.allowPrivate, "allow-private", false, "connect to servers and fetch autoconfig on internal addresses (loopback, private, link-local…) without a warning, even when the domain's own servers are not there")
	fs.BoolVar(&f.transcript, "transcript", false, "also record every probe's dialogue")
	fs.BoolVar(&f.trustHost, "trust-host", false, "allow logging in to hosts outside the domain that were named over an untrusted path")
	fs.BoolVar(&f.verifyAll, "verify-all", false, "log in on every usable configuration, not only the best one per protocol")
}

// registerOutput adds the flags that choose how a report is shown.
func (f *discoverFlags) registerOutput(fs *flag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "same as --format json")
	fs.Func("format", "output `format`: table, json or autoconfig (Mozilla clientConfig v1.1 XML of the usable configurations); default table", func(v string) error {
		f.format, f.formatSet = v, true
		return nil
	})
	fs.BoolVar(&f.verbose, "v", false, "list every probe, not only the failures worth reading")
	fs.BoolVar(&f.wide, "wide", false, "one line per table row, nothing wrapped (default: fit the terminal, $COLUMNS or 100 columns)")
}

func (f *discoverFlags) options() (discover.Options, error) {
	o := discover.DefaultOptions()
	if f.deadline <= 0 {
		return o, fmt.Errorf("--deadline must be a positive duration, not %s", f.deadline)
	}
	if err := f.checkFormat(); err != nil {
		return o, err
	}
	f.probe.deadline = f.deadline
	po, err := f.probe.options()
	if err != nil {
		return o, err
	}
	po.SkipQuitReply = true
	po.Transcript = f.transcript
	o.Probe = po
	o.Fast, o.Deadline, o.NoISPDB, o.ISPDB = f.fast, f.deadline, f.noISPDB, f.ispdb
	o.Concurrency, o.PerIP = f.concurrency, f.perIP
	o.AllowInsecure = f.probe.allowInsecure
	if f.allowPrivate {
		o.Private = discover.PrivateAllow
	}
	if f.concurrency < 1 || f.perIP < 1 {
		return o, errors.New("--concurrency and --per-ip must be at least 1")
	}
	for _, p := range strings.Split(f.protocols, ",") {
		proto, err := probe.ParseProtocol(strings.TrimSpace(p))
		if err != nil {
			return o, fmt.Errorf("--protocols: %w", err)
		}
		o.Protocols = append(o.Protocols, proto)
	}
	if f.resolver != "" {
		ap, err := parseResolver(f.resolver)
		if err != nil {
			return o, err
		}
		o.Resolver = &discover.DNSResolver{Servers: []string{ap.String()}}
	}
	if o.Credentials, err = f.probe.credentials(false); err != nil {
		return o, err
	}
	o.TrustHost, o.VerifyAll = f.trustHost, f.verifyAll
	return o, nil
}

// checkFormat settles the output format: --json and --format must not say different things.
func (f *discoverFlags) checkFormat() error {
	if f.json && f.formatSet && f.format != "json" {
		return fmt.Errorf("--json and --format %s contradict each other: give one of them", f.format)
	}
	if f.json {
		f.format = "json"
	}
	if f.format == "" {
		f.format = "table"
	}
	switch f.format {
	case "table", "json", "autoconfig":
		return nil
	}
	return fmt.Errorf("--format %q: want table, json or autoconfig", f.format)
}

// parseResolver reads --resolver: an IP address and a port, nothing to look up.
func parseResolver(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil:
		if _, ipErr := netip.ParseAddr(strings.Trim(s, "[]")); ipErr == nil {
			return netip.AddrPort{}, fmt.Errorf("--resolver %q: want IP:PORT: add the port, e.g. %s", s, net.JoinHostPort(strings.Trim(s, "[]"), "53"))
		}
		return netip.AddrPort{}, fmt.Errorf("--resolver %q: want IP:PORT, e.g. 127.0.0.53:53 or [::1]:53", s)
	case !isIP(host):
		return netip.AddrPort{}, fmt.Errorf("--resolver %q: the resolver must be an IP address (IP:PORT, e.g. 127.0.0.53:53), not the host name %q: a name would need a resolver to find it", s, host)
	}
	return netip.AddrPort{}, fmt.Errorf("--resolver %q: want IP:PORT with a port from 1 to 65535, not %q", s, port)
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// ipTarget says whether a discovery target is an IP address (alone, or as an address's domain,
// bracketed or not): discovery needs a domain, whose DNS names the servers.
func ipTarget(s string) (string, bool) {
	s = strings.TrimSpace(s)
	host := s
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		host = s[at+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.TrimPrefix(strings.TrimPrefix(host, "IPv6:"), "ipv6:")
	if isIP(host) {
		return host, true
	}
	if ap, err := netip.ParseAddrPort(host); err == nil {
		return ap.Addr().String(), true
	}
	return "", false
}

// layout is how a report table is shown.
func (f *discoverFlags) layout() report.Layout {
	return report.Layout{Width: report.TerminalWidth(os.Stdout), Wide: f.wide, Verbose: f.verbose}
}

func runDiscover(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("discover", discoverSynopsis, stdout, stderr)
	var f discoverFlags
	f.register(cl.FlagSet)
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, cl.FlagSet, "discover needs exactly one ADDRESS or DOMAIN")
	}
	if ip, isIP := ipTarget(pos[0]); isIP {
		return usageError(stderr, cl.FlagSet, fmt.Sprintf("%s is an IP address, not a domain: discovery starts from a domain's DNS (MX, SRV, autoconfig). To check the mail server at that address, run 'mailscout probe %s'.", ip, probeArg(ip)))
	}
	if _, err := discover.ParseTarget(pos[0]); err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	opts, err := f.options()
	if err != nil {
		return usageError(stderr, cl.FlagSet, err.Error())
	}
	ctx, stop := signalContext()
	defer stop()
	return discoverAndPrint(ctx, pos[0], opts, &f, stdout, stderr)
}

// probeArg writes an IP address as probe's HOST argument (IPv6 in brackets).
func probeArg(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

// discoverAndPrint runs one discovery and prints its report; an interrupted one is printed too,
// and exits 130.
func discoverAndPrint(ctx context.Context, target string, opts discover.Options, f *discoverFlags, stdout, stderr io.Writer) int {
	rep, err := discover.Run(ctx, target, opts)
	if rep == nil {
		fmt.Fprintf(stderr, "mailscout %s: %v\n", f.cmd, err)
		switch {
		case ctx.Err() != nil:
			return exitInterrupted
		case errors.Is(err, discover.ErrBadTarget):
			return exitUsage
		case errors.Is(err, discover.ErrDNS):
			return exitDNSFailed
		}
		return exitNotWorks
	}
	interrupted := errors.Is(err, discover.ErrCanceled) || ctx.Err() != nil
	if interrupted {
		fmt.Fprintf(stderr, "mailscout %s: interrupted; what was learned so far follows\n", f.cmd)
	}
	code := printReport(rep, f, stdout, stderr)
	if interrupted {
		return exitInterrupted
	}
	return code
}

// printReport writes the report in the chosen format and returns the exit code.
func printReport(rep *discover.Report, f *discoverFlags, stdout, stderr io.Writer) int {
	var err error
	hint := untrustedHint(rep, f.probe.auth.oauthTokenEnv != "")
	switch f.format {
	case "json":
		err = report.DiscoverJSON(stdout, rep)
		if err == nil && hint != "" {
			fmt.Fprintf(stderr, "mailscout %s: %s\n", f.cmd, hint)
		}
	case "autoconfig":
		acc := clientconfig.FromReport(rep)
		err = clientconfig.WriteAutoconfig(stdout, acc)
		if errors.Is(err, clientconfig.ErrNothingUsable) {
			fmt.Fprintf(stderr, "mailscout %s: no autoconfig written: %s\n%s\n", f.cmd, missingServers(rep, acc), rep.Diagnosis.Summary)
			if hint != "" {
				fmt.Fprintln(stderr, hint)
			}
			return max(discoverExit(rep), exitNotWorks)
		}
		if err == nil {
			if flagName := insecureFlag(rep, f); flagName != "" {
				fmt.Fprintf(stderr, "mailscout %s: WARNING: the autoconfig includes a server that works only insecurely, as %s asked\n", f.cmd, flagName)
			}
			if hint != "" {
				fmt.Fprintf(stderr, "mailscout %s: %s\n", f.cmd, hint)
			}
		}
	default:
		if f.transcript {
			var rs []probe.Result
			for _, p := range rep.Probes {
				rs = append(rs, p.Result)
			}
			err = report.Transcript(stdout, rs, f.layout())
		}
		if err == nil {
			err = writeTable(stdout, rep, f.layout(), hint)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailscout %s: %v\n", f.cmd, err)
		return exitNotWorks
	}
	return discoverExit(rep)
}

// writeTable writes the report's table with hint (if any) as its own paragraph right after the
// diagnosis.
func writeTable(w io.Writer, rep *discover.Report, l report.Layout, hint string) error {
	if hint == "" {
		return report.DiscoverTable(w, rep, l)
	}
	var buf bytes.Buffer
	if err := report.DiscoverTable(&buf, rep, l); err != nil {
		return err
	}
	text := hint + "\n"
	if !l.Wide && l.Width > 0 {
		text = wrapLine(hint, l.Width, 0, 2)
	}
	out := buf.Bytes()
	if d := bytes.Index(out, []byte("Diagnosis (")); d >= 0 {
		if r := bytes.Index(out[d:], []byte("\nRecommended:")); r >= 0 {
			at := d + r
			out = append(out[:at:at], append([]byte("\n"+text), out[at:]...)...)
			_, err := w.Write(out)
			return err
		}
	}
	_, err := w.Write(append(out, []byte("\n"+text)...)) // the table's shape changed: say it last
	return err
}

// untrustedHint says, when credentials were given and the login was not tried on a recommended
// server because it is outside the domain and was named over an untrusted path, which server
// and how to allow it. "" otherwise.
func untrustedHint(rep *discover.Report, token bool) string {
	var hosts []string
	for _, ch := range []*discover.Choice{rep.Recommended.Incoming, rep.Recommended.Outgoing} {
		if ch == nil || ch.LoginOK {
			continue
		}
		for _, c := range rep.Configs {
			if c.Protocol == ch.Protocol && c.Host == ch.Host && c.Port == ch.Port && c.Security == ch.Security &&
				c.Auth != nil && !c.Auth.Attempted && c.Auth.NotAttempted == probe.NotAttemptedUntrustedHost {
				if !slices.Contains(hosts, ch.Host) {
					hosts = append(hosts, ch.Host)
				}
			}
		}
	}
	if len(hosts) == 0 {
		return ""
	}
	what := "password"
	if token {
		what = "token"
	}
	if len(hosts) == 1 {
		return fmt.Sprintf("The %s was not tried on %s: it is outside %s and was named over an untrusted path. If it belongs to your provider, run again with --trust-host.",
			what, hosts[0], rep.Domain)
	}
	return fmt.Sprintf("The %s was not tried on %s: they are outside %s and were named over an untrusted path. If they belong to your provider, run again with --trust-host.",
		what, strings.Join(hosts[:len(hosts)-1], ", ")+" and "+hosts[len(hosts)-1], rep.Domain)
}

// missingServers says in words why no autoconfig document could be written: which kind of
// server (incoming, outgoing) has no usable one it may name.
func missingServers(rep *discover.Report, acc clientconfig.Account) string {
	why := func(kind, protos string, ch *discover.Choice, have int) string {
		switch {
		case have > 0:
			return ""
		case ch != nil && ch.Untrusted:
			return fmt.Sprintf("the %s server %s is outside %s and was named over an untrusted path, so the document may not name it", kind, ch.Host, rep.Domain)
		case ch != nil:
			return fmt.Sprintf("the %s server %s offers no login method autoconfig can describe", kind, ch.Host)
		}
		return fmt.Sprintf("there is no usable %s server (%s)", kind, protos)
	}
	in := why("incoming", "IMAP or POP3", rep.Recommended.Incoming, len(acc.Incoming))
	out := why("outgoing", "SMTP", rep.Recommended.Outgoing, len(acc.Outgoing))
	switch {
	case in == "" && out == "":
		return "none of the usable servers can be described in autoconfig."
	case in == "" || out == "":
		return in + out + "; a mail client needs an incoming and an outgoing server."
	case rep.Recommended.Incoming == nil && rep.Recommended.Outgoing == nil:
		return "there is no usable incoming server (IMAP or POP3) and no usable outgoing server (SMTP); a mail client needs one of each."
	}
	return in + ", and " + out + "; a mail client needs an incoming and an outgoing server."
}

// insecureFlag names the flag that let an insecure configuration into the recommendation, ""
// when the recommendation is safe.
func insecureFlag(rep *discover.Report, f *discoverFlags) string {
	var legacyOnly, other bool
	for _, c := range []*discover.Choice{rep.Recommended.Incoming, rep.Recommended.Outgoing} {
		if !insecure(c) {
			continue
		}
		if onlyLegacy(c.Blockers) {
			legacyOnly = true
		} else {
			other = true
		}
	}
	switch {
	case !legacyOnly && !other:
		return ""
	case other && legacyOnly && f.probe.allowInsecureTLS:
		return "--allow-insecure and --allow-insecure-tls"
	case other || !f.probe.allowInsecureTLS:
		return "--allow-insecure"
	}
	return "--allow-insecure-tls"
}

func insecure(c *discover.Choice) bool { return c != nil && c.Verdict != discover.Usable }

// discoverExit maps the diagnosis to the exit code (README.md, "Exit codes").
func discoverExit(rep *discover.Report) int {
	switch rep.Diagnosis.Status {
	case discover.StatusDNSFailed:
		return exitDNSFailed
	case discover.StatusLoginFailed:
		return exitLoginFailed
	}
	in, out := rep.Recommended.Incoming, rep.Recommended.Outgoing
	if in == nil && out == nil {
		return exitNotWorks
	}
	if loginTried(rep) && !(in != nil && in.LoginOK || out != nil && out.LoginOK) {
		return exitNotWorks // credentials were given and no login could be verified
	}
	return exitWorks
}

func loginTried(rep *discover.Report) bool {
	for _, c := range rep.Configs {
		if c.Auth != nil {
			return true
		}
	}
	return false
}
