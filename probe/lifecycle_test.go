package probe_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// A canceled context stops a probe blocked on a silent server at once, whatever its timeouts.
func TestCancelStopsAtOnce(t *testing.T) {
	srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	opts := probe.DefaultOptions() // 4 s greeting timeout
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan probe.Result)
	go func() {
		done <- probe.Run(ctx, probe.Target{Protocol: probe.SMTP, Host: "127.0.0.1", Port: srv.Port(), Security: probe.Plain}, opts)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case r := <-done:
		if r.OK || r.ErrorKind != probe.KindCanceled || !strings.Contains(r.Error, "canceled") {
			t.Errorf("got ok=%v %s %q", r.OK, r.ErrorKind, r.Error)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("probe did not return after cancel")
	}
}

// The overall deadline cuts a probe short even when every per-step timeout is longer.
func TestOverallDeadline(t *testing.T) {
	srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	opts := probe.DefaultOptions()
	opts.Deadline = 100 * time.Millisecond
	r := probe.Run(context.Background(), probe.Target{Protocol: probe.SMTP, Host: "127.0.0.1", Port: srv.Port(), Security: probe.Plain}, opts)
	if r.OK || r.ErrorKind != probe.KindTimeout || !strings.Contains(r.Error, "deadline") {
		t.Errorf("got ok=%v %s %q", r.OK, r.ErrorKind, r.Error)
	}
	if r.Timeouts.Deadline != 100*time.Millisecond || r.Timeouts.Greeting != 4*time.Second {
		t.Errorf("timeouts not echoed: %+v", r.Timeouts)
	}
}

// The transcript marks direction and TLS state; the greeting is never preceded by a client line.
func TestTranscript(t *testing.T) {
	r := startProbe(t, mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN"}}, 587, probe.StartTLS, nil)
	if !r.OK {
		t.Fatalf("probe failed: %s", r.Error)
	}
	var dirs []string
	sawTLS := false
	for i, l := range r.Transcript {
		dirs = append(dirs, l.Dir)
		if i > 0 && l.At < r.Transcript[i-1].At {
			t.Errorf("time goes backwards at line %d", i)
		}
		if l.TLS {
			sawTLS = true
		}
		if l.Dir == "C" && l.Text == "STARTTLS" && l.TLS {
			t.Error("STARTTLS marked as sent over TLS")
		}
		if sawTLS && !l.TLS {
			t.Errorf("line %d after TLS marked plaintext: %q", i, l.Text)
		}
	}
	if dirs[0] != "S" {
		t.Errorf("first transcript line is %q, want the server's greeting", dirs[0])
	}
	if !sawTLS {
		t.Error("no line marked TLS")
	}
	last := r.Transcript[len(r.Transcript)-1]
	if !strings.HasPrefix(last.Text, "221") {
		t.Errorf("no polite exit: last line %q", last.Text)
	}
}

// Without Transcript the result carries none (and the probe allocates none).
func TestNoTranscriptByDefault(t *testing.T) {
	r := startProbe(t, mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS}, 993, probe.TLS, func(o *probe.Options) { o.Transcript = false })
	if !r.OK || r.Transcript != nil {
		t.Errorf("ok=%v transcript=%d lines", r.OK, len(r.Transcript))
	}
}

func TestModesForPort(t *testing.T) {
	for port, want := range map[int]string{465: "tls", 993: "tls", 995: "tls", 587: "starttls,plain", 25: "starttls,plain", 143: "starttls,plain", 110: "starttls,plain", 4190: "tls,starttls,plain"} {
		var got []string
		for _, m := range probe.ModesForPort(port) {
			got = append(got, string(m))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("ModesForPort(%d) = %v, want %s", port, got, want)
		}
	}
	for port, want := range map[int]probe.Protocol{25: probe.SMTP, 465: probe.SMTP, 587: probe.SMTP, 2525: probe.SMTP, 143: probe.IMAP, 993: probe.IMAP, 110: probe.POP3, 995: probe.POP3} {
		if got, ok := probe.ProtocolForPort(port); !ok || got != want {
			t.Errorf("ProtocolForPort(%d) = %v", port, got)
		}
	}
	if _, ok := probe.ProtocolForPort(8080); ok {
		t.Error("8080 inferred")
	}
}

// With SkipQuitReply and Linger, the probe's verdict does not wait for the server's goodbye:
// the connection is handed over after QUIT/LOGOUT, still open, and the server's answer and
// close arrive on it afterwards. Each protocol, and a canceled probe never lingers.
func TestLingerHandsOverTheGoodbye(t *testing.T) {
	for _, tc := range []struct {
		proto mailsim.Protocol
		p     probe.Protocol
		want  string
	}{
		{mailsim.SMTP, probe.SMTP, "221 "},
		{mailsim.IMAP, probe.IMAP, "OK LOGOUT"},
		{mailsim.POP3, probe.POP3, "+OK Bye"},
	} {
		t.Run(string(tc.p), func(t *testing.T) {
			srv, err := mailsim.Start(mailsim.Config{Protocol: tc.proto, Mode: mailsim.Plain, QuitDelay: 100 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			opts := probe.DefaultOptions()
			opts.SkipQuitReply = true
			handed := make(chan net.Conn, 2)
			opts.Linger = func(c net.Conn) { handed <- c }
			r := probe.Run(context.Background(), probe.Target{Protocol: tc.p, Host: "127.0.0.1", Port: srv.Port(), Security: probe.Plain}, opts)
			if !r.OK {
				t.Fatalf("probe failed: %s", r.Error)
			}
			if len(handed) != 1 {
				t.Fatalf("Linger called %d times, want once", len(handed))
			}
			c := <-handed
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rest, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("reading the goodbye: %v", err)
			}
			if !strings.Contains(string(rest), tc.want) {
				t.Errorf("after the probe, the connection carried %q, want the answer %q", rest, tc.want)
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		srv, err := mailsim.Start(mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.Plain, Behavior: mailsim.Silent}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		opts := probe.DefaultOptions()
		opts.SkipQuitReply = true
		called := false
		opts.Linger = func(c net.Conn) { called = true; c.Close() }
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		probe.Run(ctx, probe.Target{Protocol: probe.SMTP, Host: "127.0.0.1", Port: srv.Port(), Security: probe.Plain}, opts)
		if called {
			t.Error("a canceled probe handed its connection over")
		}
	})
}
