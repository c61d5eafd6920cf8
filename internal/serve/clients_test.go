package serve

import (
	"html"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailscout/mailscout/clientconfig"
	goldenfile "github.com/mailscout/mailscout/internal/golden"
	"github.com/mailscout/mailscout/internal/thunderbird"
	"github.com/mailscout/mailscout/internal/xmltree"
)

// golden compares got with testdata/name, or rewrites it with -update (package golden).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

func TestAutoconfig(t *testing.T) {
	cases := []struct {
		name    string
		domains []string
		path    string
		host    string
		status  int
		golden  string
	}{
		{name: "Thunderbird's autoconfig URL", path: "/mail/config-v1.1.xml?emailaddress=alice%40good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "the well-known URL", path: "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "an unescaped plus", path: "/mail/config-v1.1.xml?emailaddress=alice+tag@good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "no address, autoconfig host", path: "/mail/config-v1.1.xml", host: "autoconfig.good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "no address, well-known on a served domain", domains: []string{domGood}, path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "no address, well-known without --domains", path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "no address, well-known with a port in Host", path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "Good.Example.:443", status: 200, golden: "autoconfig.good.xml"},
		{name: "no address, well-known on a domain not served", domains: []string{domGood}, path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "hostile.example", status: 400},
		{name: "no address, well-known on an IP address", path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "192.0.2.1", status: 400},
		{name: "no address, well-known on a name without a dot", path: "/.well-known/autoconfig/mail/config-v1.1.xml", host: "localhost:8025", status: 400},
		{name: "no address, autoconfig host of an IP address", path: "/mail/config-v1.1.xml", host: "autoconfig.10.0.0.1", status: 400},
		{name: "a customer address at the provider's autoconfig host", domains: []string{domGood}, path: "/mail/config-v1.1.xml?emailaddress=alice@x.hosted.example", host: "autoconfig.good.example", status: 200, golden: "autoconfig.good.xml"},
		{name: "an address not served, at the service's own name", domains: []string{domGood}, path: "/mail/config-v1.1.xml?emailaddress=alice@x.hosted.example", status: 404},
		{name: "a domain with another provider", path: "/mail/config-v1.1.xml?emailaddress=alice@x.hosted.example", status: 200, golden: "autoconfig.hosted.xml"},
		{name: "nothing usable", path: "/mail/config-v1.1.xml?emailaddress=alice@nothing.example", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(c *Config) { c.Domains = tc.domains })
			req := mustRequest(t, http.MethodGet, ts.URL+tc.path, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, body := do(t, ts.client, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, clip(string(body)))
			}
			if tc.golden == "" {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, err := range thunderbird.Check(body) {
				t.Errorf("Thunderbird would reject it: %v", err)
			}
			golden(t, tc.golden, body)
		})
	}
}

// Mail clients are answered from a discovery of the domain the helpdesk already ran; without
// one, from a fast discovery of the domain, which is then reused. A discovery of an address
// never serves them (its usernames are that user's: TestClientDocumentsUseTheDomainsTemplates).
func TestClientsShareDiscoveries(t *testing.T) {
	ts := newTestServer(t, nil)
	steps := []struct {
		path         string
		discoveries  int64
		alternatives bool // a complete full discovery lists every usable server; a fast one the best
	}{
		{"/v1/discover?target=carol@hostile.example", 1, false},
		{"/mail/config-v1.1.xml?emailaddress=alice@hostile.example", 2, false}, // not from carol's: a fast one of the domain
		{"/v1/profile.mobileconfig?emailaddress=bob@hostile.example", 2, false},
		{"/v1/discover?target=good.example", 3, false},
		{"/mail/config-v1.1.xml?emailaddress=alice@good.example", 3, true},
		{"/v1/profile.mobileconfig?emailaddress=bob@good.example", 3, false},
	}
	for _, s := range steps {
		resp, body := ts.get(t, s.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", s.path, resp.StatusCode, clip(string(body)))
		}
		if s.alternatives && !contains(string(body), `<incomingServer type="pop3">`, "<port>587</port>") {
			t.Errorf("%s: no alternatives from a full discovery:\n%s", s.path, body)
		}
		if got := ts.engine.Stats().Discoveries; got != s.discoveries {
			t.Errorf("after %s: %d discoveries, want %d", s.path, got, s.discoveries)
		}
	}
	if ts.disc.cache.get(key{target: domHostile, fast: true, protocols: allProtocols}) == nil {
		t.Error("a mail client's discovery was not the domain's fast one")
	}
	if hits := testutil.ToFloat64(ts.metrics.cacheHits); hits != 3 {
		t.Errorf("%v cache hits, want 3", hits)
	}
}

