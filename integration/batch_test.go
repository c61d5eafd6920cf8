//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// A batch of a hosting provider's customers against the real servers. Every discovery of a
// batch runs on one engine, so an endpoint that all the customers use is probed once for the
// whole batch, and --per-ip holds for the batch as a whole. What the servers saw is counted by
// the kernel (nftables, in the test's network namespace), not taken from mailscout's report.

// batchCustomers is how many customers of hosting.test the batch has under customers.test
// (c001.customers.test …); customer.test, the scenario of TestRealServers, is one more.
const batchCustomers = 210

// batchPerIP is the batch's --per-ip: connections open at once to one server address.
const batchPerIP = 2

// silentMax is how many probes whose server stays silent mailscout lets stop counting against
// an address's --per-ip (discover/addrinfo.go, extraStalled).
const silentMax = 6

// mailPorts are the ports discovery probes here (no SRV record names another).
var mailPorts = []int{25, 110, 143, 465, 587, 993, 995}

// batchTarget is one input line that names a target, and what the test expects of it.
type batchTarget struct {
	input    string
	customer bool // a customer of hosting.test: its answer is the provider's servers
	// Otherwise, the answer its servers call for: the diagnosis status and, per direction,
	// the configurations that may be recommended ("protocol host:port security"; none: nil).
	status  string
	in, out []string
}

// scenarios are the other tests' domains, with the answers their servers call for.
var scenarios = []batchTarget{
	{input: "alice@srvmail.test", status: discover.StatusOK,
		in: []string{"imap imap.srvmail.test:993 tls"}, out: []string{"smtp mx.srvmail.test:465 tls"}},
	// Two names of one Postfix, both with a valid certificate: equal in every rule, they are
	// ordered by how fast each answered.
	{input: "bob@guessmail.test", status: discover.StatusOK,
		in: []string{"imap imap.guessmail.test:993 tls"}, out: []string{"smtp smtp.guessmail.test:465 tls", "smtp mx.guessmail.test:465 tls"}},
	{input: "dave@autoconf.test", status: discover.StatusOK,
		in: []string{"imap in.cluster7.autoconf.test:993 tls"}, out: []string{"smtp out.autoconf.test:587 starttls"}},
	{input: "erin@expiredcert.test", status: discover.StatusPartial,
		in: nil, out: []string{"smtp mx.expiredcert.test:465 tls"}},
}

// batchInput is the batch's input file: the customers, the other scenarios' domains, blank
// lines, comments and lines that are not targets. It returns the targets and the lines that
// are not targets, by line number (from 1, as input_line counts).
func batchInput() (text string, targets map[int]batchTarget, bad map[int]string) {
	var b strings.Builder
	targets, bad = map[int]batchTarget{}, map[int]string{}
	n := 0
	line := func(s string) int {
		b.WriteString(s + "\n")
		n++
		return n
	}
	line("# Customers of hosting.test: their MX is mx1.hosting.test, and they publish nothing else.")
	for i := 1; i <= batchCustomers; i++ {
		domain := fmt.Sprintf("c%03d.customers.test", i)
		switch {
		case i%10 == 0:
			address := "user" + strconv.Itoa(i) + "@" + domain
			targets[line(address)] = batchTarget{input: address, customer: true}
		case i == 150:
			// Spaces around a target are not part of it.
			targets[line("  "+domain+"\t ")] = batchTarget{input: domain, customer: true}
		default:
			targets[line(domain)] = batchTarget{input: domain, customer: true}
		}
		if i == 100 {
			line("")
			line("   # the second hundred")
		}
	}
	line("")
	line("# The other scenarios' domains, each with servers of its own.")
	targets[line("carol@customer.test")] = batchTarget{input: "carol@customer.test", customer: true}
	for _, s := range scenarios {
		targets[line(s.input)] = s
	}
	line("# Lines that are not targets.")
	for _, s := range []string{"@customers.test", "localhost", "not a domain"} {
		bad[line(s)] = s
	}
	return b.String(), targets, bad
}

// endpoint is what a probe result is shared by: the same protocol, host name, port and
// security is one probe for the whole batch. The host name is part of it (the certificate is
// checked against the name), so one server under two names is two endpoints; a STARTTLS
// probe also yields the plain configuration of its port, from the same connection, and that
// is no endpoint of its own.
type endpoint struct {
	protocol probe.Protocol
	host     string
	port     int
	security probe.Security
}

