package serve

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// wantCode fails unless err is an *apiError with one of the codes.
func wantCode(t *testing.T, err error, codes ...string) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || !slices.Contains(codes, ae.Code) {
		t.Fatalf("error %v, want an API error with code %q", err, codes)
	}
}

// The query of /v1/discover, /v1/discover/stream and / comes from anyone. Whatever it holds: an
// API error with a client code, or a request whose protocols are canonical (a cache key),
// whose target is normalised so that it parses to itself, with no credentials; credentials
// in the URL are always refused; and the target as logs name it carries the domain only,
// never any of the local part (addresses are personal data).
func FuzzParseDiscover(f *testing.F) {
	for _, s := range []string{
		"target=alice@example.com",
		"target=B%C3%BCcher.Example.&protocols=imap,smtp,imap&fast=1&refresh=true",
		"target=example.com&protocols=+pop3+,SUBMISSION",
		"target=a%40b%40example.com",
		"target=10.0.0.1",
		"target=alice@[192.0.2.1]",
		"target=x&password=y",
		"target=example.com&fast=maybe",
		"target=example.com&protocols=,",
		"target=%ff&protocols=imap;x",
		"target=" + strings.Repeat("a", 320) + ".example",
		"",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query() does
		req, err := parseDiscover(q, allowPrivate)
		if slices.ContainsFunc(slices.Collect(maps.Keys(q)), func(k string) bool {
			return slices.Contains([]string{"password", "passwd", "pass", "pwd", "user", "username", "oauth_token", "access_token"}, strings.ToLower(strings.TrimSpace(k)))
		}) {
			wantCode(t, err, codeLoginNotAllowed)
			return
		}
		if err != nil {
			wantCode(t, err, codeBadTarget, codeBadRequest, codePrivateAddress, codeLoginNotAllowed)
			return
		}
		if req.creds != nil {
			t.Fatal("credentials from a URL")
		}
		names := make([]string, len(req.protocols))
		for i, p := range req.protocols {
			names[i] = string(p)
		}
		if len(names) == 0 || strings.Join(names, ",") != req.key.protocols {
			t.Fatalf("protocols %q with key %q", names, req.key.protocols)
		}
		if _, canon, err := parseProtocols(req.key.protocols); err != nil || canon != req.key.protocols {
			t.Fatalf("canonical protocols %q read back as %q, %v", req.key.protocols, canon, err)
		}
		again, err := newDiscoverRequest(req.key.target, req.key.fast, req.key.protocols, req.refresh, allowPrivate)
		if err != nil || again.key != req.key || again.target.Domain != req.target.Domain {
			t.Fatalf("normalised target %q does not parse to itself: %+v, %v", req.key.target, again.key, err)
		}
		if want := req.target.Domain + " "; !strings.HasPrefix(req.key.describe(), want) {
			t.Fatalf("logged as %q, want the domain %q only", req.key.describe(), req.target.Domain)
		}
	})
}

// The endpoint of /v1/probe comes from anyone and ends up in SNI, EHLO checks, the report and a
// connection. Whatever it holds: an API error with a client code, or targets on one host that
// is an IP address or a lower-case LDH name, with valid ports and modes, none twice, each of
// which its own HOST:PORT (with the same parameters) asks for again.
func FuzzProbeTargets(f *testing.F) {
	for _, s := range [][3]string{
		{"imap.example.com:993", "", ""},
		{"Mail.Example.COM.", "smtp", ""},
		{"[2001:db8::1]:587", "", "starttls"},
		{"[fe80::1%eth0]:25", "", ""},
		{"bücher.example:110", "", "plain"},
		{"host:2525", "", ""},
		{"host:2525", "pop", "ssl"},
		{"h:0", "", ""},
		{"a b:25", "", ""},
		{"[::ffff:192.0.2.1]", "imaps", "tls"},
		{"example.com:99999", "", ""},
		{"", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, endpoint, proto, sec string) {
		targets, err := probeTargets(endpoint, proto, sec)
		if err != nil {
			wantCode(t, err, codeBadTarget, codeBadRequest)
			return
		}
		if len(targets) == 0 {
			t.Fatal("no target and no error")
		}
		host := targets[0].Host
		if h, err := endpointHost(host); err != nil || h != host {
			t.Fatalf("host %q is not its own normal form (%q, %v)", host, h, err)
		}
		if _, err := netip.ParseAddr(host); err != nil && strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
			t.Fatalf("host %q", host)
		}
		seen := map[string]bool{}
		for _, tg := range targets {
			if tg.Host != host || tg.Port < 1 || tg.Port > 65535 || seen[tg.String()] || tg.Addrs != nil ||
				!slices.Contains([]probe.Protocol{probe.SMTP, probe.IMAP, probe.POP3}, tg.Protocol) ||
				!slices.Contains([]probe.Security{probe.TLS, probe.StartTLS, probe.Plain}, tg.Security) {
				t.Fatalf("target %+v among %+v", tg, targets)
			}
			seen[tg.String()] = true
			if sec != "" {
				if m, _ := probe.ParseSecurity(sec); tg.Security != m {
					t.Fatalf("security=%s gave %+v", sec, tg)
				}
			}
			again, err := probeTargets(net.JoinHostPort(tg.Host, strconv.Itoa(tg.Port)), string(tg.Protocol), sec)
			if err != nil || !slices.ContainsFunc(again, func(a probe.Target) bool { return a.String() == tg.String() }) {
				t.Fatalf("%+v: its own endpoint gives %+v, %v", tg, again, err)
			}
		}
	})
}

