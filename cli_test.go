package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailscout/mailscout/internal/serve"
	"github.com/mailscout/mailscout/mailsim"
)

// runCLI runs mailscout in this process and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Help that was asked for (--help, -h, help, help COMMAND) goes to stdout with exit 0, so that
// `mailscout discover --help | less` shows it; without a command, the overview is a usage error
// on stderr.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "help"}, {"help", "--help"}} {
		code, out, errOut := runCLI(args...)
		if code != exitWorks || !strings.Contains(out, "Commands:") || errOut != "" {
			t.Errorf("mailscout %q: exit %d, stdout %q, stderr %q; want the overview on stdout, exit 0", args, code, out, errOut)
		}
	}
	if code, out, errOut := runCLI(); code != exitUsage || out != "" || !strings.Contains(errOut, "Commands:") {
		t.Errorf("mailscout alone: exit %d, stdout %q, stderr %q; want the overview on stderr, exit 2", code, out, errOut)
	}
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		want := "Usage: mailscout " + c.name
		var first string
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			code, out, errOut := runCLI(args...)
			if code != exitWorks || !strings.HasPrefix(out, want) || errOut != "" {
				t.Errorf("mailscout %q: exit %d, stderr %q, stdout starts %q; want %q on stdout, exit 0", args, code, errOut, firstLine(out), want)
			}
			if first == "" {
				first = out
			} else if out != first {
				t.Errorf("mailscout %q differs from mailscout %s --help", args, c.name)
			}
		}
	}
	for _, args := range [][]string{{"help", "frobnicate"}, {"help", "probe", "discover"}, {"discover", "--frobnicate", "example.com"}} {
		if code, out, errOut := runCLI(args...); code != exitUsage || out != "" || errOut == "" {
			t.Errorf("mailscout %q: exit %d, stdout %q, stderr %q; want a usage error on stderr, exit 2", args, code, out, errOut)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Every command's help fits the terminal's width (the rule the tables follow: $COLUMNS here),
// each flag's description indented under its name.
func TestHelpFitsWidth(t *testing.T) {
	for _, width := range []int{80, 100} {
		t.Setenv("COLUMNS", strconv.Itoa(width))
		helps := [][]string{{"--help"}}
		for _, c := range commands() {
			helps = append(helps, []string{c.name, "--help"})
		}
		for _, args := range helps {
			_, out, _ := runCLI(args...)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("COLUMNS=%d mailscout %q: line %d has %d characters:\n%s", width, args, i+1, n, l)
				}
			}
			inFlags := false
			for i, l := range lines {
				if l == "Flags:" {
					inFlags = true
					continue
				}
				if !inFlags || !strings.HasPrefix(l, "  -") {
					continue
				}
				if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], strings.Repeat(" ", flagIndent)) || strings.HasPrefix(strings.TrimSpace(lines[i+1]), "-") {
					t.Errorf("COLUMNS=%d mailscout %q: the description of %q is not indented under it", width, args, strings.TrimSpace(l))
				}
			}
		}
	}
}

// Each command's help says what is true of that command.
func TestHelpTexts(t *testing.T) {
	t.Setenv("COLUMNS", "1000") // one line per paragraph: phrases are not split by wrapping
	_, probeHelp, _ := runCLI("probe", "--help")
	_, discoverHelp, _ := runCLI("discover", "--help")
	for _, want := range []string{
		"until the first complete line of the greeting",
		"Without a port, the standard ports are probed: those of --protocol when it is given (smtp 465 and 587, imap 993 and 143, pop3 995 and 110), else those of all three protocols.",
		"exit 0 when a mode works, but only insecurely",
		"Exit codes: 0 a probed mode is usable",
		"4 the server rejected the credentials, 130 interrupted",
	} {
		if !strings.Contains(probeHelp, want) {
			t.Errorf("probe --help lacks %q", want)
		}
	}
	for _, wrong := range []string{"first byte", "Without a port, --protocol's standard ports are probed", "recommended when nothing safe exists", "(discover:", "default the address"} {
		if strings.Contains(probeHelp, wrong) {
			t.Errorf("probe --help says %q, which is not true of probe", wrong)
		}
	}
	for _, want := range []string{"until the first complete line of the greeting", "be recommended when nothing safe exists",
		"(default: the name autoconfig gives, else the address)", "130 interrupted by Ctrl-C or SIGTERM", "mailscout probe HOST[:PORT]"} {
		if !strings.Contains(discoverHelp, want) {
			t.Errorf("discover --help lacks %q", want)
		}
	}
	_, demoHelp, _ := runCLI("demo", "--help")
	for _, want := range []string{"0 whatever the diagnoses", "with one domain, discover's", "--json writes a JSON array of reports", "130 interrupted"} {
		if !strings.Contains(demoHelp, want) {
			t.Errorf("demo --help lacks %q", want)
		}
	}
	// The flags demo rejects are not offered.
	for _, d := range demoIgnored {
		if strings.Contains(demoHelp, "\n  --"+d.flag+" ") || strings.Contains(demoHelp, "\n  --"+d.flag+"\n") {
			t.Errorf("demo --help lists --%s, which does not apply to the demo world", d.flag)
		}
		if !strings.Contains(discoverHelp, "\n  --"+d.flag) {
			t.Errorf("discover --help lacks --%s", d.flag)
		}
	}
}

