package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/report"
)

const discoverSynopsis = `discover [flags] ADDRESS|DOMAIN

Finds every plausible SMTP submission, IMAP and POP3 server for an address or domain — DNS (MX,
SRV per RFC 6186/8314, A/AAAA), autoconfig XML (HTTPS, then HTTP, then the ISPDB), the provider
behind the MX hosts, and well-known host names — probes them concurrently, and answers: use
these, in rank order, with what each offers and why the rest failed.`

// discoverFlags are discover's own flags; demo shares the output ones.
type discoverFlags struct {
	probe       probeFlags
	protocols   string
	fast        bool
	deadline    time.Duration
	resolver    string
	ispdb       string
	noISPDB     bool
	concurrency int
	perIP       int
	json        bool
	format      string
	verbose     bool
	trustHost   bool
	verifyAll   bool
}

func (f *discoverFlags) register(fs *flag.FlagSet) {
	d := discover.DefaultOptions()
	f.probe.register(fs, false)
	fs.StringVar(&f.protocols, "protocols", "smtp,imap,pop3", "protocols to discover, comma-separated")
	fs.BoolVar(&f.fast, "fast", false, "answer as soon as the best configuration of each protocol is proven; cancel the rest (report marked incomplete)")
	fs.DurationVar(&f.deadline, "deadline", d.Deadline, "overall limit for the whole discovery")
	fs.StringVar(&f.resolver, "resolver", "", "DNS resolver IP:PORT to ask (default: the nameservers of /etc/resolv.conf)")
	fs.StringVar(&f.ispdb, "ispdb", discover.DefaultISPDB, "base URL of the ISP database (the domain is appended)")
	fs.BoolVar(&f.noISPDB, "no-ispdb", false, "do not ask the ISP database")
	fs.IntVar(&f.concurrency, "concurrency", d.Concurrency, "probes in flight at once")
	fs.IntVar(&f.perIP, "per-ip", d.PerIP, "probes in flight at once to one server address (mail servers block eager clients)")
	fs.BoolVar(&f.json, "json", false, "same as --format json")
	fs.StringVar(&f.format, "format", "table", "output: table, json or autoconfig (Mozilla clientConfig v1.1 XML)")
	fs.BoolVar(&f.verbose, "v", false, "list every probe, not only the failures worth reading")
	fs.BoolVar(&f.trustHost, "trust-host", false, "allow logging in to hosts outside the domain that were named over an untrusted path")
	fs.BoolVar(&f.verifyAll, "verify-all", false, "log in on every working configuration, not only the best one per protocol")
}

func (f *discoverFlags) options() (discover.Options, error) {
	o := discover.DefaultOptions()
	po, err := f.probe.options()
	if err != nil {
		return o, err
	}
	po.SkipQuitReply = true
	po.Deadline = f.deadline
	o.Probe = po
	o.Fast, o.Deadline, o.NoISPDB, o.ISPDB = f.fast, f.deadline, f.noISPDB, f.ispdb
	o.Concurrency, o.PerIP = f.concurrency, f.perIP
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
		if _, _, err := net.SplitHostPort(f.resolver); err != nil {
			return o, fmt.Errorf("--resolver %q: want IP:PORT", f.resolver)
		}
		o.Resolver = &discover.DNSResolver{Servers: []string{f.resolver}}
	}
	if o.Credentials, err = f.probe.credentials(false); err != nil {
		return o, err
	}
	o.TrustHost, o.VerifyAll = f.trustHost, f.verifyAll
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
	if err != nil {
		fmt.Fprintf(stderr, "mailscout discover: %v\n", err)
		if errors.Is(err, discover.ErrBadTarget) {
			return exitUsage
		}
		return exitNotWorks
	}
	switch f.format {
	case "json":
		err = report.DiscoverJSON(stdout, rep)
	case "autoconfig":
		err = report.Autoconfig(stdout, rep)
	default:
		err = report.DiscoverTable(stdout, rep, f.verbose)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailscout discover: %v\n", err)
		return exitNotWorks
	}
	if len(rep.Configs) == 0 {
		return exitNotWorks
	}
	return exitWorks
}