func (e endpoint) String() string {
	return fmt.Sprintf("%s %s:%d %s", e.protocol, e.host, e.port, e.security)
}

// batchLine is one line of the output: the head the batch adds, and the report or the error.
type batchLine struct {
	Line  int    `json:"input_line"`
	Input string `json:"input"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	report *discover.Report
	raw    string
}

// TestBatchProbesSharedEndpointsOnce runs `mailscout batch` over 200+ customers of one
// hosting provider, a few other domains and a few lines that are not targets: every answer is
// right, every endpoint is probed once in the whole batch and the provider's autoconfig
// document fetched once (counted at the servers), the servers see --per-ip at work, and
// `mailscout summarize` counts what the output holds.
func TestBatchProbesSharedEndpointsOnce(t *testing.T) {
	w := startRealWorld(t)
	text, targets, bad := batchInput()
	in := writeFile(t, "targets.txt", text)
	out := filepath.Join(t.TempDir(), "results.jsonl")
	servers := []string{postfixIP, filteredIP, dropIP, busyIP, dovecotIP, expiredIP, wrongNameIP, legacyIP, nginxIP,
		hostingMXIP, hostingSMTPIP, hostingIMAPIP, hostingWebIP}
	// Counting starts after the servers are up: the checks that they listen are not counted.
	kernel := startConnCounter(t, servers)

	// --allow-private: every server here is on loopback. By default an internal address is
	// allowed only to a domain whose own servers are internal too, so a document fetched from
	// one is that domain's alone and never shared with the rest of the batch (a public
	// provider's is): without the flag, each customer would fetch the provider's document.
	start := time.Now()
	stdout, stderr, code := mailscout(t, "", "batch", "--ca-file", w.ca, "--no-ispdb", "--no-proxy", "--allow-private",
		"--per-ip", strconv.Itoa(batchPerIP), "--progress-json", "--output", out, in)
	wall := time.Since(start)
	seen, maxOpen := kernel.read(t)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("batch of %d targets (%d of them customers of hosting.test) and %d bad lines: %v", len(targets), batchCustomers+1, len(bad), wall)
	fmt.Printf("BENCH integration batch-%d-targets elapsed_ms=%d\n", len(targets), wall.Milliseconds())

	// Every line is one JSON object, for one input line that is a target or a bad line.
	lines := readBatchOutput(t, out)
	got := map[int]*batchLine{}
	for _, l := range lines {
		if got[l.Line] != nil {
			t.Errorf("input line %d answered twice", l.Line)
		}
		got[l.Line] = l
		switch {
		case targets[l.Line].input != "":
			if l.Input != targets[l.Line].input || l.Error != nil || l.report == nil {
				t.Errorf("line %d: input %q error %+v, want a report for %q", l.Line, l.Input, l.Error, targets[l.Line].input)
			}
		case bad[l.Line] != "":
			if l.Input != bad[l.Line] || l.Error == nil || l.Error.Code != "bad_target" || l.Error.Message == "" || l.report != nil {
				t.Errorf("line %d: want a bad_target error for %q: %s", l.Line, bad[l.Line], l.raw)
			}
		default:
			t.Errorf("line %d is a comment or blank, or no line at all: %s", l.Line, l.raw)
		}
	}
	if len(lines) != len(targets)+len(bad) {
		t.Errorf("%d output lines for %d targets and %d bad lines", len(lines), len(targets), len(bad))
	}

	// Every customer's answer is the provider's servers: its IMAP and submission servers,
	// implicit TLS, proven usable. Collected, so that a systematic failure is one message.
	var wrong []string
	for n, tg := range targets {
		l := got[n]
		if !tg.customer || l == nil || l.report == nil {
			continue
		}
		r := l.report
		in, out := r.Recommended.Incoming, r.Recommended.Outgoing
		user := ""
		if strings.Contains(tg.input, "@") {
			user = tg.input // the provider's document says %EMAILADDRESS%
		}
		if r.Diagnosis.Status != discover.StatusOK || len(r.DNS.MX) != 1 || r.DNS.MX[0].Host != "mx1.hosting.test" ||
			!usableChoice(in, probe.IMAP, "imap.hosting.test", 993, probe.TLS) || !usableChoice(out, probe.SMTP, "smtp.hosting.test", 465, probe.TLS) ||
			user != "" && (in.Username != user || out.Username != user) {
			wrong = append(wrong, fmt.Sprintf("%s: %s; incoming %s; outgoing %s", tg.input, r.Diagnosis.Status, choiceString(in), choiceString(out)))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d customers answered wrong, e.g.:\n%s", len(wrong), strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}

	// Where each endpoint the reports name was probed: the address it connected to, or, for a
	// refused connection (which has none), the host's one address in the report's DNS.
	at := map[endpoint]string{}
	refused := 0
	for _, l := range lines {
		if l.report == nil {
			continue
		}
		addrs := map[string][]string{}
		for _, h := range l.report.DNS.Hosts {
			addrs[h.Host] = h.Addresses
		}
		for _, p := range l.report.Probes {
			ep := endpoint{p.Protocol, p.Host, p.Port, p.Security}
			var ap string
			switch {
			case p.Address != "":
				ap = p.Address
			case p.ErrorKind == probe.KindRefused && len(addrs[p.Host]) == 1:
				ap = net.JoinHostPort(addrs[p.Host][0], strconv.Itoa(p.Port))
			default:
				t.Errorf("%s: %s never reached a server (%s %q): nothing here should keep it from one", l.Input, ep, p.ErrorKind, p.Error)
				continue
			}
			if prev, ok := at[ep]; ok && prev != ap {
				t.Errorf("%s at %s and at %s", ep, prev, ap)
			}
			if _, ok := at[ep]; !ok && p.ErrorKind == probe.KindRefused {
				refused++
			}
			at[ep] = ap
		}
	}
	endpoints := map[string][]endpoint{} // address:port → the endpoints probed there
	for ep, ap := range at {
		endpoints[ap] = append(endpoints[ap], ep)
	}

	// What the servers saw. Each endpoint a report names was connected to (or refused) at
	// least once, so new connections equal to the number of endpoints at every address and
	// port means each endpoint was probed exactly once. The provider's endpoints have an
	// address and port each, shared by every customer: there, one connection for the batch.
	var mailSeen int
	for ap, n := range seen {
		host, portStr, _ := net.SplitHostPort(ap)
		port, _ := strconv.Atoi(portStr)
		switch {
		case slices.Contains(mailPorts, port):
			mailSeen += n
			if want := len(endpoints[ap]); n != want {
				t.Errorf("%s: %d new connections, for %d endpoints %v", ap, n, want, endpoints[ap])
			}
		case (host == nginxIP || host == hostingWebIP) && (port == 443 || port == 80):
			// autoconfig fetches: the provider's below; autoconf.test's own are its alone
		default:
			t.Errorf("%s: %d new connections, to nothing discovery should have connected to", ap, n)
		}
	}
	for ap, eps := range endpoints {
		if seen[ap] == 0 {
			t.Errorf("%s: no connection counted, yet the reports probed %v there", ap, eps)
		}
	}
	// Every customer names the same endpoints, all the provider's.
	var provider map[endpoint]bool
	for n, tg := range targets {
		if l := got[n]; tg.customer && l != nil && l.report != nil {
			mine := map[endpoint]bool{}
			for _, p := range l.report.Probes {
				mine[endpoint{p.Protocol, p.Host, p.Port, p.Security}] = true
			}
			if provider == nil {
				provider = mine
			} else if !maps.Equal(mine, provider) {
				t.Errorf("%s probed %v, another customer %v", tg.input, slices.Collect(maps.Keys(mine)), slices.Collect(maps.Keys(provider)))
			}
		}
	}
	var shared []string
	for ep := range provider {
		ap := at[ep]
		if host, _, _ := net.SplitHostPort(ap); !strings.HasSuffix(ep.host, ".hosting.test") || !slices.Contains([]string{hostingMXIP, hostingSMTPIP, hostingIMAPIP}, host) {
			t.Errorf("a customer's probe of %s at %s: not the provider's", ep, ap)
			continue
		}
		shared = append(shared, fmt.Sprintf("%s=%d", ep, seen[ap]))
		if seen[ap] != 1 {
			t.Errorf("%s (used by all %d customers) at %s: %d new connections, want 1", ep, batchCustomers+1, ap, seen[ap])
		}
	}
	slices.Sort(shared)
	t.Logf("new connections per provider endpoint, counted by the kernel: %s", strings.Join(shared, ", "))
	for _, ep := range []endpoint{{probe.IMAP, "imap.hosting.test", 993, probe.TLS}, {probe.SMTP, "smtp.hosting.test", 465, probe.TLS}} {
		if !provider[ep] {
			t.Errorf("%s: not among the customers' probes", ep)
		}
	}
	t.Logf("new connections per address and port: %v", seen)

	// The provider's autoconfig document, named by every customer's MX, is fetched once: one
	// connection to its HTTPS server, one request in nginx's log.
	if n := seen[addr(hostingWebIP, 443)]; n != 1 {
		t.Errorf("autoconfig.hosting.test:443: %d new connections, want 1", n)
	}
	if n := countLines(t, w.hostingAccessLog, "GET /mail/config-v1.1.xml"); n != 1 {
		b, _ := os.ReadFile(w.hostingAccessLog)
		t.Errorf("nginx served the provider's document %d times, want once:\n%s", n, b)
	}

	// Politeness, at the servers. mailscout counts a connection against its address's
	// --per-ip from the connect until 20 ms after it closed it, except while its server stays
	// silent past max(8 round trips, 250 ms): such probes stop counting, at most silentMax of
	// them (README, "Probing, politely"). The kernel counts what a server sees: a connection
	// from its SYN until the server has closed it too. So a server may see more than --per-ip
	// (a TLS handshake a loaded Dovecot takes half a second to answer; a session Postfix is
	// still closing more than 20 ms after mailscout sent QUIT and left without waiting for the
	// answer), but never more than --per-ip + silentMax. That --per-ip were open at once
	// somewhere shows the batch used its budget, and that the kernel's count sees it.
	t.Logf("most connections open at once, per address, counted by the kernel: %v", maxOpen)
	reached := false
	for _, ip := range servers {
		switch n := maxOpen[ip]; {
		case n > batchPerIP+silentMax:
			t.Errorf("%s: %d connections open at once (--per-ip %d, and at most %d silent ones beside)", ip, n, batchPerIP, silentMax)
		case n > batchPerIP:
			t.Logf("%s: the server saw %d connections open at once (--per-ip %d)", ip, n, batchPerIP)
		}
		reached = reached || maxOpen[ip] >= batchPerIP
	}
	if !reached {
		t.Errorf("never %d connections open at once to one address: --per-ip was never reached, or the count does not work", batchPerIP)
	}

	// mailscout's own count agrees with the servers': its connections are the ones that were
	// accepted (not the refused).
	done := doneEvent(t, stderr)
	reported := 0
	for _, l := range lines {
		if l.report != nil {
			reported += l.report.Connections
		}
	}
	t.Logf("engine: %d connections, %d probe results shared; the kernel counted %d new connections to mail ports, %d of them refused", done.Connections, done.SharedHits, mailSeen, refused)
	if done.Done != len(lines) || done.Connections != reported || done.Connections != mailSeen-refused {
		t.Errorf("done event %+v: %d lines, the reports count %d connections, the servers accepted %d", done, len(lines), reported, mailSeen-refused)
	}
	if done.SharedHits == 0 {
		t.Errorf("no probe result answered from the engine's cache")
	}

	// The other domains get the answers their own servers call for.
	for n, tg := range targets {
		if l := got[n]; !tg.customer && l != nil && l.report != nil {
			r := l.report
			if r.Diagnosis.Status != tg.status || !recommends(r.Recommended.Incoming, tg.in) || !recommends(r.Recommended.Outgoing, tg.out) {
				t.Errorf("%s: %s, want %s; incoming one of %q, outgoing one of %q", tg.input, answer(r), tg.status, tg.in, tg.out)
			}
		}
	}

	summarizeMatches(t, out, lines, batchCustomers+1)
}

// summarizeMatches checks `mailscout summarize` against what the output file holds.
func summarizeMatches(t *testing.T, out string, lines []*batchLine, customers int) {
	t.Helper()
	stdout, stderr, code := mailscout(t, "", "summarize", "--json", out)
	var s struct {
		Targets     int            `json:"targets"`
		Errors      int            `json:"errors"`
		Connections int            `json:"connections"`
		ByStatus    map[string]int `json:"by_status"`
		ByProvider  map[string]int `json:"by_provider"`
		TLSVersions map[string]int `json:"tls_versions"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); code != 0 || err != nil {
		t.Fatalf("summarize: exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	var targets, errors, conns, recommended int
	status := map[string]int{}
	for _, l := range lines {
		if l.report == nil {
			errors++
			continue
		}
		targets++
		conns += l.report.Connections
		status[l.report.Diagnosis.Status]++
		for _, c := range []*discover.Choice{l.report.Recommended.Incoming, l.report.Recommended.Outgoing} {
			if c != nil {
				recommended++
			}
		}
	}
	// The provider is the registrable domain of the best MX host. Every recommendation here is
	// of a TLS or STARTTLS configuration, so each is counted under its TLS version.
	wantProviders := map[string]int{"hosting.test": customers, "srvmail.test": 1, "guessmail.test": 1, "autoconf.test": 1, "expiredcert.test": 1}
	tls := 0
	for _, n := range s.TLSVersions {
		tls += n
	}
	if s.Targets != targets || s.Errors != errors || s.Connections != conns || !maps.Equal(s.ByStatus, status) ||
		!maps.Equal(s.ByProvider, wantProviders) || s.ByStatus[discover.StatusOK] < customers ||
		s.TLSVersions["TLS 1.3"] < 2*customers || tls != recommended {
		t.Errorf("summarize: %+v\nwant %d targets, %d errors, %d connections, by status %v, by provider %v, %d recommendations with a TLS version (at least %d TLS 1.3)",
			s, targets, errors, conns, status, wantProviders, recommended, 2*customers)
	}
	// The table says the same to a human.
	table, _, code := mailscoutEnv(t, []string{"COLUMNS=100"}, "", "summarize", out)
	if code != 0 || !tableRow("hosting.test", strconv.Itoa(customers)).MatchString(table) {
		t.Errorf("summarize: exit %d\n%s", code, table)
	}
}

func usableChoice(c *discover.Choice, p probe.Protocol, host string, port int, sec probe.Security) bool {
	return c != nil && c.Protocol == p && c.Host == host && c.Port == port && c.Security == sec && c.Verdict == discover.Usable && c.Verified
}

func choiceString(c *discover.Choice) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s:%d %s %s verified=%v user=%q", c.Protocol, c.Host, c.Port, c.Security, c.Verdict, c.Verified, c.Username)
}

