//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// TestServeAgainstRealServers runs `mailscout serve`, the built binary, against the real world:
// the API, the SSE stream, /v1/probe and the mail-client documents (autoconfig, Autodiscover,
// Apple profile) name the real Postfix and Dovecot, as `mailscout discover` and `mailscout
// probe` do. Every server here is on loopback, which the service refuses without
// --allow-private: a second service without it answers private_address, and the kernel's
// counters show that it never connected to any server. Both stop on SIGTERM with exit status 0.
func TestServeAgainstRealServers(t *testing.T) {
	w := startRealWorld(t)
	// The engine flags the other tests give discover, and the world's nsd as the resolver.
	engine := []string{"--resolver", "127.0.0.1:53", "--ca-file", w.ca, "--no-ispdb", "--no-proxy"}
	// A mail client's request waits --client-wait (4 s by default) for its discovery; loopback
	// answers in a fraction of that, but a slow moment must not turn into a 504 here: speed is
	// the benchmarks' business.
	svc := startServe(t, append([]string{"--allow-private", "--client-wait", "15s"}, engine...)...)
	const address = "alice@srvmail.test"
	okDiscoveries := 0 // discoveries the service runs (not answers from its cache) that end "ok"

	t.Run("health", func(t *testing.T) {
		code, _, body := svc.get(t, "/healthz", nil)
		var h struct {
			Status   string `json:"status"`
			InFlight *int   `json:"discoveries_in_flight"`
		}
		if err := json.Unmarshal(body, &h); code != 200 || err != nil || h.Status != "ok" || h.InFlight == nil {
			t.Errorf("/healthz: %d %s", code, body)
		}
	})

	var apiReport *discover.Report
	t.Run("api-discover", func(t *testing.T) {
		start := time.Now()
		code, hdr, body := svc.get(t, "/v1/discover?target="+address, nil)
		t.Logf("GET /v1/discover?target=%s: %d in %v", address, code, time.Since(start).Round(time.Millisecond))
		okDiscoveries++
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s\n%s", code, hdr.Get("Content-Type"), body)
		}
		r := discoverJSONFrom(t, string(body))
		apiReport = r
		in, out := r.Recommended.Incoming, r.Recommended.Outgoing
		if r.Target != address || r.Diagnosis.Status != discover.StatusOK || !r.Complete ||
			!usableChoice(in, probe.IMAP, "imap.srvmail.test", 993, probe.TLS) || !usableChoice(out, probe.SMTP, "mx.srvmail.test", 465, probe.TLS) ||
			in.Username != address || out.Username != address {
			t.Errorf("%s; configs %q", answer(r), summary(r))
		}
		// What TestRealServers/srv-published finds with `discover`, ranks and mechanisms alike.
		want := []string{
			"smtp mx.srvmail.test:465 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"smtp mx.srvmail.test:587 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"imap imap.srvmail.test:993 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"imap imap.srvmail.test:143 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"pop3 imap.srvmail.test:995 tls #1 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
			"pop3 imap.srvmail.test:110 starttls #2 PLAIN,LOGIN,CRAM-MD5,SCRAM-SHA-256",
		}
		if got := summary(r); !slices.Equal(got, want) {
			t.Errorf("configs:\n%q\nwant:\n%q", got, want)
		}
		if c := config(r, probe.IMAP, "imap.srvmail.test", 993, probe.TLS); c == nil || c.TLS == nil || c.TLS.CertSubject != "CN=imap.srvmail.test" ||
			!strings.Contains(c.Greeting, "Dovecot") || len(c.Transcript) != 0 {
			t.Errorf("imap 993 (no transcript unless asked): %+v", c)
		}

		// The body is the discover --json contract: the same fields as the CLI's, and the same
		// answer for the same target.
		cliOut, cliErr, cliCode := mailscout(t, "", "discover", "--json", "--ca-file", w.ca, "--no-ispdb", "--no-proxy", address)
		var api, cli map[string]any
		if err := json.Unmarshal(body, &api); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(cliOut), &cli); err != nil {
			t.Fatalf("discover --json: exit %d, %v\n%s\n%s", cliCode, err, cliOut, cliErr)
		}
		if a, c := slices.Sorted(maps.Keys(api)), slices.Sorted(maps.Keys(cli)); cliCode != 0 || !slices.Equal(a, c) {
			t.Errorf("fields: the service's %q, discover --json's %q (exit %d)", a, c, cliCode)
		}
		for _, field := range []string{"recommended", "nearest", "target", "domain"} {
			if !reflect.DeepEqual(api[field], cli[field]) {
				t.Errorf("%s: the service says %v, discover --json %v", field, api[field], cli[field])
			}
		}
		if got, want := summary(discoverJSONFrom(t, cliOut)), summary(r); !slices.Equal(got, want) {
			t.Errorf("discover --json configs %q, the service's %q", got, want)
		}

		// The result is stored: /v1/results/ID is the same report again.
		id := hdr.Get("X-Mailscout-Result")
		code, _, again := svc.get(t, "/v1/results/"+id, nil)
		if id == "" || code != 200 || !bytes.Equal(again, body) {
			t.Errorf("X-Mailscout-Result %q: /v1/results: %d\n%s", id, code, again)
		}
	})

	t.Run("api-discover-stream", func(t *testing.T) {
		// Another scenario's domain, hosted behind its provider's MX, with the provider's
		// autoconfig file served by nginx: a discovery of its own, so progress is live.
		const target = "carol@customer.test"
		start := time.Now()
		code, hdr, body := svc.get(t, "/v1/discover/stream?target="+target, nil)
		t.Logf("GET /v1/discover/stream?target=%s: %d in %v", target, code, time.Since(start).Round(time.Millisecond))
		okDiscoveries++
		events := parseSSE(t, body)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/event-stream") || len(events) < 3 {
			t.Fatalf("%d %s, %d events\n%s", code, hdr.Get("Content-Type"), len(events), body)
		}
		var kinds []string
		probes, sources := 0, 0
		var totals []int
		for i, e := range events[:len(events)-2] {
			if e.event != "progress" {
				t.Errorf("event %d is %q before the report", i+1, e.event)
				continue
			}
			var ev discover.Event
			if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
				t.Fatalf("progress event %d: %v: %s", i+1, err, e.data)
			}
			kinds = append(kinds, string(ev.Kind))
			totals = append(totals, ev.Total)
			switch {
			case ev.Kind == discover.EventSource:
				sources++
			case ev.Kind == discover.EventProbe && ev.OK && ev.Host != "" && ev.Port != 0:
				probes++
			}
		}
		t.Logf("%d progress events (%d sources, %d successful probes); totals as they came: %v", len(events)-2, sources, probes, totals)
		if sources == 0 || probes == 0 {
			t.Errorf("progress events %q: want sources and successful probes", kinds)
		}
		for i, e := range events {
			if e.id != strconv.Itoa(i+1) {
				t.Errorf("event %d has id %q", i+1, e.id)
			}
		}
		rep, done := events[len(events)-2], events[len(events)-1]
		if rep.event != "report" || done.event != "done" {
			t.Fatalf("the last events are %q and %q, want report and done", rep.event, done.event)
		}
		r := discoverJSONFrom(t, rep.data)
		if r.Target != target || r.Diagnosis.Status != discover.StatusOK ||
			!usableChoice(r.Recommended.Incoming, probe.IMAP, "imap.hosting.test", 993, probe.TLS) ||
			!usableChoice(r.Recommended.Outgoing, probe.SMTP, "smtp.hosting.test", 465, probe.TLS) {
			t.Errorf("report: %s", answer(r))
		}
		var d struct{ ID, Permalink string }
		if err := json.Unmarshal([]byte(done.data), &d); err != nil || d.ID == "" || d.Permalink != "/r/"+d.ID {
			t.Errorf("done: %v %s", err, done.data)
		}
		if code, _, stored := svc.get(t, "/v1/results/"+d.ID, nil); code != 200 || discoverJSONFrom(t, string(stored)).Target != target {
			t.Errorf("/v1/results/%s: %d", d.ID, code)
		}
	})

	t.Run("api-probe", func(t *testing.T) {
		const endpoint = "imap.srvmail.test:993"
		code, _, body := svc.get(t, "/v1/probe?endpoint="+endpoint, nil)
		var doc struct {
			Results []probeResult `json:"results"`
		}
		if err := json.Unmarshal(body, &doc); code != 200 || err != nil || len(doc.Results) != 1 {
			t.Fatalf("%d %v\n%s", code, err, body)
		}
		p := doc.Results[0]
		if !p.OK || p.Protocol != probe.IMAP || p.Security != probe.TLS || p.Address != addr(dovecotIP, 993) ||
			p.TLS == nil || !p.TLS.CertValid || p.TLS.Version != "1.3" || p.TLS.CertSubject != "CN=imap.srvmail.test" ||
			!strings.Contains(p.Greeting, "Dovecot") || p.Verdict != discover.Usable {
			t.Errorf("%+v", p)
		}
		// probe --json says the same of the same endpoint.
		rs, cliCode := probeJSON(t, "--ca-file", w.ca, "--no-proxy", endpoint)
		if cliCode != 0 || len(rs) != 1 || rs[0].Verdict != p.Verdict || !slices.Equal(rs[0].AuthMethods, p.AuthMethods) ||
			rs[0].TLS == nil || rs[0].TLS.Version != p.TLS.Version || rs[0].TLS.CertSubject != p.TLS.CertSubject {
			t.Errorf("probe --json: exit %d %+v\nthe service's: %+v", cliCode, rs, p)
		}
	})

	// The mail-client documents come from one fast discovery of the bare domain, which the
	// first request runs and the others find in the cache.
	t.Run("autoconfig", func(t *testing.T) {
		start := time.Now()
		code, hdr, body := svc.get(t, "/mail/config-v1.1.xml?emailaddress="+address, nil)
		t.Logf("GET /mail/config-v1.1.xml (a fresh fast discovery of srvmail.test): %d in %v", code, time.Since(start).Round(time.Millisecond))
		okDiscoveries++
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/xml") {
			t.Fatalf("%d %s\n%s", code, hdr.Get("Content-Type"), body)
		}
		in, out := parseClientConfig(t, body, "srvmail.test")
		// Only the recommended server of each kind: the discovery was fast.
		if want := []acServer{{"imap", "imap.srvmail.test", 993, "SSL", "%EMAILADDRESS%"}}; !slices.Equal(in, want) {
			t.Errorf("incoming %+v, want %+v\n%s", in, want, body)
		}
		if want := []acServer{{"smtp", "mx.srvmail.test", 465, "SSL", "%EMAILADDRESS%"}}; !slices.Equal(out, want) {
			t.Errorf("outgoing %+v, want %+v\n%s", out, want, body)
		}
		// The servers /v1/discover recommends for an address of the domain.
		if r := apiReport; r != nil && len(in) > 0 && len(out) > 0 {
			ri, ro := r.Recommended.Incoming, r.Recommended.Outgoing
			if ri == nil || ro == nil || ri.Host != in[0].Hostname || ri.Port != in[0].Port || ro.Host != out[0].Hostname || ro.Port != out[0].Port {
				t.Errorf("autoconfig names %+v / %+v, /v1/discover recommends %s", in[0], out[0], answer(r))
			}
		}
		if !strings.Contains(string(body), "<authentication>password-cleartext</authentication>") {
			t.Errorf("no password-cleartext authentication:\n%s", body)
		}

		// The well-known path on the domain's own web site: the same document.
		code, _, wk := svc.get(t, wellKnownPath+"?emailaddress="+address, nil)
		if code != 200 || !bytes.Equal(wk, body) {
			t.Errorf("%s: %d\n%s", wellKnownPath, code, wk)
		}
	})

	t.Run("autodiscover", func(t *testing.T) {
		req := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + address + `</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
		// Outlook's capitalisation of the path.
		code, hdr, body := svc.post(t, "/Autodiscover/Autodiscover.xml", "text/xml", req)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
			t.Fatalf("%d %s\n%s", code, hdr.Get("Content-Type"), body)
		}
		doc := parseAutodiscover(t, body)
		if doc.Response.XMLName.Space != "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a" ||
			doc.Response.Error != nil || doc.Response.Account.AccountType != "email" || doc.Response.Account.Action != "settings" {
			t.Errorf("not a 2006a settings response:\n%s", body)
		}
		want := []adProtocol{
			{"IMAP", "imap.srvmail.test", 993, address, "on", "SSL"},
			{"SMTP", "mx.srvmail.test", 465, address, "on", "SSL"},
		}
		if got := doc.Response.Account.Protocol; !slices.Equal(got, want) {
			t.Errorf("protocols %+v, want %+v\n%s", got, want, body)
		}
	})

	t.Run("mobileconfig", func(t *testing.T) {
		code, hdr, body := svc.get(t, "/v1/profile.mobileconfig?emailaddress="+address, nil)
		if code != 200 || hdr.Get("Content-Type") != "application/x-apple-aspen-config" || !strings.Contains(hdr.Get("Content-Disposition"), "srvmail.test.mobileconfig") {
			t.Fatalf("%d %s %s\n%s", code, hdr.Get("Content-Type"), hdr.Get("Content-Disposition"), body)
		}
		kv := plistValues(body)
		for k, v := range map[string]string{
			"PayloadType": "com.apple.mail.managed", "EmailAccountType": "EmailTypeIMAP", "EmailAddress": address,
			"IncomingMailServerHostName": "imap.srvmail.test", "IncomingMailServerPortNumber": "993", "IncomingMailServerUseSSL": "true",
			"IncomingMailServerUsername": address, "IncomingMailServerAuthentication": "EmailAuthPassword",
			"OutgoingMailServerHostName": "mx.srvmail.test", "OutgoingMailServerPortNumber": "465", "OutgoingMailServerUseSSL": "true",
			"OutgoingMailServerUsername": address,
		} {
			if !slices.Contains(kv[k], v) {
				t.Errorf("%s: %q, want %q", k, kv[k], v)
			}
		}
		// No password: Mail asks for it when the profile is installed.
		if kv["IncomingPassword"] != nil || kv["OutgoingPassword"] != nil || !slices.Equal(kv["OutgoingPasswordSameAsIncomingPassword"], []string{"true"}) {
			t.Errorf("passwords in the profile: %q %q %q", kv["IncomingPassword"], kv["OutgoingPassword"], kv["OutgoingPasswordSameAsIncomingPassword"])
		}
	})

	t.Run("autoconfig-by-host-from-nginx", func(t *testing.T) {
		// Thunderbird for Android sends no address: the domain is the Host's. autoconf.test's
		// own autoconfig file (nginx) names the servers, with its templates, which a document
		// for every user of the domain passes on.
		code, _, body := svc.get(t, "/mail/config-v1.1.xml", map[string]string{"Host": "autoconfig.autoconf.test"})
		okDiscoveries++
		if code != 200 {
			t.Fatalf("%d\n%s", code, body)
		}
		in, out := parseClientConfig(t, body, "autoconf.test")
		if want := []acServer{{"imap", "in.cluster7.autoconf.test", 993, "SSL", "%EMAILLOCALPART%"}}; !slices.Equal(in, want) {
			t.Errorf("incoming %+v, want %+v\n%s", in, want, body)
		}
		if want := []acServer{{"smtp", "out.autoconf.test", 587, "STARTTLS", "%EMAILLOCALPART%"}}; !slices.Equal(out, want) {
			t.Errorf("outgoing %+v, want %+v\n%s", out, want, body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, hdr, body := svc.get(t, "/metrics", nil)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Fatalf("%d %s", code, hdr.Get("Content-Type"))
		}
		m := parseMetrics(body)
		// The discoveries above, each run once: the well-known path, Autodiscover and the
		// profile were answered from the autoconfig request's discovery.
		for name, want := range map[string]float64{
			`mailscout_discoveries_total{status="ok"}`:                       float64(okDiscoveries),
			`mailscout_discoveries_total{status="private_address"}`:          0,
			`mailscout_cache_hits_total`:                                     3,
			`mailscout_discoveries_in_flight`:                                0,
			`mailscout_http_requests_total{code="200",route="autodiscover"}`: 1,
			`mailscout_http_requests_total{code="200",route="autoconfig"}`:   3,
		} {
			if got, ok := m[name]; !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
			}
		}
		if m[`mailscout_probes_total{error_kind="none"}`] == 0 || m[`mailscout_discovery_duration_seconds_count`] != float64(okDiscoveries) {
			t.Errorf("probes and durations not counted:\n%s", grepLines(body, "mailscout_"))
		}
	})

	t.Run("sigterm", func(t *testing.T) { svc.stop(t) })

	// The same service without --allow-private, as it runs where strangers can reach it: every
	// server of the world is on loopback, so it refuses, and connects to none of them.
	t.Run("private-refused", func(t *testing.T) {
		servers := []string{postfixIP, filteredIP, dropIP, busyIP, dovecotIP, expiredIP, wrongNameIP, legacyIP, nginxIP,
			hostingMXIP, hostingSMTPIP, hostingIMAPIP, hostingWebIP}
		kernel := startConnCounter(t, servers)
		strict := startServe(t, engine...)

		for _, target := range []string{address, "carol@customer.test"} {
			code, _, body := strict.get(t, "/v1/discover?target="+target, nil)
			if e := apiError(body); code != 403 || e != "private_address" {
				t.Errorf("/v1/discover?target=%s: %d %s", target, code, body)
			}
		}
		for _, endpoint := range []string{"imap.srvmail.test:993", "mx.srvmail.test:465", addr(dovecotIP, 993)} {
			code, _, body := strict.get(t, "/v1/probe?endpoint="+endpoint, nil)
			if e := apiError(body); code != 403 || e != "private_address" {
				t.Errorf("/v1/probe?endpoint=%s: %d %s", endpoint, code, body)
			}
		}
		code, _, body := strict.get(t, "/v1/discover/stream?target=bob@srvmail.test", nil)
		if events := parseSSE(t, body); code != 200 || len(events) == 0 || events[len(events)-1].event != "error" || apiError([]byte(events[len(events)-1].data)) != "private_address" {
			t.Errorf("/v1/discover/stream: %d\n%s", code, body)
		}
		code, _, body = strict.get(t, "/mail/config-v1.1.xml?emailaddress="+address, nil)
		if e := apiError(body); code != 403 || e != "private_address" {
			t.Errorf("autoconfig: %d %s", code, body)
		}
		code, _, body = strict.post(t, "/autodiscover/autodiscover.xml", "text/xml",
			`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>carol@customer.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`)
		if doc := parseAutodiscover(t, body); code != 200 || doc.Response.Error == nil || doc.Response.Error.ErrorCode != 501 || len(doc.Response.Account.Protocol) != 0 {
			t.Errorf("autodiscover: %d\n%s", code, body)
		}

		// The kernel saw no connection to any server, the web server included.
		seen, _ := kernel.read(t)
		if len(seen) != 0 {
			t.Errorf("without --allow-private the service connected to the servers: new connections %v", seen)
		}
		// Its own count says the same: every discovery refused, every probe not allowed.
		_, _, mbody := strict.get(t, "/metrics", nil)
		m := parseMetrics(mbody)
		if m[`mailscout_discoveries_total{status="private_address"}`] != 5 || m[`mailscout_discoveries_total{status="ok"}`] != 0 ||
			m[`mailscout_probes_total{error_kind="not_allowed"}`] == 0 {
			t.Errorf("metrics:\n%s", grepLines(mbody, "mailscout_discoveries_total", "mailscout_probes_total"))
		}
		for name := range m {
			if strings.HasPrefix(name, "mailscout_probes_total{") && name != `mailscout_probes_total{error_kind="not_allowed"}` {
				t.Errorf("a probe that was not refused: %s", name)
			}
		}
		strict.stop(t)

		// The count can fail: one probe from the command line is one new connection to Dovecot.
		if rs, code := probeJSON(t, "--ca-file", w.ca, "--no-proxy", "imap.srvmail.test:993"); code != 0 || !rs[0].OK {
			t.Fatalf("probe: exit %d %+v", code, rs)
		}
		if seen, _ := kernel.read(t); !maps.Equal(seen, map[string]int{addr(dovecotIP, 993): 1}) {
			t.Errorf("after one probe of imap.srvmail.test:993 the kernel counted %v", seen)
		}
	})
}

const wellKnownPath = "/.well-known/autoconfig/mail/config-v1.1.xml"

// served is one `mailscout serve` process.
type served struct {
	cmd     *exec.Cmd
	url     string
	mu      sync.Mutex
	stderr  bytes.Buffer  // stderr, and stdout if anything comes there
	exited  chan struct{} // closed once the process has exited
	waitErr error
	client  *http.Client
}

var listeningRE = regexp.MustCompile(`^mailscout serve: listening on (http://\S+)$`)

// startServe starts `mailscout serve --listen 127.0.0.1:0 --db ""` with args, learns its URL
// from stderr, and kills it when the test ends if it still runs.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0", "--db", ""}, args...)...)
	cmd.Env = append(cmd.Environ(), "ALL_PROXY=")
	s := &served{cmd: cmd, exited: make(chan struct{}),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}}
	pipe, err := cmd.StderrPipe()
	must(t, err)
	cmd.Stdout = s // nothing is expected there; kept with stderr if it comes
	must(t, cmd.Start())
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.Write([]byte(sc.Text() + "\n"))
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("mailscout serve %s output:\n%s", strings.Join(args, " "), s.output())
		}
	})
	select {
	case s.url = <-urls:
	case <-s.exited:
		t.Fatalf("mailscout serve exited (%v) before it listened:\n%s", s.waitErr, s.output())
	case <-time.After(10 * time.Second):
		t.Fatalf("mailscout serve did not say where it listens:\n%s", s.output())
	}
	return s
}

