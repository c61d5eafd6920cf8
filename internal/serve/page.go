package serve

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// The helpdesk page is server-rendered: it works without JavaScript (the form GETs
// /?target=…, the server runs the discovery and redirects to the permalink), and the embedded
// script only adds live progress and copy buttons. Nothing is loaded from anywhere else.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

type pages struct {
	index, result, notFound *template.Template
	static, favicon         http.HandlerFunc
}

var funcs = template.FuncMap{
	"join":  strings.Join,
	"words": words,
	"when":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"named": named,
}

// named says how many servers a source named: "none", "1 server", "4 servers".
func named(n int) string {
	switch n {
	case 0:
		return "none"
	case 1:
		return "1 server"
	}
	return fmt.Sprintf("%d servers", n)
}

func newPages() (*pages, error) {
	parse := func(page string) (*template.Template, error) {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page)
		if err != nil {
			return nil, fmt.Errorf("parsing the %s template: %w", page, err)
		}
		return t, nil
	}
	p := &pages{}
	var err error
	if p.index, err = parse("index.html"); err != nil {
		return nil, err
	}
	if p.result, err = parse("result.html"); err != nil {
		return nil, err
	}
	if p.notFound, err = parse("notfound.html"); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("embedded assets: %w", err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	p.static = func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			writeError(w, newError(codeNotFound, "no such file"))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}
	p.favicon = func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/static/favicon.svg"
		p.static.ServeHTTP(w, r2)
	}
	return p, nil
}

// pageData is what every page's layout needs, and the page's own data.
type pageData struct {
	Title    string
	Target   string
	Error    *apiError
	Examples []string
	Result   *resultView
}

// render executes t into a buffer first, so a template error becomes a clean 500 instead of
// half a page.
func (s *Server) render(w http.ResponseWriter, t *template.Template, status int, data pageData) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Error("template", "err", err)
		writeError(w, newError(codeInternal, "the page could not be rendered"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// index is GET /: the form, or, with ?target=, the check itself for browsers without
// JavaScript: it waits for the discovery and redirects to the permalink.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := pageData{Title: "Check mail settings", Target: q.Get("target"), Examples: s.cfg.Examples}
	if !q.Has("target") {
		s.render(w, s.page.index, http.StatusOK, data)
		return
	}
	fail := func(err error) {
		data.Error = asAPIError(err)
		if data.Error.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfter(data.Error.RetryAfter))
		}
		s.render(w, s.page.index, data.Error.status(), data)
	}
	if err := s.admit(r); err != nil {
		fail(err)
		return
	}
	req, err := parseDiscover(q, s.cfg.AllowPrivate)
	if err != nil {
		fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.disc.get(ctx, req, s.client(r))
	if err != nil {
		fail(err)
		return
	}
	if res.ID == "" { // not stored: show it here, there is no permalink to send the browser to
		s.renderResult(w, r.Context(), res)
		return
	}
	http.Redirect(w, r, "/r/"+res.ID, http.StatusSeeOther)
}

// permalink is GET /r/{id}: a stored result with its domain's history and what changed.
func (s *Server) permalink(w http.ResponseWriter, r *http.Request) {
	res, err := s.stored(r.Context(), r.PathValue("id"))
	if err != nil {
		ae := asAPIError(err)
		s.render(w, s.page.notFound, ae.status(), pageData{Title: "Not found", Error: ae})
		return
	}
	s.renderResult(w, r.Context(), res)
}

func (s *Server) renderResult(w http.ResponseWriter, ctx context.Context, res *result) {
	v := newResultView(res)
	if res.ID != "" {
		prev, err := s.store.previous(ctx, res)
		switch {
		case err == nil:
			v.Previous = &previousView{Created: prev.Created, Status: prev.Report.Diagnosis.Status, Link: linkIfSame(res, prev.Key.target, prev.ID)}
			v.Changes = diffReports(snapshot{prev.Report, prev.Created}, snapshot{res.Report, res.Created})
		case !errors.Is(err, errNoResult):
			s.log.Error("store", "err", err)
		}
		history, err := s.store.history(ctx, res.Report.Domain, 12)
		if err != nil {
			s.log.Error("store", "err", err)
		}
		v.History = historyViews(res, history)
	}
	s.render(w, s.page.result, http.StatusOK, pageData{Title: res.Report.Target, Target: res.Report.Target, Result: v})
}

// A permalink is handed to whoever checked that target, and the page it opens must tell them
// nothing about anyone else: the domain's history and "what changed" cover every check of the
// domain, but a check of another target appears only as its time and status (and as the
// changes since), never with its local part, and never with a link to its result, which would
// show that address and its usernames. linkIfSame is the link to another result, "" unless it
// is of the same target.
func linkIfSame(res *result, target, id string) string {
	if target != res.Key.target || id == "" {
		return ""
	}
	return "/r/" + id
}

// historyViews are the domain's checks as res's page may show them (see linkIfSame).
func historyViews(res *result, history []summary) []historyView {
	out := make([]historyView, 0, len(history))
	for _, h := range history {
		hv := historyView{Created: h.Created, Status: h.Status, Fast: h.Fast, Current: h.ID == res.ID, Link: linkIfSame(res, h.Target, h.ID)}
		switch {
		case h.Target == res.Key.target:
			hv.Who = res.Key.target
		case !strings.Contains(h.Target, "@"):
			hv.Who = h.Target // the bare domain: no one's address
		default:
			hv.Who = "another address"
		}
		out = append(out, hv)
	}
	return out
}

// notFoundPage answers every path nothing else matched: HTML for people.
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, s.page.notFound, http.StatusNotFound, pageData{Title: "Not found",
		Error: newError(codeNotFound, "there is nothing at %s", path.Clean(r.URL.Path))})
}