// recommends reports whether c is a usable configuration among want ("protocol host:port
// security"), or c is nil and want is empty.
func recommends(c *discover.Choice, want []string) bool {
	if c == nil {
		return len(want) == 0
	}
	return c.Verdict == discover.Usable && slices.Contains(want, fmt.Sprintf("%s %s:%d %s", c.Protocol, c.Host, c.Port, c.Security))
}

// answer is what a report answers: the diagnosis and the recommendations.
func answer(r *discover.Report) string {
	return fmt.Sprintf("%s; incoming %s; outgoing %s", r.Diagnosis.Status, choiceString(r.Recommended.Incoming), choiceString(r.Recommended.Outgoing))
}

func readBatchOutput(t *testing.T, path string) []*batchLine {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var lines []*batchLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		l := &batchLine{raw: sc.Text()}
		if err := json.Unmarshal(sc.Bytes(), l); err != nil || l.Line == 0 {
			t.Fatalf("output line %d is not a batch line (%v): %s", len(lines)+1, err, sc.Text())
		}
		// The head first, then the discover --json contract (Report decodes itself).
		if !strings.HasPrefix(l.raw, fmt.Sprintf(`{"input_line":%d,"input":`, l.Line)) {
			t.Errorf("line for input line %d does not start with input_line and input: %.80s", l.Line, l.raw)
		}
		if l.Error == nil {
			l.report = &discover.Report{}
			if err := json.Unmarshal(sc.Bytes(), l.report); err != nil {
				t.Fatalf("input line %d: %v: %s", l.Line, err, sc.Text())
			}
		}
		lines = append(lines, l)
	}
	must(t, sc.Err())
	return lines
}