// Write keeps what the process wrote, from the stderr reader and exec's stdout copier alike.
func (s *served) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *served) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *served) do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, body
}

// get requests path; headers may set Host.
func (s *served) get(t *testing.T, path string, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	must(t, err)
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	return s.do(t, req)
}

func (s *served) post(t *testing.T, path, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", contentType)
	return s.do(t, req)
}

// stop sends SIGTERM and expects a clean exit (status 0) well within --shutdown-timeout.
func (s *served) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	must(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("mailscout serve still runs 15 s after SIGTERM:\n%s", s.output())
	}
	t.Logf("mailscout serve stopped %v after SIGTERM: %v", time.Since(start).Round(time.Millisecond), s.cmd.ProcessState)
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(s.output(), "shutting down") {
		t.Errorf("after SIGTERM: exit status %d (%v)\n%s", code, s.waitErr, s.output())
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

// parseSSE reads a complete event stream; comment lines (keep-alives) are skipped.
func parseSSE(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" || cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.id = line[len("id: "):]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if cur.data != "" {
				t.Errorf("an event's data on more than one line: %.200s", line)
			}
			cur.data = line[len("data: "):]
		default:
			t.Errorf("not an event stream line: %.200s", line)
		}
	}
	must(t, sc.Err())
	if cur.event != "" || cur.data != "" {
		t.Errorf("the stream ends inside an event: %+v", cur)
	}
	return out
}

