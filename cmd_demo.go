package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mailscout/mailscout/probe"
	"github.com/mailscout/mailscout/testserver"
)

const demoSynopsis = `demo [flags]

Starts the built-in demo world — in-process SMTP, IMAP and POP3 servers on loopback with a
private CA, including broken and hostile ones — and probes every endpoint as 'mailscout probe'
would. Nothing leaves this machine.`

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", demoSynopsis, stderr)
	var of outputFlags
	of.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		return usageError(stderr, fs, "demo takes no arguments")
	}
	world, err := testserver.StartWorld(testserver.DemoSpec())
	if err != nil {
		fmt.Fprintf(stderr, "mailscout demo: %v\n", err)
		return exitNotWorks
	}
	defer world.Close()

	opts := probe.DefaultOptions()
	opts.Dial = world.DialContext
	opts.RootCAs = world.CA.Pool()
	opts.Transcript = of.transcript
	// The demo's silent and filtered ports would otherwise hold the answer for the full defaults.
	opts.ConnectTimeout, opts.GreetingTimeout = time.Second, time.Second
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
	if !of.json {
		fmt.Fprintf(stdout, "Demo world: %d hosts, private CA %q, probing %d endpoint modes concurrently…\n\n",
			len(world.Spec.Hosts), world.CA.Cert.Subject.CommonName, len(targets))
	}
	ctx, stop := signalContext()
	defer stop()
	return printProbeResults(stdout, stderr, probeAll(ctx, targets, opts), of)
}
