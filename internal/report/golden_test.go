package report

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	goldenfile "github.com/mailscout/mailscout/internal/golden"
	"github.com/mailscout/mailscout/probe"
)

// golden compares got with testdata/name, or rewrites it with -update (package golden).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

func loadResults(t *testing.T) []probe.Result {
	t.Helper()
	data, err := os.ReadFile("testdata/probe_results.json")
	if err != nil {
		t.Fatal(err)
	}
	var rs []probe.Result
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // the fixture must use exactly the contract's field names
	if err := dec.Decode(&rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestProbeTableGolden(t *testing.T) {
	for _, l := range []Layout{{Width: 100}, {Width: 100, Wide: true}} {
		var buf bytes.Buffer
		if err := ProbeTable(&buf, loadResults(t), l); err != nil {
			t.Fatal(err)
		}
		name := "probe_table.golden"
		if l.Wide {
			name = "probe_table_wide.golden"
		} else {
			checkWidth(t, name, buf.String(), l.Width)
		}
		golden(t, name, buf.Bytes())
	}
}

func ms(f float64) time.Duration { return probe.FromMillis(f) }

// The JSON contract: field names, nesting and the always-present keys. A rename breaks this test.
func TestProbeJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := ProbeJSON(&buf, loadResults(t)[:2]); err != nil {
		t.Fatal(err)
	}
	golden(t, "probe.json.golden", buf.Bytes())
}

func TestTranscriptGolden(t *testing.T) {
	r := probe.Result{Protocol: probe.SMTP, Host: "mx.example.test", Port: 587, Security: probe.StartTLS, Address: "192.0.2.1:587",
		Transcript: []probe.TranscriptLine{
			{At: ms(1.2), Dir: "S", Text: "220 mx.example.test ESMTP"},
			{At: ms(1.3), Dir: "C", Text: "EHLO [192.0.2.99]"},
			{At: ms(2.0), Dir: "S", Text: "250-mx.example.test"},
			{At: ms(2.0), Dir: "S", Text: "250 STARTTLS"},
			{At: ms(2.1), Dir: "C", Text: "STARTTLS"},
			{At: ms(2.5), Dir: "S", Text: "220 2.0.0 go ahead"},
			{At: ms(2.5), Dir: "*", Text: "TLS handshake"},
			{At: ms(9.8), Dir: "*", TLS: true, Text: "TLS 1.3 TLS_AES_128_GCM_SHA256, certificate valid"},
			{At: ms(9.9), Dir: "C", TLS: true, Text: "EHLO [192.0.2.99]"},
			{At: ms(10.4), Dir: "S", TLS: true, Text: "421 4.3.2 shutting down"},
		},
		Error: "EHLO after STARTTLS: server answered 421 4.3.2 shutting down",
	}
	var buf bytes.Buffer
	if err := Transcript(&buf, []probe.Result{r}, Layout{Width: 100}); err != nil {
		t.Fatal(err)
	}
	golden(t, "transcript.golden", buf.Bytes())
}

// The error kinds are a public contract (README.md); this pins the list.
func TestErrorKindsGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, k := range probe.Kinds() {
		buf.WriteString(string(k) + "\n")
	}
	golden(t, "error_kinds.golden", buf.Bytes())
}
