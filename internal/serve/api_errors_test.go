package serve

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/clientconfig"
)

// otherClient holds a discovery slot in tests of --max-concurrent, so that the test's own
// requests (from 127.0.0.1) meet the service-wide bound rather than the per-client one.
var otherClient = netip.MustParsePrefix("198.51.100.99/32")

// Every error code of the API, each from a request that really provokes it, with its status
// and headers.
func TestAPIErrors(t *testing.T) {
	refuse := func(c *Config) { c.AllowPrivate = false }
	login := func(c *Config) { c.AllowLogin = true }
	body := func(s string) func() string { return func() string { return s } }
	cases := []struct {
		name       string
		cfg        func(*Config)
		tls        bool
		prepare    func(t *testing.T, ts *testServer)
		method     string
		path       string
		body       func() string
		status     int
		code       string
		retryAfter bool
		allow      string
	}{
		{name: "no target", path: "/v1/discover", status: 400, code: codeBadTarget},
		{name: "not an address", path: "/v1/discover?target=not%20an%20address", status: 400, code: codeBadTarget},
		{name: "public IP as target", path: "/v1/discover?target=alice@192.0.3.1", status: 400, code: codeBadTarget},
		{name: "private IP as target", cfg: refuse, path: "/v1/discover?target=alice@127.0.0.1", status: 403, code: codePrivateAddress},
		{name: "unknown protocol", path: "/v1/discover?target=alice@good.example&protocols=smtp,jmap", status: 400, code: codeBadRequest},
		{name: "bad flag", path: "/v1/discover?target=alice@good.example&fast=maybe", status: 400, code: codeBadRequest},
		{name: "servers all internal", cfg: refuse, path: "/v1/discover?target=alice@internal.example", status: 403, code: codePrivateAddress},
		{name: "servers on TEST-NET", cfg: refuse, path: "/v1/discover?target=alice@good.example", status: 403, code: codePrivateAddress},
		{name: "stream of internal servers", cfg: refuse, path: "/v1/discover/stream?target=alice@internal.example", status: 200, code: ""},
		{name: "password in the URL", path: "/v1/discover?target=alice@good.example&password=secret", status: 403, code: codeLoginNotAllowed},
		{name: "Password in the URL, capitalised", path: "/v1/discover?target=alice@good.example&Password=secret", status: 403, code: codeLoginNotAllowed},
		{name: "an escaped parameter name", path: "/v1/discover?target=alice@good.example&pass%77ord=secret", status: 403, code: codeLoginNotAllowed},
		{name: "a password after a semicolon", path: "/v1/discover?target=alice@good.example;password=secret", status: 403, code: codeLoginNotAllowed},
		{name: "password in the URL of a login", cfg: login, tls: true, method: "POST", path: "/v1/discover?password=secret", body: body(`{"target":"alice@good.example","password":"x"}`), status: 403, code: codeLoginNotAllowed},
		{name: "user in a stream's URL", path: "/v1/discover/stream?target=alice@good.example&USER=alice", status: 403, code: codeLoginNotAllowed},
		{name: "pass in a probe's URL", path: "/v1/probe?endpoint=imap.good.example:993&pass=secret", status: 403, code: codeLoginNotAllowed},
		{name: "pwd in autoconfig's URL", path: "/mail/config-v1.1.xml?emailaddress=alice@good.example&pwd=secret", status: 403, code: codeLoginNotAllowed},
		{name: "username in a profile's URL", path: "/v1/profile.mobileconfig?emailaddress=alice@good.example&UserName=alice", status: 403, code: codeLoginNotAllowed},
		{name: "a token in a result's URL", path: "/v1/results/AAAAAAAAAAAAAAAAAAAAAA?access_token=x", status: 403, code: codeLoginNotAllowed},
		{name: "passwd in the metrics' URL", path: "/metrics?passwd=x", status: 403, code: codeLoginNotAllowed},
		{name: "login not allowed", method: "POST", path: "/v1/discover", body: body(`{"target":"alice@good.example","password":"x"}`), status: 403, code: codeLoginNotAllowed},
		{name: "login over plain HTTP", cfg: login, method: "POST", path: "/v1/discover", body: body(`{"target":"alice@good.example","password":"x"}`), status: 403, code: codeTLSRequired},
		{name: "login body too large", cfg: login, tls: true, method: "POST", path: "/v1/discover", body: func() string { return `{"target":"` + strings.Repeat("a", 20<<10) + `"}` }, status: 413, code: codeTooLarge},
		{name: "login body not JSON", cfg: login, tls: true, method: "POST", path: "/v1/discover", body: body(`{"target":`), status: 400, code: codeBadRequest},
		{name: "login unknown field", cfg: login, tls: true, method: "POST", path: "/v1/discover", body: body(`{"target":"alice@good.example","password":"x","pin":1}`), status: 400, code: codeBadRequest},
		{name: "login without password", cfg: login, tls: true, method: "POST", path: "/v1/discover", body: body(`{"target":"alice@good.example"}`), status: 400, code: codeBadRequest},
		{name: "login bad target", cfg: login, tls: true, method: "POST", path: "/v1/discover", body: body(`{"target":"nobody","password":"x"}`), status: 400, code: codeBadTarget},
		{name: "method", method: "DELETE", path: "/v1/discover", status: 405, code: codeMethodNotAllowed, allow: "GET, HEAD, POST"},
		{name: "method on stream", method: "POST", path: "/v1/discover/stream", status: 405, code: codeMethodNotAllowed, allow: "GET, HEAD"},
		{name: "no such result", path: "/v1/results/AAAAAAAAAAAAAAAAAAAAAA", status: 404, code: codeNotFound},
		{name: "malformed result ID", path: "/v1/results/..%2f..%2fetc", status: 404, code: codeNotFound},
		{name: "no such endpoint", path: "/v1/nothing", status: 404, code: codeNotFound},
		{name: "rate limited", cfg: func(c *Config) { c.RateLimit, c.RateBurst = 0.01, 1 },
			prepare: func(t *testing.T, ts *testServer) { ts.get(t, "/v1/discover?target=x") },
			path:    "/v1/discover?target=alice@good.example", status: 429, code: codeRateLimited, retryAfter: true},
		{name: "busy", cfg: func(c *Config) { c.MaxConcurrent = 1 },
			prepare: func(t *testing.T, ts *testServer) {
				if err := ts.disc.admit(otherClient); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ts.disc.release(otherClient) })
			},
			path: "/v1/discover?target=alice@good.example", status: 503, code: codeBusy, retryAfter: true},
		{name: "timeout", cfg: func(c *Config) { c.RequestTimeout = 50 * time.Millisecond }, path: "/v1/discover?target=alice@slow.example", status: 504, code: codeTimeout, retryAfter: true},
		{name: "shutting down", prepare: func(t *testing.T, ts *testServer) { ts.disc.close() }, path: "/v1/discover?target=alice@good.example", status: 503, code: codeUnavailable, retryAfter: true},
		{name: "probe without endpoint", path: "/v1/probe", status: 400, code: codeBadTarget},
		{name: "probe of a non-host", path: "/v1/probe?endpoint=a%20b:993", status: 400, code: codeBadTarget},
		{name: "probe port out of range", path: "/v1/probe?endpoint=imap.good.example:99999", status: 400, code: codeBadTarget},
		{name: "probe unknown port", path: "/v1/probe?endpoint=imap.good.example:1234", status: 400, code: codeBadRequest},
		{name: "probe unknown security", path: "/v1/probe?endpoint=imap.good.example:993&security=ssl3", status: 400, code: codeBadRequest},
		{name: "probe of loopback", cfg: refuse, path: "/v1/probe?endpoint=127.0.0.1:993", status: 403, code: codePrivateAddress},
		{name: "probe of a name on a private address", cfg: refuse, path: "/v1/probe?endpoint=imap.internal.example:993", status: 403, code: codePrivateAddress},
		{name: "probe busy", cfg: func(c *Config) { c.MaxConcurrent = 1 },
			prepare: func(t *testing.T, ts *testServer) {
				if err := ts.disc.admit(otherClient); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ts.disc.release(otherClient) })
			},
			path: "/v1/probe?endpoint=imap.good.example:993", status: 503, code: codeBusy, retryAfter: true},
		{name: "stream without target", path: "/v1/discover/stream", status: 400, code: codeBadTarget},
		// Found before the stream starts: a JSON error with its status, not an error event.
		{name: "stream of a bad target", path: "/v1/discover/stream?target=nobody", status: 400, code: codeBadTarget},
		{name: "stream rate limited", cfg: func(c *Config) { c.RateLimit, c.RateBurst = 0.01, 1 },
			prepare: func(t *testing.T, ts *testServer) { ts.get(t, "/v1/discover?target=x") },
			path:    "/v1/discover/stream?target=alice@good.example", status: 429, code: codeRateLimited, retryAfter: true},
		{name: "autoconfig of a non-address", path: "/mail/config-v1.1.xml?emailaddress=nobody", status: 400, code: codeBadTarget},
		{name: "autoconfig of a control character", path: "/mail/config-v1.1.xml?emailaddress=a%01b@good.example", status: 400, code: codeBadTarget},
		{name: "profile of a control character", path: "/v1/profile.mobileconfig?emailaddress=a%01b@good.example", status: 400, code: codeBadTarget},
		{name: "profile of a local part with an @", path: "/v1/profile.mobileconfig?emailaddress=a%40b@good.example", status: 400, code: codeBadTarget},
		{name: "profile of invalid UTF-8", path: "/v1/profile.mobileconfig?emailaddress=a%FFb@good.example", status: 400, code: codeBadTarget},
		{name: "profile of an over-long local part", path: "/v1/profile.mobileconfig?emailaddress=" + strings.Repeat("a", 65) + "@good.example", status: 400, code: codeBadTarget},
		{name: "metrics by POST", method: "POST", path: "/metrics", status: 405, code: codeMethodNotAllowed, allow: "GET, HEAD"},
		{name: "per-client limit", cfg: func(c *Config) { c.MaxPerClient = 1 },
			prepare: func(t *testing.T, ts *testServer) {
				loopback := netip.MustParsePrefix("127.0.0.1/32") // where the test's requests come from
				if err := ts.disc.admit(loopback); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ts.disc.release(loopback) })
			},
			path: "/v1/discover?target=alice@good.example", status: 429, code: codeRateLimited, retryAfter: true},
		{name: "autoconfig without address", path: "/mail/config-v1.1.xml", status: 400, code: codeBadTarget},
		{name: "autoconfig of a domain not served", cfg: func(c *Config) { c.Domains = []string{domGood} }, path: "/mail/config-v1.1.xml?emailaddress=alice@hostile.example", status: 404, code: codeNotFound},
		{name: "autoconfig with nothing usable", path: "/mail/config-v1.1.xml?emailaddress=alice@nothing.example", status: 404, code: codeNotFound},
		{name: "autoconfig of internal servers", cfg: refuse, path: "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@internal.example", status: 403, code: codePrivateAddress},
		{name: "profile without address", path: "/v1/profile.mobileconfig", status: 400, code: codeBadTarget},
		{name: "profile with nothing usable", path: "/v1/profile.mobileconfig?emailaddress=alice@nothing.example", status: 404, code: codeNotFound},
		{name: "profile of a domain not served", cfg: func(c *Config) { c.Domains = []string{domGood} }, path: "/v1/profile.mobileconfig?emailaddress=alice@hostile.example", status: 404, code: codeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startTestServer(t, tc.cfg, tc.tls)
			if tc.prepare != nil {
				tc.prepare(t, ts)
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			var rd *strings.Reader
			if tc.body != nil {
				rd = strings.NewReader(tc.body())
			} else {
				rd = strings.NewReader("")
			}
			resp, b := do(t, ts.client, mustRequest(t, method, ts.URL+tc.path, rd))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, clip(string(b)))
			}
			if tc.code == "" { // the stream: the error is an event
				if !strings.Contains(string(b), "event: error") || !strings.Contains(string(b), codePrivateAddress) {
					t.Fatalf("stream did not end in a private_address error event:\n%s", clip(string(b)))
				}
				return
			}
			if got := errorCode(b); got != tc.code {
				t.Errorf("code %q, want %q: %s", got, tc.code, clip(string(b)))
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After %q, want present=%v", resp.Header.Get("Retry-After"), tc.retryAfter)
			}
			if tc.allow != "" && resp.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), tc.allow)
			}
		})
	}
}

