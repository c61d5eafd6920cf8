package probe

import "testing"

// The example exchange of RFC 7677 §3.
func TestScramRFC7677(t *testing.T) {
	c := &scramClient{username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO"}
	mech, ir, err := c.Start()
	if err != nil || mech != "SCRAM-SHA-256" || string(ir) != "n,,n=user,r=rOprNGfwEbeRWgbNEkqO" {
		t.Fatalf("client-first %q %v", ir, err)
	}
	final, err := c.Next([]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	want := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	if err != nil || string(final) != want {
		t.Fatalf("client-final %q %v, want %q", final, err, want)
	}
	if _, err := c.Next([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); err != nil {
		t.Errorf("the RFC's server signature was rejected: %v", err)
	}
	c.step = 1
	if _, err := c.Next([]byte("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")); err == nil {
		t.Error("a wrong server signature was accepted")
	}
	bad := &scramClient{username: "user", password: "pencil", nonce: "abc"}
	bad.Start()
	if _, err := bad.Next([]byte("r=xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")); err == nil {
		t.Error("a server nonce that does not extend ours was accepted")
	}
}
