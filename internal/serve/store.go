package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure Go: the binary stays static, no cgo

	"github.com/mailscout/mailscout/discover"
)

// store keeps results for permalinks and history in SQLite. Reports are stored as gzipped
// JSON (the discover --json contract): a report with transcripts is 30–100 KB of repetitive
// text and shrinks about tenfold, which is what makes a 30-day retention cheap.
//
// It is bounded: at most perDomain results per domain (the newest stay) and maxRows in all (the
// oldest go first), enforced as each result is saved. Every distinct address a stranger asks
// about is a new discovery and a new row, so without the bounds the file would grow with the
// traffic rather than with the retention period.
type store struct {
	db        *sql.DB
	perDomain int // 0: unbounded
	maxRows   int // 0: unbounded

	mu   sync.Mutex // serialises save's insert and trim, and guards rows
	rows int64      // results stored, kept in step by save and prune
}

// errNoResult: no stored result matches.
var errNoResult = errors.New("no such result")

const schema = `
CREATE TABLE IF NOT EXISTS results (
	id        TEXT PRIMARY KEY,   -- random, URL-safe: the permalink /r/ID
	target    TEXT NOT NULL,      -- normalised address or domain
	domain    TEXT NOT NULL,      -- ASCII domain: history is per domain
	created   INTEGER NOT NULL,   -- Unix milliseconds
	status    TEXT NOT NULL,      -- diagnosis status
	fast      INTEGER NOT NULL,
	protocols TEXT NOT NULL,      -- canonical list, e.g. smtp,imap,pop3
	report    BLOB NOT NULL       -- gzipped report JSON
);
CREATE INDEX IF NOT EXISTS results_domain_created ON results (domain, created);
CREATE INDEX IF NOT EXISTS results_created ON results (created);
`

