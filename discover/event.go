package discover

import (
	"encoding/json"
	"time"

	"github.com/mailscout/mailscout/probe"
)

// Event is a progress notice: a source, a probe or a login finished. A setup wizard shows
// them while it waits; `mailscout serve` streams them as Server-Sent Events. Its JSON form is
// part of the public contract.
type Event struct {
	Kind EventKind `json:"kind"`
	// Source and Name: for a source, its kind (srv, autoconfig, …) and what it looked up.
	Source string `json:"source,omitempty"`
	Name   string `json:"name,omitempty"`
	// The endpoint, for a probe or a login.
	Protocol probe.Protocol `json:"protocol,omitempty"`
	Host     string         `json:"host,omitempty"`
	Port     int            `json:"port,omitempty"`
	Security probe.Security `json:"security,omitempty"`
	// OK, ErrorKind and Error say how it went; Verdict is a probe's verdict (none for a probe
	// that was canceled before it could show anything); Shared says
	// another discovery's probe (or the engine's cache) answered it.
	OK        bool       `json:"ok"`
	ErrorKind probe.Kind `json:"error_kind,omitempty"`
	Error     string     `json:"error,omitempty"`
	Verdict   Verdict    `json:"verdict,omitempty"`
	Shared    bool       `json:"shared,omitempty"`
	// Done is how many probes have finished, Total how many have been started or queued so far:
	// it never shrinks, and grows as sources name more servers.
	Done  int `json:"done"`
	Total int `json:"total"`
	// Elapsed is the time since the discovery started ("elapsed_ms" in JSON).
	Elapsed time.Duration `json:"-"`
}

// EventKind says what finished.
type EventKind string

const (
	EventSource EventKind = "source"
	EventProbe  EventKind = "probe"
	EventLogin  EventKind = "login"
)

// MarshalJSON adds elapsed_ms.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		ElapsedMS float64 `json:"elapsed_ms"`
	}{plain(e), probe.Millis(e.Elapsed)})
}
