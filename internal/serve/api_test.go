package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/report"
	"github.com/mailscout/mailscout/probe"
)

// GET /v1/discover answers the discover --json contract byte for byte, and the permalink's JSON
// is the same report.
func TestDiscoverIsTheCLIContract(t *testing.T) {
	ts := newTestServer(t, nil)
	resp, body := ts.get(t, "/v1/discover?target=alice@good.example")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, clip(string(body)))
	}
	id := resp.Header.Get("X-Mailscout-Result")
	if !validID(id) || resp.Header.Get("Link") != `</r/`+id+`>; rel="alternate"; type="text/html"` {
		t.Errorf("permalink headers: %q, %q", id, resp.Header.Get("Link"))
	}
	res := ts.disc.cache.get(key{target: "alice@good.example", protocols: allProtocols})
	if res == nil {
		t.Fatal("the result is not in the cache")
	}
	var want bytes.Buffer
	if err := report.DiscoverJSON(&want, withoutTranscripts(res.Report)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want.Bytes()) {
		t.Errorf("body differs from report.DiscoverJSON of the same report")
	}
	rep := decodeReportJSON(t, body)
	if rep.Diagnosis.Status != discover.StatusOK || rep.Recommended.Incoming == nil || rep.Recommended.Outgoing == nil {
		t.Errorf("diagnosis %+v", rep.Diagnosis)
	}
	if strings.Contains(string(body), `"transcript"`) {
		t.Error("transcripts in a response that did not ask for them")
	}
	transcripts := 0
	for _, p := range res.Report.Probes {
		transcripts += len(p.Transcript)
	}
	if transcripts == 0 {
		t.Error("the kept report has no transcript for the page")
	}

	_, withTranscript := ts.get(t, "/v1/discover?target=alice@good.example&transcript=1")
	if !strings.Contains(string(withTranscript), `"transcript"`) {
		t.Error("transcript=1 gave no transcript")
	}
	resp, stored := ts.get(t, "/v1/results/"+id)
	if resp.StatusCode != 200 || !reflect.DeepEqual(withoutTimings(t, stored), withoutTimings(t, body)) {
		t.Errorf("/v1/results/%s: status %d, a different report:\n%s", id, resp.StatusCode, clip(string(stored)))
	}
}

// withoutTimings decodes a report and drops its durations: probe.FromMillis truncates, so a
// report read back from the store can differ from the original by a microsecond.
func withoutTimings(t testing.TB, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "timings_ms")
			delete(x, "elapsed_ms")
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return v
}

// The query's mode and protocols reach the engine and make their own cache entry.
func TestDiscoverParameters(t *testing.T) {
	ts := newTestServer(t, nil)
	cases := []struct {
		query        string
		in, out      bool
		protocolsKey string
	}{
		{"target=alice@good.example&protocols=imap", true, false, "imap"},
		{"target=alice@good.example&protocols=pop3,smtp,smtp", true, true, "smtp,pop3"},
		{"target=alice@good.example&fast=1", true, true, allProtocols},
		{"target=GOOD.example.", true, true, allProtocols},
	}
	for _, tc := range cases {
		resp, body := ts.get(t, "/v1/discover?"+tc.query)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tc.query, resp.StatusCode, clip(string(body)))
		}
		rep := decodeReportJSON(t, body)
		if (rep.Recommended.Incoming != nil) != tc.in || (rep.Recommended.Outgoing != nil) != tc.out {
			t.Errorf("%s: incoming %v, outgoing %v", tc.query, rep.Recommended.Incoming, rep.Recommended.Outgoing)
		}
		for _, p := range rep.Probes {
			if !strings.Contains(tc.protocolsKey, string(p.Protocol)) {
				t.Errorf("%s: probed %s", tc.query, p.Protocol)
			}
		}
	}
	if n := ts.disc.cache.len(); n != len(cases) {
		t.Errorf("%d cache entries, want one per distinct request (%d)", n, len(cases))
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, data string }