// progressDone is the last event of --progress-json.
type progressDone struct {
	Kind        string `json:"kind"`
	Done        int    `json:"done"`
	Failed      int    `json:"failed"`
	Connections int    `json:"connections"`
	SharedHits  int    `json:"shared_hits"`
}

func doneEvent(t *testing.T, stderr string) progressDone {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		var e progressDone
		if json.Unmarshal([]byte(l), &e) == nil && e.Kind == "done" {
			return e
		}
	}
	t.Fatalf("no done event in --progress-json:\n%s", stderr)
	return progressDone{}
}

// connCounter counts, in the kernel, what arrives at the servers while it runs: new TCP
// connections per address and port (a SYN that starts one, accepted or refused), and per
// server address the most connections to its mail ports open at once. nftables' "ct count"
// holds a connection from its SYN until both sides have closed it (TIME_WAIT) or it is reset:
// until the server is done with it too.
type connCounter struct{ servers []string }

const counterTable = "mailscout-count"

// maxCounted bounds the connections open at once that connCounter tells apart: more than it
// are told as maxCounted + 1.
const maxCounted = batchPerIP + silentMax

func startConnCounter(t *testing.T, servers []string) *connCounter {
	t.Helper()
	var ports []string
	for _, p := range mailPorts {
		ports = append(ports, strconv.Itoa(p))
	}
	// One rule per address and k: its counter counts the new connections that found k or more
	// others open there. The most open at once is 1 + the highest k counted.
	var counters, rules strings.Builder
	for _, ip := range servers {
		for k := 1; k <= maxCounted; k++ {
			name := fmt.Sprintf("over%d_%s", k, strings.ReplaceAll(ip, ".", "_"))
			fmt.Fprintf(&counters, "  counter %s {}\n", name)
			fmt.Fprintf(&rules, "    ip daddr %s tcp dport { %s } tcp flags syn ct state new ct count over %d counter name %q\n", ip, strings.Join(ports, ", "), k, name)
		}
	}
	// Postfix's smtpd asks Dovecot's auth service (port 12345) for SASL: not discovery's.
	conf := fmt.Sprintf(`table inet %s {
  set syn {
    type ipv4_addr . inet_service
    size 65535
    flags dynamic
    counter
  }
%s  chain input {
    type filter hook input priority -10; policy accept;
    tcp flags syn ct state new ip daddr != 127.0.0.1 tcp dport != 12345 add @syn { ip daddr . tcp dport }
%s  }
}
`, counterTable, counters.String(), rules.String())
	run(t, "nft", "-f", writeFile(t, "count.nft", conf))
	t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", counterTable).Run() })
	return &connCounter{servers: servers}
}