func autodiscoverRequest(addr, schema string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + addr + `</EMailAddress>
    <AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

func TestAutodiscover(t *testing.T) {
	outlook := clientconfig.NamespaceOutlookResponse
	cases := []struct {
		name      string
		cfg       func(*Config)
		method    string // POST unless set
		path      string
		body      string
		status    int
		errorCode string // the Autodiscover ErrorCode, "" for a configuration
		allow     string
		golden    string
	}{
		{name: "Outlook request", path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice@good.example", outlook), status: 200, golden: "autodiscover.good.xml"},
		{name: "capitalised path", path: "/Autodiscover/Autodiscover.xml", body: autodiscoverRequest("alice@good.example", outlook), status: 200, golden: "autodiscover.good.xml"},
		{name: "not XML", path: "/autodiscover/autodiscover.xml", body: "<Autodiscover", status: 200, errorCode: "600", golden: "autodiscover.invalid.xml"},
		{name: "a DOCTYPE", path: "/autodiscover/autodiscover.xml", body: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + autodiscoverRequest("&e;", outlook), status: 200, errorCode: "600"},
		{name: "the ActiveSync schema", path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice@good.example", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"), status: 200, errorCode: "601"},
		{name: "not an address", path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice", outlook), status: 200, errorCode: "600"},
		{name: "too large", path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest(strings.Repeat("a", 70<<10)+"@good.example", outlook), status: 413, errorCode: "600"},
		{name: "a domain not served", cfg: func(c *Config) { c.Domains = []string{domHostile} }, path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice@good.example", outlook), status: 200, errorCode: "500"},
		{name: "nothing usable", path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice@nothing.example", outlook), status: 200, errorCode: "501", golden: "autodiscover.nothing.xml"},
		// Nothing usable, as Outlook reads it: an error document with HTTP 200 (README's table).
		{name: "internal servers", cfg: func(c *Config) { c.AllowPrivate = false }, path: "/autodiscover/autodiscover.xml", body: autodiscoverRequest("alice@internal.example", outlook), status: 200, errorCode: "501"},
		// A GET (a person, a connectivity test) gets what Exchange answers: Invalid Request.
		{name: "GET", method: http.MethodGet, path: "/autodiscover/autodiscover.xml", status: 200, errorCode: "600"},
		{name: "HEAD", method: http.MethodHead, path: "/Autodiscover/Autodiscover.xml", status: 200},
		{name: "another method", method: http.MethodDelete, path: "/autodiscover/autodiscover.xml", status: 405, errorCode: "600", allow: "GET, HEAD, POST"},
		{name: "credentials in the URL", path: "/autodiscover/autodiscover.xml?Password=x", body: autodiscoverRequest("alice@good.example", outlook), status: 403, errorCode: "600"},
		{name: "rate limited", cfg: func(c *Config) { c.RateLimit, c.RateBurst = 0.01, 1 }, path: "/autodiscover/autodiscover.xml", body: "", status: 429, errorCode: "603"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, tc.cfg)
			if tc.status == 429 {
				ts.get(t, "/mail/config-v1.1.xml") // spends the one token
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			resp, body := do(t, ts.client, mustRequest(t, method, ts.URL+tc.path, strings.NewReader(tc.body)))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, clip(string(body)))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), tc.allow)
			}
			if method == http.MethodHead {
				return
			}
			root, err := xmltree.Parse(body)
			if err != nil {
				t.Fatalf("not XML: %v", err)
			}
			ad := root.All("Autodiscover")[0].All("Response")[0]
			if tc.errorCode != "" {
				if got := ad.All("Error")[0].Text1("ErrorCode"); got != tc.errorCode {
					t.Errorf("ErrorCode %q, want %s", got, tc.errorCode)
				}
				if tc.status == 429 && resp.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			} else {
				var types []string
				for _, p := range ad.All("Account")[0].All("Protocol") {
					types = append(types, p.Text1("Type")+" "+p.Text1("Server")+":"+p.Text1("Port")+" "+p.Text1("LoginName"))
				}
				// A fast discovery: the recommended servers only (see settled).
				want := "IMAP imap.good.example:993 alice@good.example,SMTP smtp.good.example:465 alice@good.example"
				if strings.Join(types, ",") != want {
					t.Errorf("protocols %v, want %s", types, want)
				}
			}
			if tc.golden != "" {
				golden(t, tc.golden, body)
			}
		})
	}
}

func TestMobileconfig(t *testing.T) {
	ts := newTestServer(t, nil)
	resp, body := ts.get(t, "/v1/profile.mobileconfig?emailaddress=alice@good.example")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, clip(string(body)))
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/x-apple-aspen-config" || cd != `attachment; filename="good.example.mobileconfig"` {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	golden(t, "profile.good.mobileconfig", body)
	if !contains(string(body), "<string>com.apple.mail.managed</string>", "<string>alice@good.example</string>", "<string>imap.good.example</string>", "<string>smtp.good.example</string>") {
		t.Errorf("the profile lacks the account:\n%s", body)
	}
	if strings.Contains(string(body), "Password</key>\n\t\t\t<string>") {
		t.Error("a profile carries a password")
	}
}

// clientUsernames fetches the three mail-client documents for addr and returns the login names
// each one gives: autoconfig's <username> elements, Autodiscover's LoginName elements, and the
// Apple profile's incoming and outgoing usernames.
func clientUsernames(t *testing.T, ts *testServer, addr string) (autoconfig, autodiscover, profile []string) {
	t.Helper()
	resp, body := ts.get(t, "/mail/config-v1.1.xml?emailaddress="+addr)
	if resp.StatusCode != 200 {
		t.Fatalf("autoconfig for %s: status %d: %s", addr, resp.StatusCode, clip(string(body)))
	}
	root, err := xmltree.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	prov := root.All("clientConfig")[0].All("emailProvider")[0]
	for _, kind := range []string{"incomingServer", "outgoingServer"} {
		for _, srv := range prov.All(kind) {
			autoconfig = append(autoconfig, srv.Text1("username"))
		}
	}
	resp, body = do(t, ts.client, mustRequest(t, http.MethodPost, ts.URL+"/autodiscover/autodiscover.xml",
		strings.NewReader(autodiscoverRequest(addr, clientconfig.NamespaceOutlookResponse))))
	if resp.StatusCode != 200 {
		t.Fatalf("Autodiscover for %s: status %d: %s", addr, resp.StatusCode, clip(string(body)))
	}
	if root, err = xmltree.Parse(body); err != nil {
		t.Fatal(err)
	}
	accounts := root.All("Autodiscover")[0].All("Response")[0].All("Account")
	if len(accounts) != 1 {
		t.Fatalf("Autodiscover for %s: no account: %s", addr, clip(string(body)))
	}
	for _, p := range accounts[0].All("Protocol") {
		autodiscover = append(autodiscover, p.Text1("LoginName"))
	}
	resp, body = ts.get(t, "/v1/profile.mobileconfig?emailaddress="+addr)
	if resp.StatusCode != 200 {
		t.Fatalf("profile for %s: status %d: %s", addr, resp.StatusCode, clip(string(body)))
	}
	for _, m := range regexp.MustCompile(`<key>(?:Incoming|Outgoing)MailServerUsername</key>\s*<string>([^<]*)</string>`).FindAllStringSubmatch(string(body), -1) {
		profile = append(profile, m[1])
	}
	return autoconfig, autodiscover, profile
}

// Mail-client documents are built from a discovery of the bare domain only, whose usernames
// are the domain's templates: never from a discovery of an address, whose usernames are that
// user's (here mallory.corp), which anyone could have run first to choose everyone's login.
// So each requester gets the template in autoconfig, and its own login name, filled in from its
// own address, in Autodiscover and the Apple profile; from a discovery that is cached, and from
// one read back from the database.
func TestClientDocumentsUseTheDomainsTemplates(t *testing.T) {
	const template = "%EMAILLOCALPART%.corp"
	check := func(t *testing.T, ts *testServer) {
		t.Helper()
		for _, user := range []string{"alice", "bob"} {
			ac, ad, prof := clientUsernames(t, ts, user+"@"+domCorp)
			want := user + ".corp"
			if len(ac) != 2 || ac[0] != template || ac[1] != template {
				t.Errorf("%s: autoconfig usernames %q, want %q for both servers", user, ac, template)
			}
			if len(ad) != 2 || ad[0] != want || ad[1] != want {
				t.Errorf("%s: Autodiscover LoginNames %q, want %q for both protocols", user, ad, want)
			}
			if len(prof) != 2 || prof[0] != want || prof[1] != want {
				t.Errorf("%s: profile usernames %q, want %q for both servers", user, prof, want)
			}
		}
	}
	t.Run("cached", func(t *testing.T) {
		ts := newTestServer(t, nil)
		// Someone checks an address first: its report's usernames are mallory's.
		resp, body := ts.get(t, "/v1/discover?target=mallory@"+domCorp)
		if rep := decodeReportJSON(t, body); resp.StatusCode != 200 || rep.Recommended.Incoming == nil || rep.Recommended.Incoming.Username != "mallory.corp" {
			t.Fatalf("status %d, recommended %+v: the world's autoconfig was not used", resp.StatusCode, rep.Recommended.Incoming)
		}
		check(t, ts)
		if ts.disc.cache.get(key{target: domCorp, fast: true, protocols: allProtocols}) == nil {
			t.Error("the documents were not built from a discovery of the domain")
		}
	})
	t.Run("stored", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "results.db")
		first := newTestServer(t, func(c *Config) { c.DB = db })
		// A mail client's request stores a fast discovery of the domain; a helpdesk check of an
		// address after it is the domain's newest result.
		if _, _, prof := clientUsernames(t, first, "carol@"+domCorp); len(prof) != 2 || prof[0] != "carol.corp" {
			t.Fatalf("profile usernames %q", prof)
		}
		if resp, _ := first.get(t, "/v1/discover?target=mallory@"+domCorp+"&fast=1"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		first.stop()
		second := newTestServer(t, func(c *Config) { c.DB = db })
		check(t, second)
		if n := second.engine.Stats().Discoveries; n != 0 {
			t.Errorf("%d discoveries: the stored discovery of the domain was not used", n)
		}
	})
}

// A local part with a space is no address a document can hold: 400 bad_target on every
// mail-client endpoint (ErrorCode 600 for Autodiscover) and on /v1/discover, never a document
// for the address with the space turned into a "+", which is someone else's. A "+" the client
// left unescaped is a "+" on the mail-client endpoints, as the client meant it; /v1/discover
// reads its target as a form sends it, where "+" is a space, and says so.
func TestSpaceIsNeverAPlus(t *testing.T) {
	ts := newTestServer(t, nil)
	refused := []string{
		"a%20b@good.example",       // a space, escaped
		"%22a%20b%22@good.example", // a quoted local part with a space
		"%22a%20b%22%40good.example",
		"%22a+b%22@good.example", // a raw "+" in a quoted local part: a space to a form encoder
		"a%2@good.example",       // not validly escaped
	}
	for _, addr := range refused {
		for _, path := range []string{"/v1/profile.mobileconfig", "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"} {
			resp, body := ts.get(t, path+"?emailaddress="+addr)
			if resp.StatusCode != 400 || errorCode(body) != codeBadTarget || strings.Contains(string(body), "a+b") {
				t.Errorf("%s?emailaddress=%s: status %d: %s", path, addr, resp.StatusCode, clip(string(body)))
			}
		}
	}
	for _, addr := range []string{"a b@good.example", `"a b"@good.example`} {
		resp, body := do(t, ts.client, mustRequest(t, http.MethodPost, ts.URL+"/autodiscover/autodiscover.xml",
			strings.NewReader(autodiscoverRequest(html.EscapeString(addr), clientconfig.NamespaceOutlookResponse))))
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<ErrorCode>600</ErrorCode>") || strings.Contains(string(body), "a+b") {
			t.Errorf("Autodiscover of %q: status %d: %s", addr, resp.StatusCode, clip(string(body)))
		}
	}
	for _, target := range []string{"a%20b@good.example", "%22a%20b%22@good.example", "a+b@good.example"} {
		for _, path := range []string{"/v1/discover", "/v1/discover/stream"} {
			resp, body := ts.get(t, path+"?target="+target)
			if resp.StatusCode != 400 || errorCode(body) != codeBadTarget || strings.Contains(string(body), "a+b") {
				t.Errorf("%s?target=%s: status %d: %s", path, target, resp.StatusCode, clip(string(body)))
			}
			if strings.Contains(target, "+") && !strings.Contains(string(body), `write a \"+\" as %2B`) {
				t.Errorf("%s?target=%s: the error does not say how to write a +: %s", path, target, body)
			}
		}
	}
	// A "+" is a "+", escaped or not.
	for _, addr := range []string{"alice+tag@good.example", "alice%2Btag@good.example", "alice%2btag%40good.example"} {
		resp, body := ts.get(t, "/v1/profile.mobileconfig?emailaddress="+addr)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<string>alice+tag@good.example</string>") {
			t.Errorf("profile for %s: status %d: %s", addr, resp.StatusCode, clip(string(body)))
		}
	}
	if got := ts.engine.Stats().Discoveries; got != 1 {
		t.Errorf("%d discoveries, want the one of good.example for the profiles", got)
	}
}

