package serve

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// The OpenAPI document names every route and every error code, each code with its status, and
// the README lists the same codes.
func TestOpenAPI(t *testing.T) {
	ts := newTestServer(t, nil)
	resp, body := ts.get(t, "/v1/openapi.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum        []string `json:"enum"`
									Description string   `json:"description"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	routes := map[string][]string{
		"/v1/discover": {"get", "post"}, "/v1/discover/stream": {"get"}, "/v1/probe": {"get"}, "/v1/results/{id}": {"get"},
		"/v1/openapi.json": {"get"}, "/mail/config-v1.1.xml": {"get"}, "/.well-known/autoconfig/mail/config-v1.1.xml": {"get"},
		"/autodiscover/autodiscover.xml": {"post", "get"}, "/v1/profile.mobileconfig": {"get"}, "/healthz": {"get"}, "/metrics": {"get"},
		"/": {"get"}, "/r/{id}": {"get"},
	}
	if got, want := slices.Sorted(maps.Keys(doc.Paths)), slices.Sorted(maps.Keys(routes)); !slices.Equal(got, want) {
		t.Errorf("documented paths %v, want %v", got, want)
	}
	for p, ms := range routes {
		for _, m := range ms {
			if _, ok := doc.Paths[p][m]; !ok {
				t.Errorf("%s %s is not documented", strings.ToUpper(m), p)
			}
		}
	}
	code := doc.Components.Schemas.Error.Properties.Error.Properties.Code
	codes := slices.Sorted(maps.Keys(errorStatus))
	if got := slices.Sorted(slices.Values(code.Enum)); !slices.Equal(got, codes) {
		t.Errorf("documented codes %v, want %v", got, codes)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		status := strconv.Itoa(errorStatus[c])
		if !strings.Contains(code.Description, c+" "+status) {
			t.Errorf("the OpenAPI description does not give %s its status %s", c, status)
		}
		if !strings.Contains(string(readme), "| `"+c+"` | "+status+" |") {
			t.Errorf("the root README.md does not list %s with %s", c, status)
		}
	}
}

// A progress event's data is discover.Event's JSON, and the OpenAPI document's Event schema
// names exactly its fields (there is no "endpoint": a probe's endpoint is protocol, host, port
// and security). Every event a stream really sends has only those fields.
func TestEventSchemaIsTheEventJSON(t *testing.T) {
	full, err := json.Marshal(discover.Event{Kind: discover.EventProbe, Source: "s", Name: "n", Protocol: probe.IMAP, Host: "h",
		Port: 1, Security: probe.TLS, OK: true, ErrorKind: probe.KindRefused, Error: "e", Verdict: discover.Usable, Shared: true,
		Done: 1, Total: 1, Elapsed: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(full, &fields); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Event struct {
					Properties map[string]any `json:"properties"`
				} `json:"Event"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.Event.Properties
	if got, want := slices.Sorted(maps.Keys(documented)), slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Errorf("the Event schema has %v; discover.Event's JSON has %v", got, want)
	}
	ts := newTestServer(t, nil)
	evs := stream(t, ts, "target=alice@"+domGood)
	n := 0
	for _, e := range evs {
		if e.name != "progress" {
			continue
		}
		n++
		var got map[string]any
		if err := json.Unmarshal([]byte(e.data), &got); err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if _, ok := documented[k]; !ok {
				t.Errorf("a progress event has the undocumented field %q: %s", k, e.data)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no progress events: %v", evs)
	}
}