func readEvents(t testing.TB, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func stream(t testing.TB, ts *testServer, query string) []sseEvent {
	t.Helper()
	resp, err := ts.client.Get(ts.URL + "/v1/discover/stream?" + query)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Errorf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readEvents(t, resp.Body)
}

// The stream sends progress, then the report and the permalink; a second client that joins
// the same discovery sees every event from the first; a cached answer comes at once.
func TestStream(t *testing.T) {
	ts := newTestServer(t, nil)
	var runs [2][]sseEvent
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { runs[i] = stream(t, ts, "target=alice@"+domSlower) })
	}
	wg.Wait()
	for i, evs := range runs {
		if len(evs) < 4 {
			t.Fatalf("stream %d: only %d events", i, len(evs))
		}
		names := make([]string, len(evs))
		for j, e := range evs {
			names[j] = e.name
		}
		last := len(evs) - 1
		if evs[last].name != "done" || evs[last-1].name != "report" {
			t.Fatalf("stream %d ends with %v", i, names[max(0, last-3):])
		}
		for _, e := range evs[:last-1] {
			if e.name != "progress" {
				t.Fatalf("stream %d: %q before the report", i, e.name)
			}
			var ev discover.Event
			if err := json.Unmarshal([]byte(e.data), &ev); err != nil || ev.Kind == "" {
				t.Fatalf("progress event %q: %v", e.data, err)
			}
		}
		rep := decodeReportJSON(t, []byte(evs[last-1].data))
		if rep.Diagnosis.Status != discover.StatusOK {
			t.Errorf("stream %d: status %s", i, rep.Diagnosis.Status)
		}
		var done struct{ ID, Permalink string }
		if err := json.Unmarshal([]byte(evs[last].data), &done); err != nil || !validID(done.ID) || done.Permalink != "/r/"+done.ID {
			t.Errorf("done %q", evs[last].data)
		}
	}
	if len(runs[0]) != len(runs[1]) || runs[0][0] != runs[1][0] {
		t.Errorf("the joiner saw %d events starting %v; the starter %d starting %v", len(runs[1]), runs[1][0], len(runs[0]), runs[0][0])
	}
	if n := ts.engine.Stats().Discoveries; n != 1 {
		t.Errorf("%d discoveries for two identical streams", n)
	}
	cached := stream(t, ts, "target=alice@"+domSlower)
	if len(cached) != 2 || cached[0].name != "report" || cached[1].name != "done" {
		t.Errorf("cached stream: %v", cached)
	}
}

// /v1/probe infers protocol and modes from the port as the CLI does, and says what a name
// that does not resolve is, in the probe --json contract.
func TestProbe(t *testing.T) {
	ts := newTestServer(t, nil)
	type want struct {
		protocol probe.Protocol
		port     int
		security probe.Security
		ok       bool
		kind     probe.Kind
		verdict  discover.Verdict
	}
	cases := []struct {
		query string
		want  []want
	}{
		{"endpoint=imap.good.example:993", []want{{probe.IMAP, 993, probe.TLS, true, "", discover.Usable}}},
		{"endpoint=smtp.good.example:587&security=starttls", []want{{probe.SMTP, 587, probe.StartTLS, true, "", discover.Usable}}},
		{"endpoint=smtp.good.example&protocol=smtp", []want{{probe.SMTP, 465, probe.TLS, true, "", discover.Usable}, {probe.SMTP, 587, probe.StartTLS, true, "", discover.Usable}, {probe.SMTP, 587, probe.Plain, true, "", discover.Unusable}}},
		{"endpoint=imap.good.example:143", []want{{probe.IMAP, 143, probe.StartTLS, false, probe.KindRefused, discover.Unusable}, {probe.IMAP, 143, probe.Plain, false, probe.KindRefused, discover.Unusable}}},
		{"endpoint=nowhere.good.example:993", []want{{probe.IMAP, 993, probe.TLS, false, probe.KindDNS, discover.Unusable}}},
	}
	for _, tc := range cases {
		resp, body := ts.get(t, "/v1/probe?"+tc.query)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tc.query, resp.StatusCode, clip(string(body)))
		}
		var got struct{ Results []report.ProbeResult }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Results) != len(tc.want) {
			t.Fatalf("%s: %d results, want %d", tc.query, len(got.Results), len(tc.want))
		}
		for i, w := range tc.want {
			r := got.Results[i]
			if r.Protocol != w.protocol || r.Port != w.port || r.Security != w.security || r.OK != w.ok || r.ErrorKind != w.kind || r.Verdict != w.verdict {
				t.Errorf("%s result %d: %s %d %s ok=%v kind=%q verdict=%s (%s)", tc.query, i, r.Protocol, r.Port, r.Security, r.OK, r.ErrorKind, r.Verdict, r.Error)
			}
		}
	}
}

// The probe's body is the CLI's: ProbeJSON of what probe.Run returned.
func TestProbeIsTheCLIContract(t *testing.T) {
	ts := newTestServer(t, nil)
	_, body := ts.get(t, "/v1/probe?endpoint=imap.good.example:993&transcript=1")
	var doc map[string][]map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	r := doc["results"][0]
	for _, k := range []string{"protocol", "host", "port", "address", "security", "ok", "error_kind", "greeting", "capabilities", "auth_methods", "tls", "warnings", "timings_ms", "verdict", "blockers", "verdict_text", "transcript"} {
		if _, ok := r[k]; !ok {
			t.Errorf("key %q missing from the probe result", k)
		}
	}
}

