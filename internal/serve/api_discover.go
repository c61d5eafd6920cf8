package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/internal/report"
	"github.com/mailscout/mailscout/probe"
)

// discoverQuery admits a discovery request (rate limits) and reads its query: the target and
// options (parseDiscover), and whether transcripts are wanted. /v1/discover and its stream share it.
func (s *Server) discoverQuery(r *http.Request) (req discoverRequest, transcript bool, err error) {
	if err := s.admit(r); err != nil {
		return req, false, err
	}
	q := r.URL.Query()
	if req, err = parseDiscover(q, s.cfg.AllowPrivate); err != nil {
		return req, false, err
	}
	transcript, err = boolParam(q, "transcript")
	return req, transcript, err
}

// apiDiscover is GET /v1/discover: the discover --json contract for one target.
func (s *Server) apiDiscover(w http.ResponseWriter, r *http.Request) {
	req, transcript, err := s.discoverQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.disc.get(ctx, req, s.client(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeReport(w, res, transcript)
}

// loginBody is the body of POST /v1/discover.
type loginBody struct {
	Target    string `json:"target"`
	User      string `json:"user"`
	Password  string `json:"password"`
	Fast      bool   `json:"fast"`
	Protocols string `json:"protocols"`
}

// maxLoginBody bounds the POST body: an address, a user name and a password fit in far less.
const maxLoginBody = 16 << 10

// apiDiscoverLogin is POST /v1/discover: a discovery that also logs in. The password is
// accepted only when the operator allows logins, only over TLS, only in the body; it lives in
// this request's memory alone — never logged (instrument logs no bodies), never cached or
// shared with another request, never stored (the result gets no permalink).
func (s *Server) apiDiscoverLogin(w http.ResponseWriter, r *http.Request) {
	switch {
	case !s.cfg.AllowLogin:
		writeError(w, newError(codeLoginNotAllowed, "this service does not accept credentials (its operator has not given --allow-login); use GET /v1/discover without them"))
		return
	case !overHTTPS(r, s.cfg.fromProxy(r)):
		writeError(w, newError(codeTLSRequired, "credentials are accepted only over HTTPS; this request came over plain HTTP"))
		return
	}
	if err := s.admit(r); err != nil {
		writeError(w, err)
		return
	}
	var body loginBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, newError(codeTooLarge, "the body is larger than %d bytes", maxLoginBody))
			return
		}
		writeError(w, newError(codeBadRequest, "the body is not the JSON object {\"target\",\"user\",\"password\"}: %v", err))
		return
	}
	if body.Password == "" {
		writeError(w, newError(codeBadRequest, "password is missing; without credentials use GET /v1/discover"))
		return
	}
	req, err := newDiscoverRequest(body.Target, body.Fast, body.Protocols, false, s.cfg.AllowPrivate)
	if err != nil {
		writeError(w, err)
		return
	}
	req.creds = &probe.Credentials{Username: body.User, Password: body.Password}
	body.Password = ""
	if err := req.creds.Validate(); err != nil {
		writeError(w, newError(codeBadRequest, "credentials: %v", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.disc.login(ctx, req, s.client(r))
	req.creds = nil
	if err != nil {
		writeError(w, err)
		return
	}
	writeReport(w, res, false)
}

// apiResult is GET /v1/results/{id}: a stored report, as the permalink shows it.
func (s *Server) apiResult(w http.ResponseWriter, r *http.Request) {
	res, err := s.stored(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	transcript, err := boolParam(r.URL.Query(), "transcript")
	if err != nil {
		writeError(w, err)
		return
	}
	writeReport(w, res, transcript)
}

// stored loads a result by ID; anything that is not one is not_found.
func (s *Server) stored(ctx context.Context, id string) (*result, error) {
	if !validID(id) {
		return nil, newError(codeNotFound, "no result %q", id)
	}
	res, err := s.store.get(ctx, id)
	switch {
	case errors.Is(err, errNoResult):
		return nil, newError(codeNotFound, "no result %s: it never existed or is older than the retention period", id)
	case err != nil:
		s.log.Error("store", "err", err)
		return nil, newError(codeInternal, "the result could not be read")
	}
	return res, nil
}

// writeReport writes the report in the discover --json contract. The permalink travels in
// headers, not in the body, so the body stays exactly the CLI's. Transcripts are left out
// unless asked for, as the CLI leaves them out without --transcript.
func writeReport(w http.ResponseWriter, res *result, transcript bool) {
	rep := res.Report
	if !transcript {
		rep = withoutTranscripts(rep)
	}
	var buf bytes.Buffer
	if err := report.DiscoverJSON(&buf, rep); err != nil {
		writeError(w, newError(codeInternal, "encoding the report failed"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if res.ID != "" {
		h.Set("X-Mailscout-Result", res.ID)
		h.Set("Link", `</r/`+res.ID+`>; rel="alternate"; type="text/html"`)
	}
	_, _ = w.Write(buf.Bytes())
}

// withoutTranscripts returns a copy of rep whose probes carry no transcript; rep itself is
// shared (cache, other requests) and is not touched.
func withoutTranscripts(rep *discover.Report) *discover.Report {
	c := *rep
	strip := func(cs []discover.Config) []discover.Config {
		if cs == nil {
			return nil
		}
		out := make([]discover.Config, len(cs))
		for i, x := range cs {
			x.Transcript = nil
			out[i] = x
		}
		return out
	}
	c.Configs, c.Probes = strip(rep.Configs), strip(rep.Probes)
	return &c
}
