package clientconfig

import (
	"bytes"
	"testing"

	"github.com/mailscout/mailscout/internal/thunderbird"
)

// Every document WriteAutoconfig produces passes Thunderbird's reading rules (package
// internal/thunderbird).
func TestThunderbirdAcceptsEveryAutoconfig(t *testing.T) {
	n := 0
	for _, c := range cases {
		var buf bytes.Buffer
		if err := WriteAutoconfig(&buf, c.account); err != nil {
			continue // the error cases are covered by TestGolden
		}
		n++
		for _, err := range thunderbird.Check(buf.Bytes()) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if n < 5 {
		t.Fatalf("only %d documents checked", n)
	}
}

// Our own validHost must never accept what Thunderbird refuses (placeholders aside, which we
// never pass as hosts).
func TestValidHostWithinThunderbirds(t *testing.T) {
	for _, host := range []string{"imap.example.com", "IMAP.Example.COM.", "192.0.2.1", "2001:db8::1",
		"0.1.2.3", "1.2.3", "-a.example", "a_b.example", "::", "", "imap.müller.example", "exa mple.com"} {
		if validHost(host) && thunderbird.Hostname(host) != nil {
			t.Errorf("validHost(%q) accepts a host Thunderbird rejects", host)
		}
	}
}
