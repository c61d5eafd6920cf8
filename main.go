// Command mailscout finds out how to connect to someone's mail: which SMTP submission, IMAP and
// POP3 servers, ports and security modes really work, what each offers, and which to use.
//
// Usage:
//
//	mailscout discover [flags] ADDRESS|DOMAIN   find and rank the working mail servers
//	mailscout probe [flags] HOST[:PORT]         probe one endpoint in every sensible security mode
//	mailscout batch [flags] [FILE|-]            many targets, JSON Lines out
//	mailscout summarize [FILE|-]                what a batch found, in counts
//	mailscout demo [flags] [DOMAIN…]            discovery on the built-in demo world
//
// Exit codes: 0 a usable configuration was found (and the login worked, when credentials were
// given); 1 nothing usable; 2 usage error; 3 DNS failed; 4 the server rejected the credentials.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes (README.md, "Exit codes").
const (
	exitWorks       = 0 // a usable configuration is recommended (and the login worked, if tried)
	exitNotWorks    = 1 // nothing usable
	exitUsage       = 2 // the invocation is wrong
	exitDNSFailed   = 3 // the resolver failed: results unknown
	exitLoginFailed = 4 // the server rejected the credentials
)

// errUsage marks an error that is the user's invocation, not the network.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"discover", "find and rank the working mail servers of an address or domain", runDiscover},
		{"probe", "probe one endpoint (HOST:PORT) in every sensible security mode", runProbe},
		{"batch", "discover many targets at once, one shared engine, JSON Lines out", runBatch},
		{"summarize", "summarize the JSON Lines of a batch", runSummarize},
		{"demo", "run discovery on the built-in demo world (in-process servers, DNS and web)", runDemo},
		{"serve", "run the HTTP service: JSON API, helpdesk page, autoconfig/Autodiscover/profiles", runServe},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitWorks
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "mailscout: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mailscout finds out how to connect to someone's mail.")
	fmt.Fprintln(w, "\nUsage: mailscout <command> [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'mailscout <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 usable settings found, 1 nothing usable, 2 usage error, 3 DNS failed,")
	fmt.Fprintln(w, "4 the server rejected the credentials.")
}

// parseInterleaved parses flags that may come before, between or after positional arguments
// (users type `mailscout probe host:587 --json`), which the flag package alone does not allow.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose --help prints the synopsis and flags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mailscout %s\n\nFlags:\n", strings.TrimSpace(synopsis))
		fs.PrintDefaults()
	}
	return fs
}

// flagExit maps a flag parsing error to an exit code: --help is a success, anything else usage.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitWorks
	}
	return exitUsage
}
