package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// noRedirects is a client that shows redirects instead of following them.
func noRedirects(ts *testServer) *http.Client {
	c := *ts.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// check submits the form as a browser without JavaScript does and returns the permalink page.
func check(t *testing.T, ts *testServer, target string) (id string, page string) {
	t.Helper()
	resp, body := do(t, noRedirects(ts), mustRequest(t, http.MethodGet, ts.URL+"/?target="+target, nil))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/r/") {
		t.Fatalf("status %d, Location %q: %s", resp.StatusCode, loc, clip(string(body)))
	}
	id = strings.TrimPrefix(loc, "/r/")
	resp, body = ts.get(t, loc)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%s: status %d, Content-Type %q", loc, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return id, string(body)
}

func TestIndexPage(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Examples = []string{"alice@good.example", "alice@x.hosted.example"} })
	resp, body := ts.get(t, "/")
	page := string(body)
	if resp.StatusCode != 200 || !contains(page, `<form class="check-form big-form" action="/" method="get">`, `name="target"`, `href="/?target=alice%40good.example"`, `id="progress"`) {
		t.Errorf("status %d:\n%s", resp.StatusCode, clip(page))
	}
	assertSelfContained(t, page)
}

// Without JavaScript the form runs the check and redirects to the permalink, which shows the
// diagnosis, the settings with copy targets, every server and every failure.
func TestCheckWithoutJavaScript(t *testing.T) {
	ts := newTestServer(t, nil)
	_, page := check(t, ts, "alice@good.example")
	if m := missing(page,
		"<h1>alice@good.example</h1>", "Works", "Incoming: use imap.good.example port 993 with TLS",
		`<code data-copy>imap.good.example</code>`, `<code data-copy>993</code>`, `<code data-copy>alice@good.example</code>`,
		"Servers that answered", "What failed", "<details class=\"transcript\">",
		`href="/v1/profile.mobileconfig?emailaddress=alice%40good.example"`, "This is the first check of good.example"); m != "" {
		t.Errorf("the result page lacks %q:\n%s", m, page)
	}
	assertSelfContained(t, page)
}

// A server greeting made of markup is shown as text: html/template escapes it everywhere.
func TestHostileGreetingIsText(t *testing.T) {
	ts := newTestServer(t, nil)
	_, page := check(t, ts, "alice@hostile.example")
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; ready") {
		t.Errorf("the greeting is not on the page as text:\n%s", page)
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("the greeting's markup is in the page")
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if len(scripts) != 1 || scripts[0] != `<script src="/static/app.js" defer>` {
		t.Errorf("script elements: %q", scripts)
	}
}

// Nothing on a page points outside the service: no fonts, images, scripts or styles elsewhere.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`(?i)(src|href|action)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[2], "/") || strings.HasPrefix(m[2], "//") {
			t.Errorf("%s=%q leaves the origin", m[1], m[2])
		}
	}
	if strings.Contains(page, "style=") || regexp.MustCompile(`<script>|<style`).MatchString(page) {
		t.Error("inline script or style: the Content-Security-Policy would block it")
	}
}

func TestPageErrors(t *testing.T) {
	cases := []struct {
		name   string
		cfg    func(*Config)
		path   string
		status int
		text   string
	}{
		{"bad target", nil, "/?target=nobody", 400, "not a fully qualified domain"},
		{"empty target", nil, "/?target=", 400, "target is missing"},
		{"internal servers", func(c *Config) { c.AllowPrivate = false }, "/?target=alice@internal.example", 403, "non-public address"},
		{"no such result", nil, "/r/AAAAAAAAAAAAAAAAAAAAAA", 404, "older than the retention period"},
		{"no such page", nil, "/wp-admin/", 404, "there is nothing at /wp-admin"},
		{"rate limited", func(c *Config) { c.RateLimit, c.RateBurst = 0.01, 1 }, "/?target=x", 429, "too many requests"},
		{"credentials in the URL", nil, "/?target=alice@good.example&Password=x", 403, "never accepted in a URL"},
		{"credentials in a permalink's URL", nil, "/r/AAAAAAAAAAAAAAAAAAAAAA?user=x", 403, "never accepted in a URL"},
	}
	for _, tc := range cases {
		ts := newTestServer(t, tc.cfg)
		if tc.status == 429 {
			ts.get(t, "/?target=x")
		}
		resp, body := do(t, noRedirects(ts), mustRequest(t, http.MethodGet, ts.URL+tc.path, nil))
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.text) || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: status %d, Content-Type %q:\n%s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), clip(string(body)))
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, nil)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, p := range []string{"/", "/r/AAAAAAAAAAAAAAAAAAAAAA", "/v1/discover", "/static/app.js", "/metrics", "/nope"} {
		resp, _ := ts.get(t, p)
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s: %s %q, want %q", p, h, got, v)
			}
		}
	}
}

