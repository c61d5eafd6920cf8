package probe

import (
	"errors"
	"testing"
)

// Values that would smuggle a command onto the wire are refused before anything is sent.
func TestValidateUnsafeInput(t *testing.T) {
	for _, name := range []string{"mail.example.com", "[192.0.2.1]", "[IPv6:2001:db8::1]", "localhost", "a-b.example"} {
		if err := validEHLOName(name); err != nil {
			t.Errorf("EHLO %q refused: %v", name, err)
		}
	}
	for _, name := range []string{"x\r\nMAIL FROM:<a@b>", "x y", "[999.1.1.1]", "[IPv6:192.0.2.1]", "-x.example", "a..b", "a_b.example", "x\x00"} {
		if err := validEHLOName(name); !errors.Is(err, ErrUnsafeInput) {
			t.Errorf("EHLO %q accepted", name)
		}
	}
	for _, c := range []Credentials{{Username: "a\r\nb"}, {Password: "pw\nRCPT"}, {OAuthToken: "t\x00"}} {
		if err := c.Validate(); !errors.Is(err, ErrUnsafeInput) {
			t.Errorf("credentials %+v accepted", c)
		}
	}
	if err := (&Credentials{Username: "alice smith", Password: "correct horse"}).Validate(); err != nil {
		t.Errorf("spaces are fine in IMAP and SASL: %v", err)
	}
	if err := (&Credentials{Mechanisms: []string{"GSSAPI"}}).Validate(); err == nil {
		t.Error("unknown mechanism accepted")
	}
	o := DefaultOptions()
	o.EHLOName = "x\r\nQUIT"
	if err := o.Validate(); !errors.Is(err, ErrUnsafeInput) {
		t.Errorf("Options.Validate: %v", err)
	}
}