func TestVersion(t *testing.T) {
	re := regexp.MustCompile(`^mailscout \S.* \(` + regexp.QuoteMeta(runtime.Version()) + ` \S+/\S+\)\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(args...)
		if code != exitWorks || !re.MatchString(out) || errOut != "" {
			t.Errorf("mailscout %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if v := version(); v == "" {
		t.Error("empty version")
	}
}

// serve's configuration errors are usage errors: exit 2, one "mailscout serve:" prefix naming
// the flag, the way to the help. serve.New is never reached with them.
func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		args []string
		flag string
	}{
		{[]string{"--rate-limit", "-1"}, "--rate-limit"},
		{[]string{"--rate-burst", "0"}, "--rate-burst"},
		{[]string{"--cache-ttl", "0"}, "--cache-ttl"},
		{[]string{"--retention", "0s"}, "--retention"},
		{[]string{"--request-timeout", "-1s"}, "--request-timeout"},
		{[]string{"--client-wait", "0s"}, "--client-wait"},
		{[]string{"--max-concurrent", "0"}, "--max-concurrent"},
		{[]string{"--max-per-client", "0"}, "--max-per-client"},
		{[]string{"--history-per-domain", "0"}, "--history-per-domain"},
		{[]string{"--max-results", "0"}, "--max-results"},
		{[]string{"--cache-entries", "0"}, "--cache-entries"},
		{[]string{"--domains", "a b"}, "--domains"},
		{[]string{"--trust-proxy-headers", "--trusted-proxies", ""}, "--trust-proxy-headers"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--shutdown-timeout", "0s"}, "--shutdown-timeout"},
		{[]string{"--shutdown-timeout", "-1s"}, "--shutdown-timeout"},
		{[]string{"--listen", "127.0.0.1:70000"}, "--listen"},
		{[]string{"--listen", "127.0.0.1"}, "--listen"},
		{[]string{"--listen", "127.0.0.1:http"}, "--listen"},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		set, code := parseServe(tt.args, io.Discard, &errOut)
		msg := errOut.String()
		if set != nil || code != exitUsage {
			t.Errorf("serve %q: exit %d, want %d", tt.args, code, exitUsage)
		}
		if strings.Count(msg, "mailscout serve:") != 1 || strings.Contains(msg, "serve: serve:") || !strings.Contains(msg, tt.flag) ||
			!strings.Contains(msg, "Run 'mailscout serve --help' for usage.") {
			t.Errorf("serve %q: stderr %q; want one prefix, the flag %s and the usage hint", tt.args, msg, tt.flag)
		}
	}
	// The same process exits 2, never 1.
	if code, _, errOut := runCLI("serve", "--max-concurrent", "0", "--listen", "127.0.0.1:0"); code != exitUsage {
		t.Errorf("serve --max-concurrent 0: exit %d, stderr %q", code, errOut)
	}
}

// checkServeConfig accepts exactly what serve.New accepts, for each value the flags can set.
func TestServeConfigCheckMatchesServe(t *testing.T) {
	mutate := map[string]func(*serve.Config){
		"defaults":             func(*serve.Config) {},
		"rate-limit -1":        func(c *serve.Config) { c.RateLimit = -1 },
		"rate-limit 0 burst 0": func(c *serve.Config) { c.RateLimit, c.RateBurst = 0, 0 },
		"rate-burst 0":         func(c *serve.Config) { c.RateBurst = 0 },
		"cache-ttl 0":          func(c *serve.Config) { c.CacheTTL = 0 },
		"retention 0":          func(c *serve.Config) { c.Retention = 0 },
		"request-timeout 0":    func(c *serve.Config) { c.RequestTimeout = 0 },
		"client-wait 0":        func(c *serve.Config) { c.ClientWait = 0 },
		"deadline 0":           func(c *serve.Config) { c.Deadline = 0 },
		"max-concurrent 0":     func(c *serve.Config) { c.MaxConcurrent = 0 },
		"max-per-client 0":     func(c *serve.Config) { c.MaxPerClient = 0 },
		"history 0":            func(c *serve.Config) { c.HistoryPerDomain = 0 },
		"max-results 0":        func(c *serve.Config) { c.MaxResults = 0 },
		"cache-entries 0":      func(c *serve.Config) { c.CacheEntries = 0 },
		"domains a b":          func(c *serve.Config) { c.Domains = []string{"a b"} },
		"domains nodot":        func(c *serve.Config) { c.Domains = []string{"localhost"} },
		"domains ok":           func(c *serve.Config) { c.Domains = []string{"Example.COM", "bücher.example."} },
		"trust no proxies":     func(c *serve.Config) { c.TrustProxyHeaders, c.TrustedProxies = true, nil },
	}
	for name, m := range mutate {
		cfg := serve.DefaultConfig()
		cfg.DB = ""
		cfg.Engine.Resolver = noResolver{}
		m(&cfg)
		mine := cfg
		mine.Domains = append([]string(nil), cfg.Domains...)
		cliErr := checkServeConfig(&mine)
		srv, serveErr := serve.New(cfg)
		if srv != nil {
			srv.Close()
		}
		if (cliErr == nil) != (serveErr == nil) {
			t.Errorf("%s: the CLI says %v, serve.New says %v", name, cliErr, serveErr)
		}
	}
}

// demo accepts a demo domain in any case and an address at one; other names are usage errors.
func TestDemoTarget(t *testing.T) {
	for in, want := range map[string]string{
		"srv.example":          "alice@srv.example",
		"SRV.EXAMPLE":          "alice@srv.example",
		"Guess.Example.":       "alice@guess.example",
		"alice@srv.example":    "alice@srv.example",
		"Bob@Customer.EXAMPLE": "Bob@customer.example",
		"nosuch.example":       "",
		"alice@nosuch.example": "",
		"@srv.example":         "",
		"":                     "",
	} {
		got, ok := demoTarget(in)
		if got != want || ok != (want != "") {
			t.Errorf("demoTarget(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// The flags demo lists nowhere and cannot honour are refused, with the reason, not ignored;
// so are they for batch --demo.
func TestDemoRejectsIgnoredFlags(t *testing.T) {
	values := map[string]string{"proxy": "socks5://127.0.0.1:1", "proxy-password-env": "PW", "resolver": "127.0.0.1:53",
		"ispdb": "https://ispdb.example/", "ca-file": "ca.pem"}
	for _, d := range demoIgnored {
		args := []string{"--" + d.flag}
		if v, ok := values[d.flag]; ok {
			args = append(args, v)
		}
		for _, cmd := range [][]string{{"demo"}, {"batch", "--demo"}} {
			all := append(append(append([]string(nil), cmd...), args...), "srv.example")
			if cmd[0] == "batch" {
				all = append(append(append([]string(nil), cmd...), args...), "/nonexistent-targets.txt")
			}
			code, out, errOut := runCLI(all...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, "--"+d.flag+" does not apply to the demo world: ") {
				t.Errorf("mailscout %q: exit %d, stderr %q; want exit 2 saying why --%s does not apply", all, code, errOut, d.flag)
			}
		}
	}
}

// With several domains, demo's JSON is one JSON array (one document), and the tour exits 0
// whatever the diagnoses; with one domain, one object and discover's exit code.
func TestDemoJSON(t *testing.T) {
	code, out, errOut := runCLI("demo", "--json", "SRV.example", "bob@nomail.example")
	if code != exitWorks {
		t.Fatalf("demo --json with two domains: exit %d, stderr %s", code, errOut)
	}
	var reports []struct {
		Target    string `json:"target"`
		Diagnosis struct {
			Status string `json:"status"`
		} `json:"diagnosis"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("not one JSON array: %v\n%s", err, out)
	}
	if len(reports) != 2 || reports[0].Target != "alice@srv.example" || reports[1].Target != "bob@nomail.example" || reports[1].Diagnosis.Status != "no_mail" {
		t.Errorf("reports: %+v", reports)
	}
	code, out, _ = runCLI("demo", "--json", "nomail.example")
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil || one["target"] != "alice@nomail.example" || code != exitNotWorks {
		t.Errorf("demo --json with one domain: exit %d, %v:\n%s", code, err, out)
	}
	if code, _, errOut := runCLI("demo", "plain.example", "nomail.example"); code != exitWorks {
		t.Errorf("the tour of two unusable domains exits %d, want 0; stderr %s", code, errOut)
	}
	if code, _, errOut := runCLI("demo", "--format", "autoconfig", "srv.example", "guess.example"); code != exitUsage || !strings.Contains(errOut, "one document") {
		t.Errorf("demo --format autoconfig with two domains: exit %d, stderr %q", code, errOut)
	}
}

