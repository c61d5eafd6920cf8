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
//	mailscout serve [flags]                     the HTTP service
//	mailscout help [COMMAND]                    this overview, or a command's flags
//	mailscout version                           the version of mailscout and of Go
//
// Exit codes: 0 a usable configuration was found (and the login worked, when credentials were
// given); 1 nothing usable; 2 usage error; 3 DNS failed; 4 the server rejected the credentials;
// 130 discover, probe or demo interrupted (Ctrl-C or SIGTERM; what was learned is printed first).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/mailscout/mailscout/internal/report"
)

// Exit codes (README.md, "Exit codes").
const (
	exitWorks       = 0   // a usable configuration is recommended (and the login worked, if tried)
	exitNotWorks    = 1   // nothing usable
	exitUsage       = 2   // the invocation is wrong
	exitDNSFailed   = 3   // the resolver failed: results unknown
	exitLoginFailed = 4   // the server rejected the credentials
	exitInterrupted = 130 // Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention)
)

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
		{"help", "show this overview, or with a command's name its usage and flags", runHelp},
		{"version", "print the version of mailscout and of the Go it was built with", runVersion},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr) // a usage error: nothing was asked
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitWorks
	case "-version", "--version":
		return runVersion(args[1:], stdout, stderr)
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

// runHelp is `mailscout help [COMMAND]`: the overview, or the command's help, on stdout.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		usage(stdout)
		return exitWorks
	case len(args) > 1:
		fmt.Fprintln(stderr, "mailscout help: give at most one command")
		fmt.Fprintln(stderr, "Run 'mailscout help' for the list of commands.")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run([]string{"--help"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "mailscout help: unknown command %q\n", args[0])
	fmt.Fprintln(stderr, "Run 'mailscout help' for the list of commands.")
	return exitUsage
}

// runVersion prints the module version ("(devel)" for a build from a work tree) and Go's.
func runVersion(args []string, stdout, stderr io.Writer) int {
	cl := newCommandLine("version", "version\n\nPrints the version of mailscout and of the Go toolchain that built it.", stdout, stderr)
	pos, code, ok := cl.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, cl.FlagSet, "version takes no arguments")
	}
	fmt.Fprintf(stdout, "mailscout %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitWorks
}

// version is the main module's version from the build information: a tag such as v1.2.3 for
// `go install …@v1.2.3`, "(devel)" for a build from a work tree (with the commit when known).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	v := bi.Main.Version
	if v == "(devel)" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// helpWidth is the width help text is wrapped to: the rule the tables follow ($COLUMNS, else
// the terminal's width, else report.DefaultWidth).
func helpWidth() int { return report.TerminalWidth(os.Stdout) }

func usage(w io.Writer) {
	width := helpWidth()
	var b strings.Builder
	b.WriteString("mailscout finds out how to connect to someone's mail.\n\nUsage: mailscout <command> [flags] [arguments]\n\nCommands:\n")
	nameWidth := 0
	for _, c := range commands() {
		nameWidth = max(nameWidth, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-*s  %s\n", nameWidth, c.name, c.summary)
	}
	b.WriteString("\nRun 'mailscout <command> --help' (or 'mailscout help <command>') for a command's flags.\n\n")
	b.WriteString("Exit codes: 0 usable settings found, 1 nothing usable, 2 usage error, 3 DNS failed, " +
		"4 the server rejected the credentials, 130 interrupted by Ctrl-C (discover, probe, demo); each command's help says more.\n")
	io.WriteString(w, formatText(b.String(), width))
}

// commandLine is a command's flag set with its help text. Explicit --help or -h prints the
// help on stdout (exit 0); a flag error is a usage error on stderr (exit 2).
type commandLine struct {
	*flag.FlagSet
	synopsis       string
	hidden         map[string]bool // registered, but not shown by --help
	stdout, stderr io.Writer
}

func newCommandLine(name, synopsis string, stdout, stderr io.Writer) *commandLine {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parse, help by help
	fs.Usage = func() {}
	return &commandLine{FlagSet: fs, synopsis: synopsis, hidden: map[string]bool{}, stdout: stdout, stderr: stderr}
}

// parse parses args (flags may come between positional arguments); ok false comes with the
// exit code: 0 after --help, 2 after a flag error.
func (c *commandLine) parse(args []string) (pos []string, code int, ok bool) {
	pos, err := parseInterleaved(c.FlagSet, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.help(c.stdout)
		return nil, exitWorks, false
	case err != nil:
		return nil, usageError(c.stderr, c.FlagSet, err.Error()), false
	}
	return pos, 0, true
}

// set reports whether the flag was given on the command line.
func (c *commandLine) set(name string) bool {
	given := false
	c.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// help writes the usage line, the description and the flags, wrapped to the terminal's width.
func (c *commandLine) help(w io.Writer) {
	width := helpWidth()
	first, rest, _ := strings.Cut(strings.TrimSpace(c.synopsis), "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: mailscout %s\n", strings.TrimSpace(first))
	if rest = strings.TrimSpace(rest); rest != "" {
		b.WriteString("\n" + rest + "\n")
	}
	io.WriteString(w, formatText(b.String(), width))
	var flags []*flag.Flag
	c.VisitAll(func(f *flag.Flag) {
		if !c.hidden[f.Name] {
			flags = append(flags, f)
		}
	})
	if len(flags) == 0 {
		return
	}
	io.WriteString(w, "\nFlags:\n")
	for _, f := range flags {
		name, text := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		head := "  " + dashes + f.Name
		if name != "" {
			head += " " + strings.ToUpper(name)
		}
		if showDefault(f) {
			text += " (default " + f.DefValue + ")"
		}
		io.WriteString(w, head+"\n")
		io.WriteString(w, wrapLine(text, width, flagIndent, flagIndent))
	}
}

// flagIndent is where a flag's description starts, under its name.
const flagIndent = 6

// showDefault says whether a flag's default is worth printing: not a zero value, and not a
// flag.Func (whose description says its default itself).
func showDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "false", "0", "0s":
		return false
	}
	return true
}

