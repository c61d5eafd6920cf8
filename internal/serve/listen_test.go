package serve

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
)

// Run prints where it listens (port 0 becomes a real one), serves, and on cancellation lets a
// running request finish before it returns.
func TestRun(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[useTLS], func(t *testing.T) {
			c := testConfig(t)
			s, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			l := Listen{Addr: "127.0.0.1:0", ShutdownTimeout: 20 * time.Second}
			client := http.DefaultClient
			if useTLS {
				ca, err := mailsim.NewCA("serve test CA")
				if err != nil {
					t.Fatal(err)
				}
				if l.TLSCert, l.TLSKey, err = ca.IssueFiles(mailsim.CertValid, t.TempDir(), "serve", "127.0.0.1"); err != nil {
					t.Fatal(err)
				}
				client = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfigFor(ca)}}
			}
			pr, pw := io.Pipe()
			l.Stderr = pw
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- Run(ctx, s, l) }()
			line, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, pr)
			m := regexp.MustCompile(`^mailscout serve: listening on (https?://127\.0\.0\.1:[1-9][0-9]*)\n$`).FindStringSubmatch(line)
			if m == nil || (useTLS != (m[1][:5] == "https")) {
				t.Fatalf("first line %q", line)
			}
			base := m[1]
			if resp, err := client.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("/healthz: %v %v", resp, err)
			}
			// A slow discovery is under way when the signal comes: it still gets its answer.
			answered := make(chan int, 1)
			go func() {
				resp, err := client.Get(base + "/v1/discover?target=alice@slow.example")
				if err != nil {
					answered <- 0
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			for deadline := time.Now().Add(5 * time.Second); s.disc.running.Load() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the discovery never started")
				}
			}
			cancel()
			if code := <-answered; code != 200 {
				t.Errorf("the request running at shutdown got %d", code)
			}
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
			pw.Close()
			if _, err := client.Get(base + "/healthz"); err == nil {
				t.Error("still serving after shutdown")
			}
		})
	}
}
