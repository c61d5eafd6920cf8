package mailsim

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind. Fuzzing runs without the check: the
// fuzzing engine's own goroutines may still be winding down when it returns.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

func TestCertificateKinds(t *testing.T) {
	ca, err := NewCA("t")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		kind    CertKind
		chainOK bool
		nameOK  bool
		valid   bool // now within NotBefore..NotAfter
	}{
		{CertValid, true, true, true},
		{CertExpired, false, true, false},
		{CertNotYetValid, false, true, false},
		{CertWrongName, true, false, true},
		{CertSelfSigned, false, true, true},
		{CertUnknownCA, false, true, true},
	}
	for _, tt := range tests {
		c, err := ca.Issue(tt.kind, "mail.example.test")
		if err != nil {
			t.Fatal(err)
		}
		_, verr := c.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now})
		if (verr == nil) != tt.chainOK {
			t.Errorf("%s: chain verify err = %v", tt.kind, verr)
		}
		if (c.Leaf.VerifyHostname("mail.example.test") == nil) != tt.nameOK {
			t.Errorf("%s: name check wrong", tt.kind)
		}
		if (now.After(c.Leaf.NotBefore) && now.Before(c.Leaf.NotAfter)) != tt.valid {
			t.Errorf("%s: validity window %v..%v", tt.kind, c.Leaf.NotBefore, c.Leaf.NotAfter)
		}
	}
	ip, err := ca.Issue(CertValid, "127.0.0.1")
	if err != nil || ip.Leaf.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("IP certificate: %v", err)
	}
}

func TestNetworkRoutesRefusesAndFilters(t *testing.T) {
	s, err := Start(Config{Protocol: SMTP, Mode: Plain}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := NewNetwork()
	n.Route("mx.example.test:25", s.Addr())
	n.Filter("mx.example.test:465")
	c, err := n.DialContext(context.Background(), "tcp", "mx.example.test:25")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	k, _ := c.Read(buf)
	c.Close()
	if !strings.HasPrefix(string(buf[:k]), "220 ") {
		t.Errorf("greeting %q", buf[:k])
	}
	if _, err := n.DialContext(context.Background(), "tcp", "mx.example.test:587"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("unrouted: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = n.DialContext(ctx, "tcp", "mx.example.test:465")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("filtered: %v", err)
	}
	if s.Accepted() != 1 {
		t.Errorf("accepted %d connections, want 1", s.Accepted())
	}
}

func TestWorldStartsDemo(t *testing.T) {
	w, err := StartWorld(DemoSpec())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c, err := w.DialContext(context.Background(), "tcp", "mail.srv.example:143")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 128)
	k, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:k]), "* OK mail.srv.example") {
		t.Errorf("greeting %q", buf[:k])
	}
}
