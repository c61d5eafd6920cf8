package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
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
user log in safely, where, and if not, what is in the way.

Exit codes: 0 usable settings found (and the login worked, with credentials), 1 nothing usable,
2 usage error, 3 DNS failed (results unknown), 4 the server rejected the credentials.`

// discoverFlags are discover's own flags; demo and batch share them.
type discoverFlags struct {
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
	f.probe.register(fs, false)
	fs.StringVar(&f.protocols, "protocols", "smtp,imap,pop3", "protocols to discover, comma-separated")
	fs.BoolVar(&f.fast, "fast", false, "answer as soon as the best configuration of each protocol is proven; cancel the rest (report marked incomplete)")
	fs.DurationVar(&f.deadline, "deadline", d.Deadline, "overall limit for the whole discovery")
	fs.StringVar(&f.resolver, "resolver", "", "DNS resolver IP:PORT to ask (default: the nameservers of /etc/resolv.conf)")
	fs.StringVar(&f.ispdb, "ispdb", discover.DefaultISPDB, "base URL of the ISP database (the domain is appended)")
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
	fs.StringVar(&f.format, "format", "table", "output: table, json or autoconfig (Mozilla clientConfig v1.1 XML of the usable configurations)")
	fs.BoolVar(&f.verbose, "v", false, "list every probe, not only the failures worth reading")
	fs.BoolVar(&f.wide, "wide", false, "one line per table row, nothing wrapped (default: fit the terminal, $COLUMNS or 100 columns)")
}

func (f *discoverFlags) options() (discover.Options, error) {
	o := discover.DefaultOptions()
	if f.deadline <= 0 {
		return o, fmt.Errorf("--deadline must be a positive duration, not %s", f.deadline)
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
		ap, err := netip.ParseAddrPort(f.resolver)
		if err != nil || ap.Port() == 0 {
			return o, fmt.Errorf("--resolver %q: want IP:PORT with a port from 1 to 65535", f.resolver)
		}
		o.Resolver = &discover.DNSResolver{Servers: []string{ap.String()}}
	}
	if o.Credentials, err = f.probe.credentials(false); err != nil {
		return o, err
	}
	o.TrustHost, o.VerifyAll = f.trustHost, f.verifyAll
	if f.format == "" {
		f.format = "table"
	}
	if f.json {
		f.format = "json"
	}
	switch f.format {
	case "table", "json", "autoconfig":
	default:
		return o, fmt.Errorf("--format %q: want table, json or autoconfig", f.format)
	}
	return o, nil
}

func (f *discoverFlags) layout() report.Layout {
	return report.Layout{Width: report.TerminalWidth(os.Stdout), Wide: f.wide, Verbose: f.verbose}
}

func runDiscover(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("discover", discoverSynopsis, stderr)
	var f discoverFlags
	f.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 1 {
		return usageError(stderr, fs, "discover needs exactly one ADDRESS or DOMAIN")
	}
	if _, err := discover.ParseTarget(pos[0]); err != nil {
		return usageError(stderr, fs, err.Error())
	}
	opts, err := f.options()
	if err != nil {
		return usageError(stderr, fs, err.Error())
	}
	ctx, stop := signalContext()
	defer stop()
	return discoverAndPrint(ctx, pos[0], opts, &f, stdout, stderr)
}

func discoverAndPrint(ctx context.Context, target string, opts discover.Options, f *discoverFlags, stdout, stderr io.Writer) int {
	rep, err := discover.Run(ctx, target, opts)
	if rep == nil {
		fmt.Fprintf(stderr, "mailscout discover: %v\n", err)
		switch {
		case errors.Is(err, discover.ErrBadTarget):
			return exitUsage
		case errors.Is(err, discover.ErrDNS):
			return exitDNSFailed
		}
		return exitNotWorks
	}
	if errors.Is(err, discover.ErrCanceled) {
		fmt.Fprintln(stderr, "mailscout discover: canceled; what was learned so far follows")
	}
	return printReport(rep, f, stdout, stderr)
}

// printReport writes the report in the chosen format and returns the exit code.
func printReport(rep *discover.Report, f *discoverFlags, stdout, stderr io.Writer) int {
	var err error
	switch f.format {
	case "json":
		err = report.DiscoverJSON(stdout, rep)
	case "autoconfig":
		err = clientconfig.WriteAutoconfig(stdout, clientconfig.FromReport(rep))
		if errors.Is(err, clientconfig.ErrNothingUsable) {
			fmt.Fprintf(stderr, "mailscout discover: no autoconfig written: %v\n%s\n", err, rep.Diagnosis.Summary)
			return max(discoverExit(rep), exitNotWorks)
		}
		if err == nil && (insecure(rep.Recommended.Incoming) || insecure(rep.Recommended.Outgoing)) {
			fmt.Fprintln(stderr, "mailscout discover: WARNING: the autoconfig includes a server that works only insecurely, as --allow-insecure asked")
		}
	default:
		if f.transcript {
			var rs []probe.Result
			for _, p := range rep.Probes {
				rs = append(rs, p.Result)
			}
			err = report.Transcript(stdout, rs)
		}
		if err == nil {
			err = report.DiscoverTable(stdout, rep, f.layout())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailscout discover: %v\n", err)
		return exitNotWorks
	}
	return discoverExit(rep)
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
