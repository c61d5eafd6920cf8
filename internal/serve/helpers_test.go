package serve

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// The test world. Its hosts have TEST-NET (documentation) addresses unless said otherwise, so
// the service's default policy refuses them; tests of the policy itself use the domains below
// whose logical addresses are public. Every address is logical: the world's network maps it to
// a loopback listener, and nothing is ever sent anywhere but 127.0.0.0/8.
const (
	domGood     = "good.example"     // IMAP 993, POP3 995, SMTP 465 and 587: works
	domHostile  = "hostile.example"  // works, and its IMAP greeting is markup
	domSlow     = "slow.example"     // works, slowly: every server waits before its greeting
	domSlower   = "slower.example"   // works, more slowly: long enough to watch the progress in a browser
	domNothing  = "nothing.example"  // one SMTP relay without AUTH: nothing usable
	domPublic   = "public.example"   // works, on public logical addresses; its autoconfig redirects inside
	domInternal = "internal.example" // every server on loopback and private logical addresses
	domHosted   = "hosted.example"   // wildcard: <anything>.hosted.example is a customer of mx.provider.example
	domCorp     = "corp.example"     // its autoconfig's usernames are %EMAILLOCALPART%.corp
	domBusy     = "busy.example"     // mail.busy.example: IMAP 993 and 143, slow to greet; only TestProbePerIP uses it
	domMixed    = "mixed.example"    // IMAP 993 and SMTP 465 work; POP3 only on 110 without TLS (insecure)
	domHalf     = "half.example"     // IMAP 993 works; SMTP 587 offers no login: nothing usable outgoing
	xssGreeting = "<script>alert(1)</script> ready"
)