// Credentials: accepted only over TLS with --allow-login, used for this request alone, and
// found nowhere afterwards: not in the logs, not in the store, not in the cache.
func TestLogin(t *testing.T) {
	const password = "demo-password"
	ts := newTLSTestServer(t, func(c *Config) { c.AllowLogin = true })
	post := func(target, pw string) (*http.Response, []byte) {
		b, _ := json.Marshal(loginBody{Target: target, Password: pw})
		req := mustRequest(t, http.MethodPost, ts.URL+"/v1/discover", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return do(t, ts.client, req)
	}
	cases := []struct {
		password string
		status   string
		loginOK  bool
	}{
		{password, discover.StatusOK, true},
		{"wrong", discover.StatusLoginFailed, false},
	}
	for _, tc := range cases {
		resp, body := post("alice@good.example", tc.password)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, clip(string(body)))
		}
		rep := decodeReportJSON(t, body)
		in := rep.Recommended.Incoming
		if rep.Diagnosis.Status != tc.status || (in != nil && in.LoginOK) != tc.loginOK {
			t.Errorf("password %q: status %s, incoming %+v", tc.password, rep.Diagnosis.Status, in)
		}
		if resp.Header.Get("X-Mailscout-Result") != "" {
			t.Error("a login result got a permalink")
		}
	}
	var rows int
	if err := ts.store.db.QueryRow(`SELECT count(*) FROM results`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d rows stored after logins (%v)", rows, err)
	}
	if n := ts.disc.cache.len(); n != 0 {
		t.Errorf("%d cache entries after logins", n)
	}
	if strings.Contains(ts.logs.String(), password) || strings.Contains(ts.logs.String(), "wrong") {
		t.Errorf("a password is in the logs:\n%s", ts.logs.String())
	}
	if !strings.Contains(ts.logs.String(), `"login":true`) {
		t.Errorf("the logins were not logged at all:\n%s", ts.logs.String())
	}
}

// Behind a reverse proxy that terminates TLS, X-Forwarded-Proto counts only when the operator
// says the proxy's headers are to be trusted.
func TestLoginBehindProxy(t *testing.T) {
	cases := []struct {
		trust bool
		proto string
		code  string
	}{
		{true, "https", ""},
		{false, "https", codeTLSRequired},
		{true, "http", codeTLSRequired},
	}
	for _, tc := range cases {
		ts := newTestServer(t, func(c *Config) { c.AllowLogin, c.TrustProxyHeaders = true, tc.trust })
		req := mustRequest(t, http.MethodPost, ts.URL+"/v1/discover", strings.NewReader(`{"target":"alice@good.example","password":"demo-password","protocols":"imap"}`))
		req.Header.Set("X-Forwarded-Proto", tc.proto)
		resp, body := do(t, ts.client, req)
		if got := errorCode(body); got != tc.code || tc.code == "" && resp.StatusCode != 200 {
			t.Errorf("trust=%v proto=%s: status %d code %q, want %q", tc.trust, tc.proto, resp.StatusCode, got, tc.code)
		}
	}
}

// /v1/probe runs on the engine, under its politeness: with --per-ip 1 the three modes of one
// host's two IMAP ports, asked for by two requests at once, never hold more than one session to
// its address. (probe.Run directly, as it once was, opened all of them at once.)
func TestProbePerIP(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Engine.PerIP = 1 })
	host := "mail." + domBusy
	var wg sync.WaitGroup
	bodies := make([][]byte, 2)
	for i := range bodies {
		wg.Go(func() {
			resp, body := ts.get(t, "/v1/probe?endpoint="+host+"&protocol=imap")
			if resp.StatusCode != 200 {
				t.Errorf("status %d: %s", resp.StatusCode, clip(string(body)))
			}
			bodies[i] = body
		})
	}
	wg.Wait()
	if n := testWorld(t).MaxConcurrent(host); n != 1 {
		t.Errorf("%d sessions at once to %s, want 1 (--per-ip 1)", n, host)
	}
	for _, body := range bodies {
		var got struct{ Results []report.ProbeResult }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		var modes []string
		for _, r := range got.Results {
			modes = append(modes, fmt.Sprintf("%d %s %v", r.Port, r.Security, r.OK))
		}
		if want := "993 tls true,143 starttls true,143 plain true"; strings.Join(modes, ",") != want {
			t.Errorf("results %q, want %s", modes, want)
		}
		if strings.Contains(string(body), `"transcript"`) {
			t.Error("transcripts without transcript=1")
		}
	}
}

// A stream outlives the server's WriteTimeout and stays open through a discovery's silences:
// every write, keep-alive comments included, moves the write deadline on. Here the heartbeat is
// 150 ms (each write may take two) and WriteTimeout 300 ms, while the discovery is silent for
// most of a second between its DNS answers and its first probes.
func TestStreamKeepAliveRenewsTheWriteDeadline(t *testing.T) {
	c := testConfig(t)
	c.heartbeat = 150 * time.Millisecond
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Config.WriteTimeout = 300 * time.Millisecond
	hs.Start()
	t.Cleanup(func() { hs.Close(); s.Close() })
	resp, err := hs.Client().Get(hs.URL + "/v1/discover/stream?target=keepalive@" + domSlower)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the stream was cut: %v\n%s", err, raw)
	}
	evs := readEvents(t, bytes.NewReader(raw))
	if len(evs) < 2 || evs[len(evs)-1].name != "done" || evs[len(evs)-2].name != "report" {
		t.Fatalf("the stream did not end with the report and done:\n%s", raw)
	}
	if n := strings.Count(string(raw), ": keep-alive\n"); n < 2 {
		t.Errorf("%d keep-alive comments in a stream silent for several heartbeats", n)
	}
}
