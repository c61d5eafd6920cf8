package report

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/batch"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

func render(t *testing.T, r *discover.Report, l Layout) string {
	t.Helper()
	var buf bytes.Buffer
	if err := DiscoverTable(&buf, r, l); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func probeTable(t *testing.T, rs []probe.Result, l Layout) string {
	t.Helper()
	var buf bytes.Buffer
	if err := ProbeTable(&buf, rs, l); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// results are the probes of a report, as probe reports them.
func results(r *discover.Report) []probe.Result {
	var rs []probe.Result
	for _, p := range r.Probes {
		rs = append(rs, p.Result)
	}
	return rs
}

// Every line about a probed mode starts with the mark of what it is: x a failure, ! a mode that
// answered but cannot be used safely, + a usable one. A working configuration never gets x.
func TestProbeLineMarkers(t *testing.T) {
	line := regexp.MustCompile(`^  (.) (smtp|imap|pop3) (\S+) (\S+) \[([^\]]+)\]`)
	for _, name := range names {
		r, _ := loadReport(t, name)
		seen := map[string]bool{}
		for _, l := range strings.Split(render(t, r, Layout{Width: 100, Verbose: true}), "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			i := slices.IndexFunc(r.Probes, func(p discover.Config) bool {
				return string(p.Protocol) == m[2] && hostPort(p.Host, p.Port) == m[3] && string(p.Security) == m[4]
			})
			if i < 0 {
				t.Fatalf("%s: a line for no probe: %s", name, l)
			}
			p := r.Probes[i]
			want := "x"
			switch {
			case p.OK && p.Verdict == discover.Usable:
				want = "+"
			case p.OK:
				want = "!"
			}
			if m[1] != want {
				t.Errorf("%s: %q marks a %s probe (ok %v); want %q", name, l, p.Verdict, p.OK, want)
			}
			seen[m[1]] = true
		}
		if name == "guess" && !(seen["+"] && seen["!"] && seen["x"]) {
			t.Errorf("guess: marks seen %v, want all three", seen)
		}
	}
}