// openStore opens (creating if needed) the database at path; "" is a private in-memory one.
func openStore(path string) (*store, error) {
	dsn, conns := "file::memory:", 1 // every connection to :memory: is a new database: keep one
	if path != "" {
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		conns = 4
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database %q: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the schema in %q: %w", path, err)
	}
	s := &store{db: db}
	if err := db.QueryRow(`SELECT count(*) FROM results`).Scan(&s.rows); err != nil {
		db.Close()
		return nil, fmt.Errorf("counting the results in %q: %w", path, err)
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

// save stores r under a new random ID and returns it, then enforces the bounds: the domain's
// results beyond the newest perDomain go, and then the oldest results beyond maxRows. The
// result just saved is never among them (a long discovery is older than those that started
// after it and finished first, and its caller is about to hand out its permalink).
func (s *store) save(ctx context.Context, r *result) (string, error) {
	blob, err := encodeReport(r.Report)
	if err != nil {
		return "", err
	}
	id := newID()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO results (id, target, domain, created, status, fast, protocols, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, r.Key.target, r.Report.Domain, r.Created.UnixMilli(), r.Report.Diagnosis.Status, r.Key.fast, r.Key.protocols, blob)
	if err != nil {
		return "", fmt.Errorf("saving the result for %s: %w", r.Report.Domain, err)
	}
	s.rows++
	if s.perDomain > 0 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM results WHERE id IN (
			SELECT id FROM results WHERE domain = ?1 ORDER BY created DESC, id DESC LIMIT -1 OFFSET ?2) AND id != ?3`,
			r.Report.Domain, s.perDomain, id)
		if err != nil {
			return id, fmt.Errorf("trimming the history of %s: %w", r.Report.Domain, err)
		}
		n, _ := res.RowsAffected()
		s.rows -= n
	}
	if s.maxRows > 0 && s.rows > int64(s.maxRows) {
		res, err := s.db.ExecContext(ctx, `DELETE FROM results WHERE id IN (
			SELECT id FROM results WHERE id != ?1 ORDER BY created, id LIMIT ?2)`, id, s.rows-int64(s.maxRows))
		if err != nil {
			return id, fmt.Errorf("deleting the oldest results: %w", err)
		}
		n, _ := res.RowsAffected()
		s.rows -= n
	}
	return id, nil
}

const resultColumns = `id, target, created, fast, protocols, report`

// get loads one result.
func (s *store) get(ctx context.Context, id string) (*result, error) {
	return s.one(ctx, `SELECT `+resultColumns+` FROM results WHERE id = ?`, id)
}

// previous is the result before r that a diff should compare r with: same domain, mode and
// protocols (a fast check next to a full one would show every canceled probe as a change),
// and not a DNS or local failure, which says nothing about the servers.
func (s *store) previous(ctx context.Context, r *result) (*result, error) {
	return s.one(ctx, `SELECT `+resultColumns+` FROM results
		WHERE domain = ? AND fast = ? AND protocols = ? AND status NOT IN (?, ?) AND (created < ? OR created = ? AND id < ?)
		ORDER BY created DESC, id DESC LIMIT 1`,
		r.Report.Domain, r.Key.fast, r.Key.protocols, discover.StatusDNSFailed, discover.StatusLocalFailure, r.Created.UnixMilli(), r.Created.UnixMilli(), r.ID)
}

// latestForClients is the newest result for the domain, no older than since, that mail-client
// documents may be built from: a discovery of the bare domain (never of an address, whose
// usernames are that user's; see result.servesClients), every protocol asked, DNS (and this
// machine) worked.
func (s *store) latestForClients(ctx context.Context, domain string, since time.Time) (*result, error) {
	return s.one(ctx, `SELECT `+resultColumns+` FROM results
		WHERE domain = ?1 AND target = ?1 AND protocols = ?2 AND status NOT IN (?3, ?4) AND created >= ?5
		ORDER BY created DESC LIMIT 1`, domain, allProtocols, discover.StatusDNSFailed, discover.StatusLocalFailure, since.UnixMilli())
}

func (s *store) one(ctx context.Context, query string, args ...any) (*result, error) {
	var (
		r       result
		created int64
		blob    []byte
	)
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&r.ID, &r.Key.target, &created, &r.Key.fast, &r.Key.protocols, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoResult
	}
	if err != nil {
		return nil, fmt.Errorf("reading a stored result: %w", err)
	}
	r.Created = time.UnixMilli(created)
	if r.Report, err = decodeReport(blob); err != nil {
		return nil, fmt.Errorf("result %s: %w", r.ID, err)
	}
	return &r, nil
}

// summary is one line of a domain's history.
type summary struct {
	ID      string
	Target  string
	Created time.Time
	Status  string
	Fast    bool
}

// history lists the domain's newest results, newest first.
func (s *store) history(ctx context.Context, domain string, limit int) ([]summary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, target, created, status, fast FROM results WHERE domain = ? ORDER BY created DESC, id DESC LIMIT ?`, domain, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", domain, err)
	}
	defer rows.Close()
	var out []summary
	for rows.Next() {
		var sm summary
		var created int64
		if err := rows.Scan(&sm.ID, &sm.Target, &created, &sm.Status, &sm.Fast); err != nil {
			return nil, fmt.Errorf("reading the history of %s: %w", domain, err)
		}
		sm.Created = time.UnixMilli(created)
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", domain, err)
	}
	return out, nil
}

// prune deletes the results created before cutoff and returns how many went.
func (s *store) prune(ctx context.Context, cutoff time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM results WHERE created < ?`, cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting results older than %s: %w", cutoff.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	s.rows -= n
	return n, err
}

// trim enforces both bounds over the whole table, as the retention loop does at start and
// hourly: save enforces them one domain at a time, and an operator may have lowered them since
// the rows were stored. It returns how many results went.
func (s *store) trim(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	if s.perDomain > 0 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM results WHERE id IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY domain ORDER BY created DESC, id DESC) AS n FROM results)
			WHERE n > ?)`, s.perDomain)
		if err != nil {
			return 0, fmt.Errorf("trimming the history per domain: %w", err)
		}
		n, _ := res.RowsAffected()
		s.rows -= n
		total += n
	}
	if s.maxRows > 0 && s.rows > int64(s.maxRows) {
		res, err := s.db.ExecContext(ctx, `DELETE FROM results WHERE id IN (SELECT id FROM results ORDER BY created, id LIMIT ?)`, s.rows-int64(s.maxRows))
		if err != nil {
			return total, fmt.Errorf("deleting the oldest results: %w", err)
		}
		n, _ := res.RowsAffected()
		s.rows -= n
		total += n
	}
	return total, nil
}

// encodeReport is the report's JSON contract, gzipped.
func encodeReport(rep *discover.Report) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(rep); err != nil {
		return nil, fmt.Errorf("encoding the report of %s: %w", rep.Domain, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the report of %s: %w", rep.Domain, err)
	}
	return buf.Bytes(), nil
}

// maxReport bounds a decompressed report: a corrupt or hostile row must not inflate without end.
const maxReport = 64 << 20

func decodeReport(blob []byte) (*discover.Report, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("decompressing the report: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxReport))
	if err != nil {
		return nil, fmt.Errorf("decompressing the report: %w", err)
	}
	var rep discover.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("decoding the report: %w", err)
	}
	return &rep, nil
}