// read returns the new connections per "address:port", and per server address the most
// connections open at once (1 where there was one at a time, 0 where there was none).
func (c *connCounter) read(t *testing.T) (seen, maxOpen map[string]int) {
	t.Helper()
	b, err := exec.Command("nft", "-j", "list", "table", "inet", counterTable).Output()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, b)
	}
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string `json:"name"`
				Packets int    `json:"packets"`
			} `json:"counter"`
			Set *struct {
				Name string `json:"name"`
				Elem []struct {
					Elem struct {
						Val struct {
							Concat []any `json:"concat"`
						} `json:"val"`
						Counter struct {
							Packets int `json:"packets"`
						} `json:"counter"`
					} `json:"elem"`
				} `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, b)
	}
	seen, maxOpen = map[string]int{}, map[string]int{}
	counters := 0
	for _, o := range doc.Nftables {
		switch {
		case o.Counter != nil:
			counters++
			var k int
			var ip string
			if _, err := fmt.Sscanf(o.Counter.Name, "over%d_%s", &k, &ip); err != nil {
				t.Fatalf("counter %q: %v", o.Counter.Name, err)
			}
			if ip = strings.ReplaceAll(ip, "_", "."); o.Counter.Packets > 0 && k+1 > maxOpen[ip] {
				maxOpen[ip] = k + 1
			}
		case o.Set != nil && o.Set.Name == "syn":
			for _, e := range o.Set.Elem {
				v := e.Elem.Val.Concat
				ip, _ := v[0].(string)
				port, _ := v[1].(float64)
				seen[addr(ip, int(port))] = e.Elem.Counter.Packets
			}
		}
	}
	if counters != len(c.servers)*maxCounted {
		t.Fatalf("%d nft counters, want %d: %s", counters, len(c.servers)*maxCounted, b)
	}
	for ap, n := range seen {
		host, portStr, _ := net.SplitHostPort(ap)
		port, _ := strconv.Atoi(portStr)
		if n > 0 && maxOpen[host] == 0 && slices.Contains(mailPorts, port) {
			maxOpen[host] = 1
		}
	}
	return seen, maxOpen
}