// When the resolver failed, what DNS would have said is unknown: never "none". The failures
// are one line with their count; -v lists each.
func TestDNSFailedIsUnknown(t *testing.T) {
	r, _ := loadReport(t, "dnsfailed")
	if r.Diagnosis.Status != discover.StatusDNSFailed {
		t.Fatalf("fixture status %s", r.Diagnosis.Status)
	}
	out := render(t, r, Layout{Width: 100})
	for _, want := range []string{
		"DNS:      MX unknown (the lookup failed); SRV unknown (the lookups failed); DNSSEC unknown\n",
		"Sources:  23 guessed endpoints, none of them probed\n",
		"  ! [dns_error] 13 DNS lookups failed (6 A, 1 MX, 6 SRV; -v lists each), e.g. DNS MX guess.example:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "[dns_error]"); n != 1 {
		t.Errorf("%d dns_error lines, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "MX none") || strings.Contains(out, "SRV none") {
		t.Errorf("a failed lookup reads as an answer:\n%s", out)
	}
	if n := strings.Count(render(t, r, Layout{Width: 100, Verbose: true}), "[dns_error]"); n != 13 {
		t.Errorf("verbose: %d dns_error lines, want 13", n)
	}

	// One failed SRV lookup among answered ones; a domain that does not exist is an answer.
	ok, _ := loadReport(t, "guess")
	i := slices.IndexFunc(ok.Sources, func(s discover.SourceReport) bool { return s.Kind == discover.SourceSRV })
	ok.Sources[i].OK, ok.Sources[i].Error = false, "DNS SRV x: the resolver did not answer"
	if got := dnsLine(ok, Layout{Width: 100}); got != "MX mx.guess.example (10); SRV unknown (1 of 6 lookups failed, the others found none); DNSSEC unknown" {
		t.Errorf("one SRV lookup failed: %s", got)
	}
	nx := &discover.Report{
		Sources:  []discover.SourceReport{{Kind: discover.SourceMX, Error: "the domain x.example does not exist (NXDOMAIN)"}},
		Warnings: []probe.Warning{{Code: discover.WarnNXDomain}},
	}
	if got := dnsLine(nx, Layout{Width: 100}); got != "MX none; SRV none published; DNSSEC no" {
		t.Errorf("NXDOMAIN: %s", got)
	}
	pending := &discover.Report{Sources: []discover.SourceReport{{Kind: discover.SourceMX}}}
	if got := dnsLine(pending, Layout{Width: 100}); !strings.HasPrefix(got, "MX unknown (the lookup did not finish)") {
		t.Errorf("unfinished: %s", got)
	}
}

// Only the directions asked for are shown: SMTP alone has no incoming line.
func TestRecommendedOnlyDirectionsAsked(t *testing.T) {
	r, _ := loadReport(t, "smtponly")
	out := render(t, r, Layout{Width: 100})
	if strings.Contains(out, "incoming") || !strings.Contains(out, "  outgoing  NONE USABLE") {
		t.Errorf("SMTP only:\n%s", out)
	}
	for _, name := range []string{"guess", "broken", "dnsfailed"} {
		r, _ := loadReport(t, name)
		out := render(t, r, Layout{Width: 100})
		if !strings.Contains(out, "\n  incoming  ") || !strings.Contains(out, "\n  outgoing  ") {
			t.Errorf("%s: both directions were asked:\n%s", name, out)
		}
	}
	// Without SRV lookups to read them from, the diagnosis's sentences say which were asked.
	r.Sources = slices.DeleteFunc(r.Sources, func(s discover.SourceReport) bool { return s.Kind == discover.SourceSRV })
	if in, out := askedDirections(r); in || !out {
		t.Errorf("from the diagnosis: incoming %v outgoing %v", in, out)
	}
}

// The endpoints left out without -v are counted by what they are: the MX host's ports are not
// called guessed host names.
func TestHiddenEndpointsCounted(t *testing.T) {
	for name, want := range map[string]string{
		"guess":    "(8 endpoints refused the connection: 6 on the MX host, 2 guessed; -v lists every probe)\n",
		"customer": "(8 endpoints refused the connection: 6 on the MX host, 2 on the provider's usual host names; -v lists every probe)\n",
		"broken":   "(2 endpoints refused the connection: 1 on the MX host, 1 guessed; -v lists every probe)\n",
	} {
		r, _ := loadReport(t, name)
		if out := render(t, r, Layout{Width: 100, Wide: true}); !strings.HasSuffix(out, want) && !strings.Contains(out, want+"\n") {
			t.Errorf("%s: want %q in:\n%s", name, want, out)
		}
	}
	one := []discover.Config{{Result: probe.Result{ErrorKind: probe.KindDNS}, Sources: []string{discover.SourceGuess}}}
	if got := hiddenWords(one); got != "(1 endpoint does not exist: 1 guessed; -v lists every probe)" {
		t.Errorf("one: %s", got)
	}
	two := append(one, discover.Config{Result: probe.Result{ErrorKind: probe.KindRefused, Host: "a"}, Sources: []string{discover.SourceMX, discover.SourceGuess}},
		discover.Config{Result: probe.Result{ErrorKind: probe.KindRefused, Host: "b"}, Sources: []string{discover.SourceMX}})
	if got := hiddenWords(two); got != "(3 endpoints refused the connection or do not exist: 2 on the MX hosts, 1 guessed; -v lists every probe)" {
		t.Errorf("mixed: %s", got)
	}
}

// The Before TLS column says "-" when the mode learned nothing before TLS (stopped before the
// server answered EHLO/CAPABILITY/CAPA), "none" only when the server answered and offered no
// mechanism.
func TestProbeBeforeTLS(t *testing.T) {
	base := probe.Result{Protocol: probe.SMTP, Host: "mx.example.test", Port: 587, Security: probe.StartTLS,
		Greeting: "220 mx.example.test ESMTP", Capabilities: []string{}, AuthMethods: []string{}, AuthMethodsPlaintext: []string{}}
	for _, tc := range []struct {
		name   string
		change func(*probe.Result)
		want   string
	}{
		{"canceled after the greeting", func(r *probe.Result) { r.ErrorKind = probe.KindCanceled }, "-"},
		{"timed out waiting for EHLO", func(r *probe.Result) { r.ErrorKind = probe.KindTimeout }, "-"},
		{"closed after the greeting", func(r *probe.Result) { r.ErrorKind = probe.KindClosed }, "-"},
		{"no greeting", func(r *probe.Result) { r.Greeting, r.ErrorKind = "", probe.KindGreetingTimeout }, "-"},
		{"STARTTLS offered, no AUTH before TLS", func(r *probe.Result) {
			r.OK, r.StartTLSOffered, r.TLS = true, true, &probe.TLSInfo{Version: "1.3", CertValid: true}
			r.Capabilities, r.AuthMethods = []string{"AUTH PLAIN"}, []string{"PLAIN"}
		}, "none"},
		{"AUTH before TLS", func(r *probe.Result) {
			r.ErrorKind, r.StartTLSOffered, r.AuthMethodsPlaintext = probe.KindStartTLSInjection, true, []string{"PLAIN", "LOGIN"}
		}, "PLAIN LOGIN"},
		{"no STARTTLS offered", func(r *probe.Result) {
			r.ErrorKind, r.Capabilities = probe.KindStartTLSUnavailable, []string{"PIPELINING"}
		}, "none"},
		{"EHLO-less server", func(r *probe.Result) { r.ErrorKind = probe.KindStartTLSUnavailable }, "none"},
	} {
		r := base
		tc.change(&r)
		if got := probeRow(r)[5]; got != tc.want {
			t.Errorf("%s: Before TLS %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A refused login is the server saying no to the credentials, not a broken server: the row
// still shows what the server offers, and the verdict says what happened.
func TestProbeLoginRefused(t *testing.T) {
	refused := probe.Result{Protocol: probe.SMTP, Host: "smtp.example.test", Port: 465, Security: probe.TLS, Address: "192.0.2.1:465",
		ErrorKind: probe.KindAuth, Error: "login: PLAIN login as bob refused: 535 5.7.8 Authentication credentials invalid",
		Greeting: "220 smtp.example.test ESMTP", Capabilities: []string{"AUTH PLAIN LOGIN"}, AuthMethods: []string{"PLAIN", "LOGIN"},
		AuthMethodsPlaintext: []string{}, TLS: &probe.TLSInfo{Version: "1.3", CertValid: true},
		Auth: &probe.AuthResult{Attempted: true, Mechanism: "PLAIN", Username: "bob", Error: "535 5.7.8 Authentication credentials invalid"}}
	broken := probe.Result{Protocol: probe.SMTP, Host: "smtp.example.test", Port: 587, Security: probe.StartTLS, Address: "192.0.2.1:587",
		ErrorKind: probe.KindStartTLSRefused, Error: "STARTTLS: server answered 454 4.7.0 TLS not available",
		Greeting: "220 smtp.example.test ESMTP", Capabilities: []string{"STARTTLS", "AUTH PLAIN"}, StartTLSOffered: true,
		AuthMethods: []string{"PLAIN"}, AuthMethodsPlaintext: []string{"PLAIN"},
		Auth: &probe.AuthResult{Username: "bob", NotAttempted: probe.NotAttemptedUnreachable, Error: "no TLS session"}}
	out := probeTable(t, []probe.Result{refused, broken}, Layout{Width: 120})
	row := regexp.MustCompile(`\| smtp +\| smtp.example.test:465 +\| tls +\| login refused +\| PLAIN LOGIN +\| - +\| 1.3 +\| FAILED \(PLAIN\) +\|`)
	if !row.MatchString(out) {
		t.Errorf("refused login row:\n%s", out)
	}
	// A mode that failed before its final capabilities shows no mechanisms after TLS: the
	// plaintext ones are not what TLS would offer.
	if !regexp.MustCompile(`\| starttls +\| fails +\| - +\| PLAIN +\|`).MatchString(out) {
		t.Errorf("failed STARTTLS row:\n%s", out)
	}
	if !strings.Contains(out, "  x smtp smtp.example.test:465 tls: [auth] login: PLAIN login as bob refused") {
		t.Errorf("the refusal's note:\n%s", out)
	}
	golden(t, "probe_table_login.golden", []byte(probeTable(t, []probe.Result{refused, broken}, Layout{Width: 100})))
}

// Probe tables fit the width like the discovery tables: the endpoint breaks after its host
// name, then after a dot of it, and only when nothing else gives.
func TestProbeTableFits(t *testing.T) {
	rs := loadResults(t)
	out := probeTable(t, rs, Layout{Width: 80})
	checkWidth(t, "probe table at 80", out, 80)
	golden(t, "probe_table_80.golden", []byte(out))
	for _, tc := range []struct {
		ep    string
		width int
		want  string
	}{
		{"smtp.example.test:587", 21, "smtp.example.test:587"},
		{"smtp.example.test:587", 20, "smtp.example.test\n:587"},
		{"smtp.example.test:587", 16, "smtp.example.\ntest:587"},
		{"in.cluster7.autoconf.example:993", 16, "in.cluster7.\nautoconf.example\n:993"},
		{"[2001:db8::1]:993", 13, "[2001:db8::1]\n:993"},
		{"127.0.0.1:25", 10, "127.0.0.1\n:25"},
	} {
		if got := atDots.wrap(tc.ep, tc.width); got != tc.want {
			t.Errorf("%s at %d: %q, want %q", tc.ep, tc.width, got, tc.want)
		}
		if got := strings.Join(endpointPieces(tc.ep), ""); got != tc.ep {
			t.Errorf("%s: pieces give back %q", tc.ep, got)
		}
	}
}

// Transcript lines longer than the width go on under their text; the direction and layer stay
// on the first line, and the server's words are kept as they are.
func TestTranscriptWraps(t *testing.T) {
	long := "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ID IDLE LITERAL+ AUTH=PLAIN AUTH=LOGIN AUTH=OAUTHBEARER] mail.srv.example IMAP4rev1 mailscout-mailsim  ready"
	r := probe.Result{Protocol: probe.IMAP, Host: "mail.srv.example", Port: 993, Security: probe.TLS, Address: "192.0.2.1:993",
		Transcript: []probe.TranscriptLine{
			{At: ms(3.9), Dir: "S", TLS: true, Text: long},
			{At: ms(4.0), Dir: "C", TLS: true, Text: "a1 LOGOUT"},
			{At: ms(4.1), Dir: "S", TLS: true, Text: strings.Repeat("x", 150)},
		},
		Error: "connect: connection refused (nothing listens on that port, or a firewall rejects it)",
	}
	var buf bytes.Buffer
	if err := Transcript(&buf, []probe.Result{r}, Layout{Width: 80}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkWidth(t, "transcript", out, 80)
	golden(t, "transcript_80.golden", buf.Bytes())
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[1], "      3.9ms S tls   * OK [CAPABILITY") || !strings.HasPrefix(lines[2], transcriptIndent+"AUTH=") {
		t.Errorf("continuation:\n%s", out)
	}
	// Joined again, the lines give back the server's words exactly.
	var text []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "      4.0ms") {
			break
		}
		text = append(text, strings.TrimPrefix(strings.TrimPrefix(l, "      3.9ms S tls   "), transcriptIndent))
	}
	if got := strings.Join(text, " "); got != long {
		t.Errorf("rejoined:\n%q\nwant\n%q", got, long)
	}
	buf.Reset()
	Transcript(&buf, []probe.Result{r}, Layout{Width: 80, Wide: true})
	if !strings.Contains(buf.String(), long+"\n") {
		t.Errorf("wide layout broke a line:\n%s", buf.String())
	}
}

// No line of any report is wider than the terminal: every fixture, as a discovery table, with
// and without -v, and its probes as a probe table and a transcript, at 80 and 100 columns.
func TestFixturesFitWidth(t *testing.T) {
	for _, name := range names {
		r, _ := loadReport(t, name)
		for _, width := range []int{80, 100} {
			for _, verbose := range []bool{false, true} {
				l := Layout{Width: width, Verbose: verbose}
				what := fmt.Sprintf("%s at %d (verbose %v)", name, width, verbose)
				checkWidth(t, what, render(t, r, l), width)
				if len(r.Probes) > 0 {
					checkWidth(t, what+" probe table", probeTable(t, results(r), l), width)
				}
			}
		}
	}
}

// The same, for the demo world as it runs now: every demo domain's discovery with its
// transcripts, and every endpoint probed in every mode (demo --probe-all), at 80 and 100.
func TestDemoWorldFitsWidth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo world")
	}
	w, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	o := discover.DefaultOptions()
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.Probe.ConnectTimeout = 500 * time.Millisecond
	o.Probe.GreetingTimeout = 300 * time.Millisecond
	o.Probe.Transcript = true
	o.NoISPDB = true
	ctx := context.Background()
	var reports []*discover.Report
	for _, d := range []string{"srv.example", "guess.example", "customer.example", "autoconf.example", "broken.example", "oldtls.example", "plain.example", "nomail.example"} {
		r, err := discover.Run(ctx, "alice@"+d, o)
		if r == nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	var all []probe.Result
	for _, h := range w.Spec.Hosts {
		for _, s := range h.Services {
			proto, ok := probe.ProtocolForPort(s.Port)
			if !ok {
				continue
			}
			for _, m := range probe.ModesForPort(s.Port) {
				all = append(all, probe.Run(ctx, probe.Target{Protocol: proto, Host: h.Name, Port: s.Port, Security: m}, o.Probe))
			}
		}
	}
	for _, width := range []int{80, 100} {
		for _, verbose := range []bool{false, true} {
			l := Layout{Width: width, Verbose: verbose}
			for _, r := range reports {
				what := fmt.Sprintf("%s at %d (verbose %v)", r.Target, width, verbose)
				checkWidth(t, what, render(t, r, l), width)
				var buf bytes.Buffer
				if err := Transcript(&buf, results(r), l); err != nil {
					t.Fatal(err)
				}
				checkWidth(t, what+" transcript", buf.String(), width)
			}
			checkWidth(t, fmt.Sprintf("probe-all at %d", width), probeTable(t, all, l), width)
			var buf bytes.Buffer
			if err := Transcript(&buf, all, l); err != nil {
				t.Fatal(err)
			}
			checkWidth(t, fmt.Sprintf("probe-all transcript at %d", width), buf.String(), width)
		}
	}
}

// TLS versions are a share of the recommended servers, not of the targets; counts are worded
// in the singular for one.
func TestSummaryShares(t *testing.T) {
	s := batch.Summary{Targets: 10, Errors: 1, Connections: 26, PlaintextOnly: 1, Recommendations: 13,
		ByStatus: map[string]int{"ok": 6, "unusable": 2, "no_mail": 1, "partial": 1}, ByProvider: map[string]int{"srv.example": 10},
		TLSVersions: map[string]int{"TLS 1.3": 11, "TLS 1.2": 2}, CertProblems: map[string]int{"cert_expired": 2}}
	var buf bytes.Buffer
	if err := Summary(&buf, s, Layout{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	golden(t, "summary.golden", buf.Bytes())
	for _, want := range []string{
		"10 targets, 1 line that is not a target, 26 connections; 1 reachable only without encryption\n",
		"TLS of the recommended servers, incoming and outgoing (share of the 13 recommended):",
		"| TLS 1.3 | 11    | 84.6% |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, m := range regexp.MustCompile(`(\d+\.\d)%`).FindAllStringSubmatch(out, -1) {
		if v, _ := strconv.ParseFloat(m[1], 64); v > 100 {
			t.Errorf("a share of %s%%:\n%s", m[1], out)
		}
	}
	if strings.Contains(out, "incomplete") {
		t.Errorf("a warning for a whole file:\n%s", out)
	}
	s.Targets, s.Errors, s.Connections, s.IncompleteLastLine = 1, 2, 1, true
	buf.Reset()
	Summary(&buf, s, Layout{Width: 100})
	if out := buf.String(); !strings.HasPrefix(out, "1 target, 2 lines that are not targets, 1 connection;") ||
		!strings.Contains(out, "warning: the last line is incomplete") {
		t.Errorf("singular, and the incomplete last line:\n%s", out)
	}
}