func testSpec() mailsim.WorldSpec {
	plain := []string{"PLAIN", "LOGIN"}
	imaps := mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: plain}
	pop3s := mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.TLS, AuthAfterTLS: []string{"PLAIN"}}
	smtps := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: plain}
	sub := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: plain}
	delay := func(c mailsim.Config, d time.Duration) mailsim.Config { c.GreetingDelay = d; return c }
	slow := func(c mailsim.Config) mailsim.Config { return delay(c, 250*time.Millisecond) }
	hostile := imaps
	hostile.Greeting = xssGreeting
	return mailsim.WorldSpec{
		Users: map[string]string{"alice@" + domGood: "demo-password"},
		Zones: []mailsim.Zone{
			{Domain: domGood, MX: []mailsim.MX{{Host: "mx." + domGood, Preference: 10}}},
			{Domain: domHostile, MX: []mailsim.MX{{Host: "mx." + domHostile, Preference: 10}}},
			{Domain: domSlow, MX: []mailsim.MX{{Host: "mx." + domSlow, Preference: 10}}},
			{Domain: domSlower, MX: []mailsim.MX{{Host: "mx." + domSlower, Preference: 10}}},
			{Domain: domNothing, MX: []mailsim.MX{{Host: "mail." + domNothing, Preference: 10}}},
			{Domain: domPublic, MX: []mailsim.MX{{Host: "mail." + domPublic, Preference: 10}}},
			{Domain: domInternal, MX: []mailsim.MX{{Host: "mail." + domInternal, Preference: 10}}},
			{Domain: "inside.example"},
			{Domain: "provider.example"},
			{Domain: domHosted, WildcardMX: []mailsim.MX{{Host: "mx.provider.example", Preference: 10}}},
			{Domain: domCorp, MX: []mailsim.MX{{Host: "mx." + domCorp, Preference: 10}}},
			{Domain: domBusy, MX: []mailsim.MX{{Host: "mail." + domBusy, Preference: 10}}},
			{Domain: domMixed, MX: []mailsim.MX{{Host: "mx." + domMixed, Preference: 10}}},
			{Domain: domHalf, MX: []mailsim.MX{{Host: "mx." + domHalf, Preference: 10}}},
		},
		Web: []mailsim.WebFile{
			{URL: "https://autoconfig." + domPublic + "/mail/config-v1.1.xml", Redirect: "https://autoconfig.inside.example/mail/config-v1.1.xml"},
			{URL: "https://autoconfig.inside.example/mail/config-v1.1.xml", Body: "<clientConfig/>"},
			{URL: "https://autoconfig." + domCorp + "/mail/config-v1.1.xml", Body: corpAutoconfig},
		},
		Hosts: []mailsim.Host{
			{Name: "mx." + domGood},
			{Name: "imap." + domGood, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "pop." + domGood, Services: []mailsim.Service{{Port: 995, Config: pop3s}}},
			{Name: "smtp." + domGood, Services: []mailsim.Service{{Port: 465, Config: smtps}, {Port: 587, Config: sub}}},
			{Name: "mx." + domHostile},
			{Name: "imap." + domHostile, Services: []mailsim.Service{{Port: 993, Config: hostile}}},
			{Name: "smtp." + domHostile, Services: []mailsim.Service{{Port: 465, Config: smtps}}},
			{Name: "mx." + domSlow},
			{Name: "imap." + domSlow, Services: []mailsim.Service{{Port: 993, Config: slow(imaps)}}},
			{Name: "smtp." + domSlow, Services: []mailsim.Service{{Port: 465, Config: slow(smtps)}}},
			{Name: "mx." + domSlower},
			{Name: "imap." + domSlower, Services: []mailsim.Service{{Port: 993, Config: delay(imaps, 1200*time.Millisecond)}, {Port: 143, Config: delay(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: plain}, 900*time.Millisecond)}}},
			{Name: "smtp." + domSlower, Services: []mailsim.Service{{Port: 465, Config: delay(smtps, 1200*time.Millisecond)}, {Port: 587, Config: delay(sub, 900*time.Millisecond)}}},
			{Name: "mail." + domNothing, Services: []mailsim.Service{{Port: 25, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain}}}},
			{Name: "mail." + domPublic, Addrs: []string{"192.0.3.10"}, Services: []mailsim.Service{{Port: 993, Config: imaps}, {Port: 465, Config: smtps}}},
			{Name: "autoconfig." + domPublic, Addrs: []string{"192.0.3.11"}},
			{Name: "autoconfig.inside.example", Addrs: []string{"127.0.0.53"}},
			{Name: "mail." + domInternal, Addrs: []string{"127.0.0.25"}, Services: []mailsim.Service{{Port: 993, Config: imaps}, {Port: 465, Config: smtps}}},
			{Name: "imap." + domInternal, Addrs: []string{"10.1.2.3"}, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "mx.provider.example"},
			{Name: "imap.provider.example", Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "smtp.provider.example", Services: []mailsim.Service{{Port: 465, Config: smtps}}},
			{Name: "mx." + domCorp},
			{Name: "imap." + domCorp, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "smtp." + domCorp, Services: []mailsim.Service{{Port: 465, Config: smtps}}},
			{Name: "mail." + domBusy, Services: []mailsim.Service{{Port: 993, Config: delay(imaps, 300*time.Millisecond)},
				{Port: 143, Config: delay(mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: plain}, 300*time.Millisecond)}}},
			{Name: "mx." + domMixed},
			{Name: "imap." + domMixed, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "pop." + domMixed, Services: []mailsim.Service{{Port: 110, Config: mailsim.Config{Protocol: mailsim.POP3, Mode: mailsim.Plain, AuthBeforeTLS: []string{"PLAIN"}}}}},
			{Name: "smtp." + domMixed, Services: []mailsim.Service{{Port: 465, Config: smtps}}},
			{Name: "mx." + domHalf},
			{Name: "imap." + domHalf, Services: []mailsim.Service{{Port: 993, Config: imaps}}},
			{Name: "smtp." + domHalf, Services: []mailsim.Service{{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS}}}},
		},
	}
}