// batch --summary without --output summarizes the lines written to stdout, which stay pure
// JSON Lines.
func TestBatchSummaryWithoutOutput(t *testing.T) {
	in := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(in, []byte("alice@srv.example\nnot a target!\nnomail.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("batch", "--demo", "--summary", in)
	if code != exitWorks {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("stdout is not JSON Lines: %q", l)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%d lines for 3 inputs", len(lines))
	}
	if !regexp.MustCompile(`(?m)^2 targets, 1 line`).MatchString(errOut) {
		t.Errorf("the summary on stderr does not count 2 targets and 1 other line:\n%s", errOut)
	}
	for _, want := range []string{"Diagnosis:", "no_mail", "ok"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the summary on stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// The hint after a login that was not tried on an untrusted host names the host and the flag,
// right after the diagnosis; --trust-host then logs in.
func TestUntrustedHostHint(t *testing.T) {
	t.Setenv("COLUMNS", "100")
	t.Setenv("PW", "demo-password")
	code, out, errOut := runCLI("demo", "--password-env", "PW", "customer.example")
	if code != exitNotWorks {
		t.Errorf("exit %d, want 1 (no login verified); stderr %s", code, errOut)
	}
	flat := strings.Join(strings.Fields(out), " ")
	hint := "The password was not tried on imap.mailhost.example and smtp.mailhost.example: they are outside customer.example and were named over an untrusted path. If they belong to your provider, run again with --trust-host."
	d, h, r := strings.Index(flat, "Diagnosis (OK)"), strings.Index(flat, hint), strings.Index(flat, "Recommended:")
	if d < 0 || h < 0 || r < 0 || !(d < h && h < r) {
		t.Errorf("want the hint between the diagnosis and the recommendation:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(l) > 100 {
			t.Errorf("line wider than 100: %q", l)
		}
	}
	code, out, _ = runCLI("demo", "--password-env", "PW", "--json", "customer.example")
	if code != exitNotWorks || !json.Valid([]byte(out)) {
		t.Errorf("--json: exit %d; stdout must stay JSON", code)
	}
	code, out, errOut = runCLI("demo", "--password-env", "PW", "--trust-host", "customer.example")
	if code != exitWorks || strings.Contains(out, "was not tried") || !strings.Contains(out, "login OK") {
		t.Errorf("with --trust-host: exit %d, stderr %s\n%s", code, errOut, out)
	}
	// Without credentials nothing was withheld: no hint.
	if _, out, _ := runCLI("demo", "customer.example"); strings.Contains(out, "was not tried") {
		t.Errorf("a hint without credentials:\n%s", out)
	}
}

// Library and Go names stay out of the CLI's sentences; the flag that was given is named.
func TestErrorWording(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		want, dont []string
	}{
		{[]string{"demo", "--format", "autoconfig", "plain.example"}, exitNotWorks,
			[]string{"mailscout demo: no autoconfig written: there is no usable incoming server (IMAP or POP3) and no usable outgoing server (SMTP)"},
			[]string{"clientconfig", "mailscout discover"}},
		{[]string{"demo", "--format", "autoconfig", "broken.example"}, exitNotWorks,
			[]string{"no autoconfig written: there is no usable outgoing server (SMTP); a mail client needs an incoming and an outgoing server."},
			[]string{"clientconfig", "incoming server ("}},
		{[]string{"probe", "--tls-min", "1.0", "host.example:465"}, exitUsage,
			[]string{"--tls-min 1.0 is below 1.2", "add --allow-insecure-tls"}, []string{"AllowInsecureTLS"}},
		{[]string{"discover", "--resolver", "localhost:53", "example.com"}, exitUsage,
			[]string{"the resolver must be an IP address"}, []string{"port from 1 to 65535"}},
		{[]string{"discover", "--resolver", "127.0.0.1:99999", "example.com"}, exitUsage,
			[]string{`--resolver "127.0.0.1:99999": want IP:PORT with a port from 1 to 65535`}, nil},
		{[]string{"demo", "--allow-insecure-tls", "--format", "autoconfig", "oldtls.example"}, exitWorks,
			[]string{"as --allow-insecure-tls asked"}, []string{"as --allow-insecure asked"}},
		{[]string{"demo", "--allow-insecure", "--format", "autoconfig", "guess.example"}, exitWorks,
			nil, []string{"WARNING"}},
		{[]string{"discover", "--json", "--format", "autoconfig", "example.com"}, exitUsage,
			[]string{"--json and --format autoconfig contradict each other"}, nil},
		{[]string{"discover", "127.0.0.1"}, exitUsage,
			[]string{"127.0.0.1 is an IP address, not a domain", "run 'mailscout probe 127.0.0.1'"}, nil},
		{[]string{"discover", "alice@[127.0.0.1]"}, exitUsage, []string{"run 'mailscout probe 127.0.0.1'"}, nil},
		{[]string{"discover", "alice@127.0.0.1"}, exitUsage, []string{"run 'mailscout probe 127.0.0.1'"}, nil},
		{[]string{"discover", "alice@[IPv6:2001:db8::1]"}, exitUsage, []string{"run 'mailscout probe [2001:db8::1]'"}, nil},
		{[]string{"batch", "--demo", "/nonexistent-targets.txt"}, exitNotWorks, []string{"mailscout batch: cannot read the targets"}, []string{"--help"}},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(tt.args...)
		if code != tt.code {
			t.Errorf("mailscout %q: exit %d, want %d; stderr %q", tt.args, code, tt.code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("mailscout %q: stderr lacks %q:\n%s", tt.args, w, errOut)
			}
		}
		for _, d := range tt.dont {
			if strings.Contains(errOut, d) {
				t.Errorf("mailscout %q: stderr says %q:\n%s", tt.args, d, errOut)
			}
		}
	}
}

// A directory as batch input exits 1, like a missing file.
func TestBatchUnreadableInput(t *testing.T) {
	if code, _, errOut := runCLI("batch", "--demo", t.TempDir()); code != exitNotWorks {
		t.Errorf("a directory: exit %d, stderr %q", code, errOut)
	}
}

// interruptAfter starts mailscout in a process of its own, sends SIGINT after wait, and returns
// its exit code, stdout and stderr, and how long it took after the signal.
func interruptAfter(t *testing.T, wait time.Duration, args ...string) (int, string, string, time.Duration) {
	t.Helper()
	cmd := mailscoutProcess(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(cmd.Env, "COLUMNS=100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("mailscout %q did not stop after SIGINT", args)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String(), time.Since(sent)
}

// Ctrl-C during a discovery prints what was learned, marked INCOMPLETE, and exits 130.
func TestInterruptedDiscoveryExits130(t *testing.T) {
	// broken.example has a silent port: with a 30 s greeting timeout its discovery takes about
	// that long, so the signal comes in the middle of it.
	code, out, errOut, took := interruptAfter(t, 2*time.Second, "demo", "--greeting-timeout", "30s", "--deadline", "60s", "broken.example")
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr %s", code, exitInterrupted, errOut)
	}
	if !strings.Contains(out, "Discovery for alice@broken.example") || !strings.Contains(out, "INCOMPLETE") {
		t.Errorf("want the report so far, marked INCOMPLETE:\n%s", out)
	}
	if !strings.Contains(errOut, "mailscout demo: interrupted") {
		t.Errorf("stderr: %q", errOut)
	}
	if took > 10*time.Second {
		t.Errorf("took %v to stop after the signal", took)
	}
}

// Ctrl-C during a probe prints the results and exits 130.
func TestInterruptedProbeExits130(t *testing.T) {
	silent := startSilentServer(t)
	code, out, errOut, _ := interruptAfter(t, 1500*time.Millisecond, "probe", "--protocol", "smtp", "--security", "plain", "--greeting-timeout", "30s", "127.0.0.1:"+strconv.Itoa(silent))
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr %s", code, exitInterrupted, errOut)
	}
	if !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", silent)) || !strings.Contains(errOut, "mailscout probe: interrupted") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// startSilentServer starts a server on loopback that accepts connections and never greets.
func startSilentServer(t *testing.T) int {
	t.Helper()
	s, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Port()
}
