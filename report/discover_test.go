package report

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/mailscout/mailscout/discover"
)

// loadReport reads a fixture made from the demo world (timings and dates normalised). Unknown
// fields are an error, so the fixture and the Report type must agree on every name.
func loadReport(t *testing.T, name string) (*discover.Report, []byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/discover_" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var r discover.Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return &r, data
}

// The discovery JSON contract: encoding a decoded fixture gives back exactly the fixture's
// keys and values, so no field can be renamed, dropped or added unnoticed.
func TestDiscoverJSONContract(t *testing.T) {
	for _, name := range []string{"srv", "guess", "customer", "broken", "login"} {
		r, data := loadReport(t, name)
		var buf bytes.Buffer
		if err := DiscoverJSON(&buf, r); err != nil {
			t.Fatal(err)
		}
		var want, got any
		json.Unmarshal(data, &want)
		json.Unmarshal(buf.Bytes(), &got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: JSON round trip differs from the fixture:\n%s", name, buf.String())
		}
	}
}

func TestDiscoverTableGolden(t *testing.T) {
	for _, name := range []string{"srv", "guess", "customer", "broken", "login"} {
		r, _ := loadReport(t, name)
		var buf bytes.Buffer
		if err := DiscoverTable(&buf, r, false); err != nil {
			t.Fatal(err)
		}
		golden(t, "discover_"+name+"_table.golden", buf.Bytes())
	}
	r, _ := loadReport(t, "broken")
	var buf bytes.Buffer
	if err := DiscoverTable(&buf, r, true); err != nil {
		t.Fatal(err)
	}
	golden(t, "discover_broken_verbose.golden", buf.Bytes())
}

// The autoconfig output is pinned, and must be a document mailscout (and so Thunderbird's
// format rules as we read them) accepts.
func TestAutoconfigGolden(t *testing.T) {
	for _, name := range []string{"srv", "guess", "customer"} {
		r, _ := loadReport(t, name)
		var buf bytes.Buffer
		if err := Autoconfig(&buf, r); err != nil {
			t.Fatal(err)
		}
		golden(t, "autoconfig_"+name+".xml.golden", buf.Bytes())
		doc, err := discover.ParseAutoconfig(buf.Bytes(), r.Domain)
		if err != nil {
			t.Fatalf("%s: our own autoconfig does not parse: %v", name, err)
		}
		if len(doc.Servers) == 0 {
			t.Errorf("%s: no servers", name)
		}
	}
	// RFC 8314 §5.1: no plaintext server when a TLS one works (guess.example's POP3 is
	// plaintext only, so it stays; its SMTP and IMAP have TLS).
	r, _ := loadReport(t, "guess")
	var buf bytes.Buffer
	Autoconfig(&buf, r)
	doc, _ := discover.ParseAutoconfig(buf.Bytes(), r.Domain)
	for _, s := range doc.Servers {
		if s.Security == "plain" && s.Protocol != "pop3" {
			t.Errorf("plaintext %s server in autoconfig although TLS works", s.Protocol)
		}
	}
}
