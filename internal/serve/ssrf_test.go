package serve

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

func TestCheckTargetDomain(t *testing.T) {
	cases := []struct {
		domain       string
		allowPrivate bool
		code         string
	}{
		{"example.com", false, ""},
		{"10.0.0.1", false, codePrivateAddress},
		{"127.0.0.1", false, codePrivateAddress},
		{"169.254.169.254", false, codePrivateAddress},
		{"100.64.0.1", false, codePrivateAddress},
		{"::1", false, codePrivateAddress},
		{"::ffff:192.168.1.1", false, codePrivateAddress},
		{"8.8.8.8", false, codeBadTarget},
		{"10.0.0.1", true, codeBadTarget},
	}
	for _, tc := range cases {
		err := checkTargetDomain(tc.domain, tc.allowPrivate)
		got := ""
		if err != nil {
			got = asAPIError(err).Code
		}
		if got != tc.code {
			t.Errorf("%s (allow %v): %q, want %q", tc.domain, tc.allowPrivate, got, tc.code)
		}
	}
}

func TestPrivateOnly(t *testing.T) {
	p := func(ok bool, kind probe.Kind) discover.Config {
		return discover.Config{Result: probe.Result{OK: ok, ErrorKind: kind}}
	}
	cases := []struct {
		name   string
		probes []discover.Config
		want   bool
	}{
		{"nothing probed", nil, false},
		{"all refused", []discover.Config{p(false, probe.KindNotAllowed), p(false, probe.KindNotAllowed)}, true},
		{"refused, and names that do not exist", []discover.Config{p(false, probe.KindNotAllowed), p(false, probe.KindDNS), p(false, probe.KindCanceled)}, true},
		{"refused, and a public server that is down", []discover.Config{p(false, probe.KindNotAllowed), p(false, probe.KindConnectTimeout)}, false},
		{"refused, and one that works", []discover.Config{p(false, probe.KindNotAllowed), p(true, "")}, false},
		{"nothing exists", []discover.Config{p(false, probe.KindDNS)}, false},
	}
	for _, tc := range cases {
		if got := privateOnly(&discover.Report{Probes: tc.probes}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPublicAddrs(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.3.1"), netip.MustParseAddr("fd00::1")}
	ok, refused, class := publicAddrs(addrs, false)
	if len(ok) != 1 || ok[0].String() != "192.0.3.1" || refused.String() != "127.0.0.1" || class != "loopback" {
		t.Errorf("got %v, refused %v (%s)", ok, refused, class)
	}
	if ok, _, _ := publicAddrs(addrs, true); len(ok) != 3 {
		t.Errorf("allowPrivate kept %v", ok)
	}
}

// Under the default policy a domain on public addresses is discovered, and its autoconfig
// redirect into the network is not followed: the inside host is never asked.
func TestGuardLetsThePublicInternetThrough(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AllowPrivate = false })
	w := testWorld(t)
	before := len(w.WebRequests())
	resp, body := ts.get(t, "/v1/discover?target=alice@public.example")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, clip(string(body)))
	}
	rep := decodeReportJSON(t, body)
	if rep.Diagnosis.Status != discover.StatusOK {
		t.Errorf("status %s: %s", rep.Diagnosis.Status, rep.Diagnosis.Summary)
	}
	asked := w.WebRequests()[before:] // only this test discovers public.example
	if slices.ContainsFunc(asked, func(u string) bool { return strings.Contains(u, "inside.example") }) {
		t.Errorf("the autoconfig redirect to a loopback host was followed: %v", asked)
	}
	if !slices.ContainsFunc(asked, func(u string) bool { return strings.Contains(u, "autoconfig.public.example") }) {
		t.Errorf("the public autoconfig was not fetched at all: %v", asked)
	}
	for _, p := range rep.Probes {
		if p.Address != "" && !strings.HasPrefix(p.Address, "192.0.3.") {
			t.Errorf("connected to %s", p.Address)
		}
	}
	resp, body = ts.get(t, "/v1/probe?endpoint=mail.public.example:993")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"verdict": "usable"`) {
		t.Errorf("probe of a public host: %d %s", resp.StatusCode, clip(string(body)))
	}
}

// A refusal says a target is not public, never what the service's resolver answered for it:
// strangers must not map internal names to internal addresses through the service.
func TestRefusalsKeepInternalAddresses(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AllowPrivate = false })
	for _, path := range []string{
		"/v1/probe?endpoint=imap." + domInternal + ":993",
		"/v1/probe?endpoint=mail." + domInternal,
		"/v1/discover?target=alice@" + domInternal,
	} {
		resp, b := ts.get(t, path)
		if resp.StatusCode != 403 || errorCode(b) != codePrivateAddress {
			t.Errorf("%s: %d %s", path, resp.StatusCode, clip(string(b)))
		}
		for _, addr := range []string{"10.1.2.3", "127.0.0.25"} {
			if strings.Contains(string(b), addr) {
				t.Errorf("%s: the answer names %s: %s", path, addr, clip(string(b)))
			}
		}
	}
}
