package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
)

// TestServeProcess runs `mailscout serve --demo` as a user would, in a process of its own: it
// prints where it listens, answers the API and a mail client's autoconfig request with the demo
// world's real servers, and on SIGTERM shuts down cleanly with exit status 0.
func TestServeProcess(t *testing.T) {
	cmd := mailscoutProcess("serve", "--demo", "--listen", "127.0.0.1:0", "--log-level", "warn")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var base string
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before listening")
			}
			if _, url, found := strings.Cut(l, "mailscout serve: listening on "); found {
				base = url
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve never said where it listens")
		}
	}
	go func() { // keep draining stderr so the process never blocks on a full pipe
		for l := range lines {
			t.Log(l)
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}

	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}

	code, body := get("/v1/discover?target=alice@" + mailsim.DemoSRV + "&fast=1")
	if code != http.StatusOK {
		t.Fatalf("/v1/discover: %d %s", code, body)
	}
	var rep struct {
		Diagnosis   struct{ Status string } `json:"diagnosis"`
		Recommended struct {
			Incoming *struct{ Host string } `json:"incoming"`
			Outgoing *struct{ Host string } `json:"outgoing"`
		} `json:"recommended"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("/v1/discover body: %v\n%s", err, body)
	}
	if rep.Diagnosis.Status != "ok" || rep.Recommended.Incoming == nil || rep.Recommended.Outgoing == nil {
		t.Fatalf("/v1/discover: want status ok with both directions recommended, got %s", body)
	}

	code, body = get("/mail/config-v1.1.xml?emailaddress=alice@" + mailsim.DemoSRV)
	if code != http.StatusOK {
		t.Fatalf("autoconfig: %d %s", code, body)
	}
	var cfg struct {
		Incoming []struct {
			Hostname string `xml:"hostname"`
		} `xml:"emailProvider>incomingServer"`
		Outgoing []struct {
			Hostname string `xml:"hostname"`
		} `xml:"emailProvider>outgoingServer"`
	}
	if err := xml.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("autoconfig body: %v\n%s", err, body)
	}
	if len(cfg.Incoming) == 0 || cfg.Incoming[0].Hostname != rep.Recommended.Incoming.Host ||
		len(cfg.Outgoing) == 0 || cfg.Outgoing[0].Hostname != rep.Recommended.Outgoing.Host {
		t.Fatalf("autoconfig does not lead with the recommended servers (%s, %s):\n%s",
			rep.Recommended.Incoming.Host, rep.Recommended.Outgoing.Host, body)
	}

	if code, body := get("/v1/discover?target=alice@" + mailsim.DemoNoMail); code != http.StatusOK || !strings.Contains(body, `"no_mail"`) {
		t.Fatalf("/v1/discover of a domain without mail: %d %s", code, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v (want exit status 0)", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
}
