package report

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailscout/mailscout/discover"
)

// loadReport reads a fixture made from the demo world (see TestFixtures). Unknown fields are
// an error, so the fixture and the Report type must agree on every name.
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

var names = []string{"srv", "guess", "customer", "broken", "login", "badlogin", "dnsfailed", "smtponly", "localfailure"}

// The discovery JSON contract: encoding a decoded fixture gives back exactly the fixture's
// keys and values, so no field can be renamed, dropped or added unnoticed.
func TestDiscoverJSONContract(t *testing.T) {
	for _, name := range names {
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

// The verdict contract: what the fixtures say about the demo world.
func TestDiscoverVerdicts(t *testing.T) {
	guess, _ := loadReport(t, "guess")
	if guess.Diagnosis.Status != discover.StatusOK || guess.Recommended.Outgoing.Port != 587 {
		t.Errorf("guess: %s, outgoing %+v", guess.Diagnosis.Status, guess.Recommended.Outgoing)
	}
	for _, c := range guess.Configs {
		if c.Port == 465 && (c.Verdict != discover.Insecure || !slices.Equal(c.Blockers, []string{discover.BlockerCertExpired})) {
			t.Errorf("guess 465: %s %v", c.Verdict, c.Blockers)
		}
	}
	broken, _ := loadReport(t, "broken")
	if broken.Recommended.Outgoing != nil || broken.Nearest.Outgoing == nil || broken.Diagnosis.Status != discover.StatusPartial {
		t.Errorf("broken: outgoing %+v nearest %+v status %s", broken.Recommended.Outgoing, broken.Nearest.Outgoing, broken.Diagnosis.Status)
	}
	bad, _ := loadReport(t, "badlogin")
	if bad.Diagnosis.Status != discover.StatusLoginFailed {
		t.Errorf("badlogin: %s", bad.Diagnosis.Status)
	}
}

func TestDiscoverTableGolden(t *testing.T) {
	for _, name := range names {
		r, _ := loadReport(t, name)
		var buf bytes.Buffer
		if err := DiscoverTable(&buf, r, Layout{Width: 100}); err != nil {
			t.Fatal(err)
		}
		golden(t, "discover_"+name+"_table.golden", buf.Bytes())
		checkWidth(t, name, buf.String(), 100)
	}
	r, _ := loadReport(t, "broken")
	for _, tt := range []struct {
		name string
		l    Layout
	}{{"verbose", Layout{Width: 100, Verbose: true}}, {"wide", Layout{Width: 100, Wide: true}}, {"80", Layout{Width: 80}}} {
		var buf bytes.Buffer
		if err := DiscoverTable(&buf, r, tt.l); err != nil {
			t.Fatal(err)
		}
		golden(t, "discover_broken_"+tt.name+".golden", buf.Bytes())
		if !tt.l.Wide {
			checkWidth(t, tt.name, buf.String(), tt.l.Width)
		}
	}
}

// checkWidth fails for any line wider than width columns.
func checkWidth(t *testing.T, name, out string, width int) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("%s: a line of %d columns, over %d:\n%s", name, n, width, line)
		}
	}
}
