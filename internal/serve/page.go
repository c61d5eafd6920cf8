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
			w.Header().Set("Retry-After", fmt.Sprint(int(data.Error.RetryAfter.Seconds())))
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
	res, err := s.disc.get(ctx, req)
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
			v.Previous = &summary{ID: prev.ID, Target: prev.Key.target, Created: prev.Created, Status: prev.Report.Diagnosis.Status}
			v.Changes = diffReports(snapshot{prev.Report, prev.Created}, snapshot{res.Report, res.Created})
		case !errors.Is(err, errNoResult):
			s.log.Error("store", "err", err)
		}
		if v.History, err = s.store.history(ctx, res.Report.Domain, 12); err != nil {
			s.log.Error("store", "err", err)
		}
	}
	s.render(w, s.page.result, http.StatusOK, pageData{Title: res.Report.Target, Target: res.Report.Target, Result: v})
}

// notFoundPage answers every path nothing else matched: HTML for people.
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, s.page.notFound, http.StatusNotFound, pageData{Title: "Not found",
		Error: newError(codeNotFound, "there is nothing at %s", path.Clean(r.URL.Path))})
}