// acServer is one server of a clientConfig document, as a mail client reads it.
type acServer struct {
	Type       string `xml:"type,attr"`
	Hostname   string `xml:"hostname"`
	Port       int    `xml:"port"`
	SocketType string `xml:"socketType"`
	Username   string `xml:"username"`
}

// parseClientConfig reads a clientConfig v1.1 document for domain and returns its servers.
func parseClientConfig(t *testing.T, body []byte, domain string) (in, out []acServer) {
	t.Helper()
	var doc struct {
		XMLName  xml.Name `xml:"clientConfig"`
		Version  string   `xml:"version,attr"`
		Provider struct {
			ID       string     `xml:"id,attr"`
			Domain   []string   `xml:"domain"`
			Incoming []acServer `xml:"incomingServer"`
			Outgoing []acServer `xml:"outgoingServer"`
		} `xml:"emailProvider"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not a clientConfig document: %v\n%s", err, body)
	}
	if doc.Version != "1.1" || doc.Provider.ID != domain || !slices.Contains(doc.Provider.Domain, domain) {
		t.Errorf("clientConfig version %q, provider %q, domains %q; want 1.1 for %s", doc.Version, doc.Provider.ID, doc.Provider.Domain, domain)
	}
	return doc.Provider.Incoming, doc.Provider.Outgoing
}

// adProtocol is what a client takes from one Protocol element of a 2006a response.
type adProtocol struct {
	Type       string `xml:"Type"`
	Server     string `xml:"Server"`
	Port       int    `xml:"Port"`
	LoginName  string `xml:"LoginName"`
	SSL        string `xml:"SSL"`
	Encryption string `xml:"Encryption"`
}

type autodiscoverDoc struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name
		Error   *struct {
			ErrorCode int    `xml:"ErrorCode"`
			Message   string `xml:"Message"`
		} `xml:"Error"`
		Account struct {
			AccountType string       `xml:"AccountType"`
			Action      string       `xml:"Action"`
			Protocol    []adProtocol `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

func parseAutodiscover(t *testing.T, body []byte) *autodiscoverDoc {
	t.Helper()
	var doc autodiscoverDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not an Autodiscover document: %v\n%s", err, body)
	}
	return &doc
}

var plistRE = regexp.MustCompile(`<key>(\w+)</key>\s*(?:<(?:string|integer)>([^<]*)</(?:string|integer)>|<(true|false)/>)`)

// plistValues are the scalar values of a property list by key, wherever they are in it.
func plistValues(body []byte) map[string][]string {
	kv := map[string][]string{}
	for _, m := range plistRE.FindAllSubmatch(body, -1) {
		v := string(m[2]) + string(m[3])
		kv[string(m[1])] = append(kv[string(m[1])], v)
	}
	return kv
}

// parseMetrics reads the samples of the Prometheus text format: "name{labels}" → value.
func parseMetrics(body []byte) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); i > 0 && err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

func grepLines(body []byte, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// apiError is the code of an API error body, "" for anything else.
func apiError(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}
