package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// apiStream is GET /v1/discover/stream: the discovery as Server-Sent Events
// (html.spec.whatwg.org, "Server-sent events"), what a setup wizard shows while it waits:
//
//	event: progress   data: a discover.Event (a source, probe or login finished), in order
//	event: report     data: the report, the discover --json contract
//	event: done       data: {"id":"…","permalink":"/r/…"} (id "" when the result was not stored)
//	event: error      data: {"error":{"code":…,"message":…}} (instead of report and done)
//
// A request that joins a discovery already running gets its events from the first; a cached
// answer gets report and done at once. Errors found before the stream starts (bad target,
// rate limit, busy) are ordinary JSON errors with their HTTP status.
func (s *Server) apiStream(w http.ResponseWriter, r *http.Request) {
	req, transcript, err := s.discoverQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	res, f, err := s.disc.lookup(req, s.client(r))
	if err != nil {
		writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	ev := &eventWriter{w: w, rc: http.NewResponseController(w), heartbeat: s.cfg.heartbeatEvery()}
	ev.open()
	if res == nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Deadline+10*time.Second)
		defer cancel()
		if res, err = ev.follow(ctx, f); err != nil {
			ev.send("error", errorBody(asAPIError(err)))
			return
		}
	}
	rep := res.Report
	if !transcript {
		rep = withoutTranscripts(rep)
	}
	ev.send("report", rep) // the discover --json contract, compact: an event's data is one line
	done := struct {
		ID        string `json:"id"`
		Permalink string `json:"permalink"`
	}{ID: res.ID}
	if res.ID != "" {
		done.Permalink = "/r/" + res.ID
	}
	ev.send("done", done)
}

// eventWriter writes Server-Sent Events and flushes each one. Every write — the headers, an
// event, a keep-alive comment — first moves the connection's write deadline to two heartbeats
// ahead: a stream lasts as long as its discovery, longer than any server-wide WriteTimeout, and
// a write that takes two heartbeats means the client is gone.
type eventWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	heartbeat time.Duration // keeps proxies and browsers from closing a quiet stream (nginx's default proxy_read_timeout is 60 s; a discovery can be silent for a connect timeout)
	seq       int
	err       error // the first write error: the client is gone, stop writing
}

// open sends the headers at once, so the client sees the stream open before the first event.
func (ev *eventWriter) open() {
	ev.renew()
	ev.err = ev.rc.Flush()
}

// renew moves the write deadline before a write.
func (ev *eventWriter) renew() {
	_ = ev.rc.SetWriteDeadline(time.Now().Add(2 * ev.heartbeat))
}

// follow sends the flight's progress as it happens and returns its outcome.
func (ev *eventWriter) follow(ctx context.Context, f *flight) (*result, error) {
	tick := time.NewTicker(ev.heartbeat)
	defer tick.Stop()
	next := 0
	for {
		events, changed := f.since(next)
		next += len(events)
		for _, e := range events {
			ev.send("progress", e)
		}
		select {
		case <-f.done:
			if more, _ := f.since(next); len(more) > 0 {
				continue // events published before the end, not yet sent
			}
			return f.res, f.err
		default:
		}
		select {
		case <-changed:
		case <-f.done:
		case <-tick.C:
			ev.comment("keep-alive")
		case <-ctx.Done():
			return nil, errTimeout
		}
		if ev.err != nil {
			return nil, ev.err
		}
	}
}

func (ev *eventWriter) send(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(errorBody(newError(codeInternal, "encoding an event failed")))
		event = "error"
	}
	ev.sendRaw(event, data)
}

// sendRaw writes one event whose data is a single line (compact JSON has no newline).
func (ev *eventWriter) sendRaw(event string, data []byte) {
	if ev.err != nil {
		return
	}
	ev.seq++
	ev.renew()
	if _, err := fmt.Fprintf(ev.w, "id: %d\nevent: %s\ndata: %s\n\n", ev.seq, event, data); err != nil {
		ev.err = err
		return
	}
	ev.err = ev.rc.Flush()
}

func (ev *eventWriter) comment(text string) {
	if ev.err != nil {
		return
	}
	ev.renew()
	if _, err := fmt.Fprintf(ev.w, ": %s\n\n", text); err != nil {
		ev.err = err
		return
	}
	ev.err = ev.rc.Flush()
}