func TestStaticAssets(t *testing.T) {
	ts := newTestServer(t, nil)
	cases := []struct {
		path, contentType string
		status            int
	}{
		{"/static/style.css", "text/css; charset=utf-8", 200},
		{"/static/app.js", "text/javascript; charset=utf-8", 200},
		{"/static/favicon.svg", "image/svg+xml", 200},
		{"/favicon.ico", "image/svg+xml", 200},
		{"/static/", "application/json; charset=utf-8", 404},
		{"/static/nothing.js", "text/plain; charset=utf-8", 404},
	}
	for _, tc := range cases {
		resp, _ := ts.get(t, tc.path)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("%s: status %d, Content-Type %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// The permalink shows what changed since the domain's previous check, and the history.
func TestPageShowsChanges(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	id, _ := check(t, ts, "alice@good.example")
	cur, err := ts.store.get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Last week, POP3 was refused and IMAP still offered CRAM-MD5.
	var prevRep discover.Report
	b, _ := json.Marshal(cur.Report)
	if err := json.Unmarshal(b, &prevRep); err != nil {
		t.Fatal(err)
	}
	for i := range prevRep.Probes {
		p := &prevRep.Probes[i]
		switch {
		case p.Protocol == probe.POP3 && p.Port == 995:
			p.OK, p.TLS, p.ErrorKind, p.Error, p.Verdict, p.Blockers = false, nil, probe.KindRefused, "connect: connection refused", discover.Unusable, []string{"refused"}
		case p.Protocol == probe.IMAP && p.Port == 993 && p.OK:
			p.AuthMethods = append(p.AuthMethods, "CRAM-MD5")
		}
	}
	prev := &result{Key: cur.Key, Report: &prevRep, Created: cur.Created.Add(-7 * 24 * time.Hour)}
	if prev.ID, err = ts.store.save(ctx, prev); err != nil {
		t.Fatal(err)
	}
	_, body := ts.get(t, "/r/"+id)
	page := string(body)
	if m := missing(page, "Since the last check", `href="/r/`+prev.ID+`"`,
		"pop3 pop.good.example:995 tls works now (before: refused",
		"imap imap.good.example:993 tls no longer offers CRAM-MD5",
		"History of good.example", `<tr class="current">`); m != "" {
		t.Errorf("the page lacks %q:\n%s", m, page)
	}
}

// A permalink tells whoever holds it about that target alone: the domain's history and what
// changed cover every check of the domain, but another address's check appears only as its
// time and status, never with its local part or a link to its result (which would show both);
// results of the same target are linked.
func TestPermalinkShowsNoOtherTarget(t *testing.T) {
	ts := newTestServer(t, nil)
	victim, _ := check(t, ts, "victim@good.example")
	mallory1, page1 := check(t, ts, "mallory@good.example")
	domain, _ := check(t, ts, "good.example")
	mallory2, page2 := check(t, ts, "mallory@good.example&refresh=1")
	if mallory2 == mallory1 {
		t.Fatal("refresh=1 did not run a new check")
	}
	cases := []struct {
		name        string
		page        string
		has, hasNot []string
	}{
		{"the first check of mallory, compared with the victim's", page1,
			[]string{"Since the last check", "Compared with the domain's check of", "History of good.example", "another address"},
			[]string{"victim", victim, domain}},
		{"mallory's second check, compared with the domain's", page2,
			[]string{"Compared with the domain's check of", `href="/r/` + mallory1 + `"`, "another address", "<td>good.example</td>", "<td>mallory@good.example</td>"},
			[]string{"victim", victim, domain}},
	}
	for _, tc := range cases {
		if m := missing(tc.page, tc.has...); m != "" {
			t.Errorf("%s: the page lacks %q:\n%s", tc.name, m, tc.page)
		}
		for _, s := range tc.hasNot {
			if strings.Contains(tc.page, s) {
				t.Errorf("%s: the page shows %q", tc.name, s)
			}
		}
		for _, m := range regexp.MustCompile(`href="/r/([^"]*)"`).FindAllStringSubmatch(tc.page, -1) {
			if m[1] != mallory1 && m[1] != mallory2 {
				t.Errorf("%s: the page links to /r/%s, not a check of mallory@good.example", tc.name, m[1])
			}
		}
	}
}

// A permalink ID opens a result, address and all: request logs name the route's pattern, never
// the path, and no log line carries an ID.
func TestLogsCarryNoPermalink(t *testing.T) {
	ts := newTestServer(t, nil)
	id, _ := check(t, ts, "alice@good.example")
	ts.get(t, "/v1/results/"+id)
	ts.get(t, "/Autodiscover/Autodiscover.xml")
	logs := ts.logs.String()
	if strings.Contains(logs, id) {
		t.Errorf("the permalink ID %s is in the log:\n%s", id, logs)
	}
	for _, want := range []string{`"route":"permalink","pattern":"/r/{id}"`, `"route":"result","pattern":"/v1/results/{id}"`,
		`"route":"autodiscover","pattern":"/autodiscover/autodiscover.xml"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no request line with %s:\n%s", want, logs)
		}
	}
}

// roleTags maps each server on a result page ("POP3 pop.example:110 None (no encryption)", as
// the page writes it, in the list of servers or of failures) to the label it carries, "" for
// none.
func roleTags(page string) map[string]string {
	re := regexp.MustCompile(`<span class="proto">(\w+)</span> (?:<strong class="endpoint">)?([^<\s]+)(?:</strong>)? <span class="sec">([^<]*)</span>(?:</h3>)?\s*(?:<span class="tag \w+ role">([^<]*)</span>)?`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out[m[1]+" "+m[2]+" "+m[3]] = m[4]
	}
	return out
}

// Rank orders every server of a protocol, unusable ones too, so rank 1 is not a
// recommendation: the page calls a server "best" only when the report recommends it and it is
// usable, says "recommended, though insecure" when the operator allowed an insecure one, and
// labels the nearest server of a direction without a recommendation as the closest option,
// with what is in its way.
func TestPageLabelsOnlyRecommendedServersBest(t *testing.T) {
	cases := []struct {
		name   string
		cfg    func(*Config)
		target string
		want   map[string]string // server → label; servers not named must carry none
	}{
		{"a usable direction beside an insecure POP3 server", nil, domMixed, map[string]string{
			"IMAP imap.mixed.example:993 SSL/TLS":             "best",
			"SMTP smtp.mixed.example:465 SSL/TLS":             "best",
			"POP3 pop.mixed.example:110 None (no encryption)": "",
		}},
		{"only an insecure POP3 server", nil, domMixed + "&protocols=pop3", map[string]string{
			"POP3 pop.mixed.example:110 None (no encryption)": "closest option, not safe: no_tls",
		}},
		{"only an insecure POP3 server, insecure allowed", func(c *Config) { c.AllowInsecure = true }, domMixed + "&protocols=pop3", map[string]string{
			"POP3 pop.mixed.example:110 None (no encryption)": "recommended, though insecure: no_tls",
		}},
		{"nothing usable", nil, domNothing, map[string]string{
			"SMTP mail.nothing.example:25 None (no encryption)": "closest option, not usable: mx_relay, no_auth, no_tls",
			"IMAP mail.nothing.example:993 SSL/TLS":             "closest option, not usable: refused", // a failure: no IMAP server answered
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.cfg)
			id, page := check(t, ts, tc.target)
			got := roleTags(page)
			if len(got) == 0 {
				t.Fatalf("no servers found on the page:\n%s", page)
			}
			for server, label := range got {
				want, named := tc.want[server]
				if !named && label != "" {
					t.Errorf("%s is labelled %q", server, label)
				} else if named && label != want {
					t.Errorf("%s is labelled %q, want %q", server, label, want)
				}
			}
			for server := range tc.want {
				if _, ok := got[server]; !ok {
					t.Errorf("%s is not on the page", server)
				}
			}
			// The case the page got wrong: an insecure server ranked first of its protocol.
			if tc.target == domMixed {
				res, err := ts.store.get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range res.Report.Configs {
					if c.Protocol == probe.POP3 && c.Rank != 1 {
						t.Errorf("POP3 %s:%d has rank %d; the case needs a rank-1 server that is not recommended", c.Host, c.Port, c.Rank)
					}
				}
			}
		})
	}
}
