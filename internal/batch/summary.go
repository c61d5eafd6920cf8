package batch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/probe"
)

// Summary is what a provider or a researcher asks first about a batch's output.
type Summary struct {
	Targets     int            `json:"targets"`      // lines with a report
	Errors      int            `json:"errors"`       // lines that were not targets
	Connections int            `json:"connections"`  // connections the reports count
	ByStatus    map[string]int `json:"by_status"`    // diagnosis status → targets
	ByProvider  map[string]int `json:"by_provider"`  // registrable domain of the best MX host → targets ("none": no MX)
	TLSVersions map[string]int `json:"tls_versions"` // TLS version of the recommended servers → recommendations
	// Recommendations counts the recommended servers, incoming and outgoing (up to two a
	// target): what TLSVersions is a share of.
	Recommendations int `json:"recommendations"`
	// CertProblems counts targets that have at least one configuration with each certificate
	// blocker (cert_expired, cert_name_mismatch, …).
	CertProblems map[string]int `json:"cert_problems"`
	// PlaintextOnly counts targets whose servers answer only without encryption.
	PlaintextOnly int `json:"plaintext_only"`
	// IncompleteLastLine says the last line was cut off mid-write (no line break, and not JSON),
	// as a batch that crashed or was killed leaves it: it was skipped, not counted. batch
	// --resume cuts it off and does that target again.
	IncompleteLastLine bool `json:"incomplete_last_line"`
}

// Summarize reads a batch's JSON Lines. A last line without a line break that is not JSON is
// what a batch stopped mid-write leaves: it is skipped (IncompleteLastLine). Any other line that
// is not one of batch's fails the summary, naming the line.
func Summarize(r io.Reader) (Summary, error) {
	s := Summary{ByStatus: map[string]int{}, ByProvider: map[string]int{}, TLSVersions: map[string]int{}, CertProblems: map[string]int{}}
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if err == io.EOF && !json.Valid(line) {
				s.IncompleteLastLine = true
				return s, nil
			}
			if perr := s.add(line); perr != nil {
				return s, fmt.Errorf("line %d: %w", n, perr)
			}
		}
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, err
		}
	}
}

func (s *Summary) add(line []byte) error {
	var e struct {
		Line  *int `json:"input_line"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return err
	}
	if e.Line == nil {
		// null, a number, or an object that is not one of batch's lines (each has input_line)
		return fmt.Errorf("not a line of mailscout batch output (no input_line)")
	}
	if e.Error != nil {
		s.Errors++
		return nil
	}
	var r discover.Report // its own decoder: Report's UnmarshalJSON would swallow an embedding
	if err := json.Unmarshal(line, &r); err != nil {
		return err
	}
	s.Targets++
	s.Connections += r.Connections
	s.ByStatus[r.Diagnosis.Status]++
	s.ByProvider[provider(&r)]++
	for _, c := range []*discover.Choice{r.Recommended.Incoming, r.Recommended.Outgoing} {
		if c == nil {
			continue
		}
		s.Recommendations++
		// The recommended configuration's TLS, counted once (a configuration is listed once;
		// an edited file may list it twice).
		i := slices.IndexFunc(r.Configs, func(cfg discover.Config) bool {
			return cfg.Protocol == c.Protocol && cfg.Host == c.Host && cfg.Port == c.Port && cfg.Security == c.Security
		})
		if i >= 0 && r.Configs[i].TLS != nil {
			s.TLSVersions["TLS "+r.Configs[i].TLS.Version]++
		}
	}
	problems := map[string]bool{}
	plain := len(r.Configs) > 0
	for _, c := range r.Configs {
		for _, b := range c.Blockers {
			if strings.HasPrefix(b, "cert_") {
				problems[b] = true
			}
		}
		plain = plain && c.Security == probe.Plain
	}
	for b := range problems {
		s.CertProblems[b]++
	}
	if plain {
		s.PlaintextOnly++
	}
	return nil
}

// provider is the registrable domain of the best MX host: who hosts the mail.
func provider(r *discover.Report) string {
	for _, mx := range r.DNS.MX {
		if mx.Host == "." || mx.Host == "" {
			continue
		}
		if reg, err := publicsuffix.EffectiveTLDPlusOne(mx.Host); err == nil {
			return reg
		}
		return mx.Host
	}
	return "none"
}