// Which domain the mail-client endpoints answer for is decided by the request: ?emailaddress=,
// the Host header, the path. With --domains, whatever they say, the answer is a listed domain or
// none: the service is nobody's open discovery proxy.
func FuzzClientDomain(f *testing.F) {
	for _, s := range [][3]string{
		{"alice@example.com", "autoconfig.example.com", "/mail/config-v1.1.xml"},
		{"", "autoconfig.example.com:443", "/mail/config-v1.1.xml"},
		{"", "AUTOCONFIG.EXAMPLE.COM.", "/mail/config-v1.1.xml"},
		{"", "example.com", wellKnownAutoconfig},
		{"bob@other.example", "autoconfig.other.example", wellKnownAutoconfig},
		{"a b@example.com", "autodiscover.example.com", "/autodiscover/autodiscover.xml"},
		{"x@10.0.0.1", "autoconfig.10.0.0.1", "/mail/config-v1.1.xml"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	s := &Server{cfg: Config{Domains: []string{"example.com"}}}
	f.Fuzz(func(t *testing.T, addr, host, path string) {
		// Escaped as a careful client escapes it: every reserved byte as %XX, a space as %20.
		u := url.URL{Path: path, RawQuery: "emailaddress=" + strings.ReplaceAll(url.QueryEscape(addr), "+", "%20")}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL, r.Host = &u, host
		got, err := emailParam(r)
		if err != nil {
			wantCode(t, err, codeBadTarget)
			return
		}
		if got != strings.TrimSpace(addr) {
			t.Fatalf("emailaddress %q read as %q", addr, got)
		}
		tg, hasAddr, err := s.parseAddress(got)
		if err != nil {
			wantCode(t, err, codeBadTarget, codePrivateAddress)
			return
		}
		if hasAddr && tg.Address == "" {
			t.Fatalf("address %q accepted without an address", addr)
		}
		for _, prefix := range []string{"autoconfig.", "autodiscover."} {
			if d := s.clientDomain(tg, hasAddr, r, prefix); d != "" && d != "example.com" {
				t.Fatalf("answers for %q, which is not listed (address %q, host %q, path %q)", d, addr, host, path)
			}
		}
	})
}

// With --trust-proxy-headers the client's address is read from X-Forwarded-For, which a client
// may fill with anything. Whatever the headers and the peer address say, the rate limiter gets
// a valid, unmapped address, its bucket prefix holds it, and the headers count only when
// trusted.
func FuzzClientAddr(f *testing.F) {
	for _, s := range [][2]string{
		{"192.0.2.7:4711", "203.0.113.9"},
		{"[2001:db8::7]:4711", "198.51.100.1, 2001:db8:1::1"},
		{"[::ffff:192.0.2.7]:1", " ::ffff:10.1.2.3 "},
		{"pipe", "garbage, , "},
		{"192.0.2.7", "[2001:db8::1]:80"},
		{"", "fe80::1%eth0"},
	} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, remote, xff string, trust bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		a := clientAddr(r, trust)
		if !a.IsValid() || a != a.Unmap() {
			t.Fatalf("client address %v from %q, %q", a, remote, xff)
		}
		if p := clientPrefix(a); !p.IsValid() || !p.Contains(a.WithZone("")) { // a link-local peer may have a zone
			t.Fatalf("prefix %v of %v", p, a)
		}
		if !trust {
			r.Header.Del("X-Forwarded-For")
			if b := clientAddr(r, false); b != a {
				t.Fatalf("untrusted X-Forwarded-For %q changed the client from %v to %v", xff, b, a)
			}
		}
	})
}

// Stored reports are read back from the database file: gzipped JSON that a corrupt or edited
// row may have turned into anything. Whatever the blob: no panic, and a report that decodes
// is stored again and read back unchanged (the permalink shows what was saved).
func FuzzDecodeReport(f *testing.F) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	if seed, err := os.ReadFile("../report/testdata/discover_broken.json"); err == nil {
		f.Add(seed, false)
	} else {
		f.Fatal(err)
	}
	blob, err := encodeReport(&discover.Report{Target: "alice@example.com", Domain: "example.com"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob, true)
	f.Add(gz([]byte("{}"))[:10], true)
	for _, s := range []string{
		`{"target":"x","elapsed_ms":1.2345678,"configs":[{"timings_ms":{"connect":1e300,"total":-0.0004},"transcript":[{"t_ms":-1e19}]}]}`,
		`{"probes":[{"timeouts_ms":{"deadline":9.3e15}}],"recommended":{"incoming":null},"diagnosis":{"tried":null}}`,
		`{"target":"\ud800\u2028<script>","sources":[{"kind":"srv"}],"warnings":[{"code":"x"}]}`,
		`null`, `[]`, `{"elapsed_ms":"1"}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if !raw {
			data = gz(data) // the JSON inside, fuzzed through the real framing
		}
		rep, err := decodeReport(data)
		if err != nil {
			return
		}
		first, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("a decoded report does not encode: %v", err)
		}
		blob, err := encodeReport(rep)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeReport(blob)
		if err != nil {
			t.Fatalf("a stored report does not read back: %v", err)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("stored and read back, the report changed:\n%s\n%s", first, second)
		}
	})
}