// corpAutoconfig is corp.example's autoconfig file: its login names are the local part with a
// suffix, a template no username of one user's report turns back into.
const corpAutoconfig = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="corp.example">
    <domain>corp.example</domain>
    <displayName>Corp</displayName>
    <incomingServer type="imap">
      <hostname>imap.corp.example</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%.corp</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.corp.example</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%.corp</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>`

var (
	worldOnce sync.Once
	world     *mailsim.World
	worldErr  error
)

// testWorld is started once for the package: it is read-only, and each test's Server has its
// own engine, cache and store, so tests do not see each other's results.
func testWorld(t testing.TB) *mailsim.World {
	t.Helper()
	worldOnce.Do(func() { world, worldErr = mailsim.StartWorld(testSpec()) })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return world
}

func TestMain(m *testing.M) {
	code := m.Run()
	if world != nil {
		world.Close()
	}
	os.Exit(code)
}

// testConfig is a service on the test world with timeouts short enough for tests, no rate
// limit, an in-memory store and the world's TEST-NET addresses allowed. Tests of the limits
// and of the private-address policy change what they test.
func testConfig(t testing.TB) Config {
	w := testWorld(t)
	c := DefaultConfig()
	c.Engine.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}, Timeout: time.Second}
	c.Engine.Probe.Dial = w
	c.Engine.Probe.RootCAs = w.CA.Pool()
	c.Engine.Probe.ConnectTimeout = 3 * time.Second
	c.Engine.Probe.GreetingTimeout = 2 * time.Second
	c.Engine.Probe.OperationTimeout = 3 * time.Second
	c.Engine.NoISPDB = true
	c.Deadline = 15 * time.Second
	c.AllowPrivate = true
	c.RateLimit = 0
	c.DB = ""
	return c
}

// testServer is a Server on loopback (httptest listens on 127.0.0.1) with its log captured.
type testServer struct {
	*Server
	URL    string
	client *http.Client
	logs   *syncBuffer
	stop   func() // closes the HTTP server and the Server, once; the test's cleanup calls it too
}

func newTestServer(t testing.TB, mut func(*Config)) *testServer {
	t.Helper()
	return startTestServer(t, mut, false)
}

// newTLSTestServer serves HTTPS (httptest's own certificate, trusted by ts.client).
func newTLSTestServer(t testing.TB, mut func(*Config)) *testServer {
	t.Helper()
	return startTestServer(t, mut, true)
}

func startTestServer(t testing.TB, mut func(*Config), useTLS bool) *testServer {
	t.Helper()
	c := testConfig(t)
	logs := &syncBuffer{}
	c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if mut != nil {
		mut(&c)
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	if useTLS {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	stop := sync.OnceFunc(func() {
		hs.Close()
		s.Close()
	})
	t.Cleanup(stop)
	return &testServer{Server: s, URL: hs.URL, client: hs.Client(), logs: logs, stop: stop}
}

// syncBuffer is a log sink that handlers on many goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// get fetches path from the server and returns the response with its body read.
func (ts *testServer) get(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	return do(t, ts.client, mustRequest(t, http.MethodGet, ts.URL+path, nil))
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// errorCode decodes an API error body; "" when the body is not one.
func errorCode(body []byte) string {
	var e errorJSON
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// decodeReport reads a discover --json body.
func decodeReportJSON(t testing.TB, body []byte) *discover.Report {
	t.Helper()
	var rep discover.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("not a report: %v\n%s", err, clip(string(body)))
	}
	return &rep
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// contains reports whether s has every one of subs; missing names the first that is not.
func contains(s string, subs ...string) bool {
	return missing(s, subs...) == ""
}

func missing(s string, subs ...string) string {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}

func tlsConfigFor(ca *mailsim.CA) *tls.Config { return &tls.Config{RootCAs: ca.Pool()} }