// A panicking handler is a 500 internal with nothing of the panic in the body, and a log line.
func TestPanicIsInternal(t *testing.T) {
	ts := newTestServer(t, nil)
	h := ts.instrument("boom", "/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != 500 || errorCode(rec.Body.Bytes()) != codeInternal || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("got %d %s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(ts.logs.String(), `"msg":"panic"`) {
		t.Errorf("no log line for the panic:\n%s", ts.logs.String())
	}
}

// An address a mail-client endpoint cannot use is the client's mistake (400), never a 500, and
// nothing of its local part reaches the log, whatever the endpoint.
func TestBadAddressesAreNotLogged(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, addr := range []string{"secretname%01x@good.example", "secretname%40x@good.example", "secretname%7F@good.example"} {
		for _, path := range []string{"/v1/profile.mobileconfig", "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"} {
			resp, body := ts.get(t, path+"?emailaddress="+addr)
			if resp.StatusCode != 400 || errorCode(body) != codeBadTarget {
				t.Errorf("%s?emailaddress=%s: status %d: %s", path, addr, resp.StatusCode, clip(string(body)))
			}
		}
		raw, _ := url.QueryUnescape(addr)
		resp, body := do(t, ts.client, mustRequest(t, http.MethodPost, ts.URL+"/autodiscover/autodiscover.xml",
			strings.NewReader(autodiscoverRequest(html.EscapeString(raw), clientconfig.NamespaceOutlookResponse))))
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<ErrorCode>600</ErrorCode>") {
			t.Errorf("Autodiscover of %q: status %d: %s", raw, resp.StatusCode, clip(string(body)))
		}
	}
	if strings.Contains(ts.logs.String(), "secretname") {
		t.Errorf("a local part is in the log:\n%s", ts.logs.String())
	}
}