// formatText wraps text to width: paragraphs (lines that do not start with a space) flow;
// an indented line is a list item ("  term   description"), wrapped with its continuation
// lines under the description; blank lines are kept.
func formatText(text string, width int) string {
	var b strings.Builder
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString(wrapLine(strings.Join(para, " "), width, 0, 0))
			para = nil
		}
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch trimmed := strings.TrimLeft(line, " "); {
		case trimmed == "":
			flush()
			b.WriteString("\n")
		case trimmed != line:
			flush()
			lead := len(line) - len(trimmed)
			hang := lead + 4
			if i := strings.Index(trimmed, "  "); i > 0 {
				j := i + len(trimmed[i:]) - len(strings.TrimLeft(trimmed[i:], " "))
				if col := lead + utf8.RuneCountInString(trimmed[:j]); col <= width/2 {
					hang = col
				}
			}
			b.WriteString(wrapItem(line, width, hang))
		default:
			para = append(para, strings.TrimSpace(line))
		}
	}
	flush()
	return b.String()
}

// wrapItem wraps one list item, keeping the spaces of its first line (they align columns).
func wrapItem(line string, width, hang int) string {
	if utf8.RuneCountInString(line) <= width {
		return line + "\n"
	}
	// Break at the last space that fits, then wrap the rest under the hanging indent.
	runes := []rune(line)
	cut := -1
	for i := width; i > hang; i-- {
		if i < len(runes) && runes[i] == ' ' {
			cut = i
			break
		}
	}
	if cut < 0 {
		return line + "\n" // one word longer than the line: leave it
	}
	return strings.TrimRight(string(runes[:cut]), " ") + "\n" + wrapLine(string(runes[cut:]), width, hang, hang)
}

// wrapLine fills words into lines of at most width runes: the first indented by first, the
// others by rest. A word longer than a line stands alone on its line.
func wrapLine(text string, width, first, rest int) string {
	words := strings.Fields(text)
	if len(words) == 0 {
		return "\n"
	}
	var b strings.Builder
	indent, n := first, 0
	for _, w := range words {
		wl := utf8.RuneCountInString(w)
		switch {
		case n == 0:
			b.WriteString(strings.Repeat(" ", indent) + w)
			n = indent + wl
		case n+1+wl <= width:
			b.WriteString(" " + w)
			n += 1 + wl
		default:
			indent = rest
			b.WriteString("\n" + strings.Repeat(" ", indent) + w)
			n = indent + wl
		}
	}
	b.WriteString("\n")
	return b.String()
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

// usageError reports a usage error on stderr with the way to the help, and returns exit 2.
func usageError(stderr io.Writer, fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(stderr, "mailscout %s: %s\n", fs.Name(), msg)
	fmt.Fprintf(stderr, "Run 'mailscout %s --help' for usage.\n", fs.Name())
	return exitUsage
}