// A domain whose IMAP works but whose SMTP does not gets no document: a mail client sets up an
// account only with both (clientconfig writes none without both). The answer says which
// direction has nothing usable and what came closest, on all three endpoints.
func TestHalfWorkingDomainSaysWhichHalf(t *testing.T) {
	ts := newTestServer(t, nil)
	want := []string{"no verified configuration for " + domHalf + ": outgoing mail (SMTP) has no usable server (the closest: smtp.half.example port 587 with STARTTLS",
		"incoming mail works, but a mail client needs both to set up an account"}
	resp, body := do(t, ts.client, mustRequest(t, http.MethodPost, ts.URL+"/autodiscover/autodiscover.xml",
		strings.NewReader(autodiscoverRequest("alice@"+domHalf, clientconfig.NamespaceOutlookResponse))))
	msg := strings.Replace(string(body), "No verified", "no verified", 1)
	if resp.StatusCode != 200 || !contains(msg, "<ErrorCode>501</ErrorCode>") || !contains(msg, want...) {
		t.Errorf("Autodiscover: status %d, want 501 saying %q:\n%s", resp.StatusCode, want, body)
	}
	for _, path := range []string{"/mail/config-v1.1.xml", "/v1/profile.mobileconfig"} {
		resp, body := ts.get(t, path+"?emailaddress=alice@"+domHalf)
		if resp.StatusCode != 404 || errorCode(body) != codeNotFound || !contains(string(body), want...) {
			t.Errorf("%s: status %d, want 404 saying %q: %s", path, resp.StatusCode, want, body)
		}
	}
	// Half of it does work: the page says so.
	_, page := check(t, ts, "alice@"+domHalf)
	if !contains(page, "Partly works", `<code data-copy>imap.half.example</code>`) {
		t.Errorf("the page does not show the working half:\n%s", page)
	}
}
