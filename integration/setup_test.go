//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
)

// Environment set by .ci/integration.sh.
var (
	binary    = os.Getenv("MAILSCOUT_BIN")        // the built mailscout
	inNetns   = os.Getenv("MAILSCOUT_IT_NETNS")   // the namespace's name, proof we are inside it
	proxyUser = os.Getenv("MAILSCOUT_PROXY_USER") // a system user dante authenticates
	proxyPass = os.Getenv("MAILSCOUT_PROXY_PASSWORD")
)

func TestMain(m *testing.M) {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (servers bind ports below 1024)")
	}
	if inNetns == "" {
		missing = append(missing, "the network namespace of .ci/integration.sh (MAILSCOUT_IT_NETNS unset)")
	}
	if binary == "" {
		missing = append(missing, "MAILSCOUT_BIN (the built mailscout)")
	}
	for _, bin := range []string{"danted", "microsocks", "tinyproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" (apt-get install dante-server microsocks tinyproxy)")
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "integration tests cannot run: missing %s.\nRun them with: sudo bash .ci/integration.sh\n", strings.Join(missing, "; "))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// daemon starts a program in the foreground and stops it (by PID) when the test ends.
func daemon(t *testing.T, waitFor string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A daemon that forks away (Postfix's master starts its own session) keeps the output pipe
	// open; do not wait for it forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", waitFor, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not listen on %s; output:\n%s", name, waitFor, out.String())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mailscout runs the binary as a user would; it returns stdout, stderr and the exit code.
func mailscout(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return mailscoutEnv(t, nil, stdin, args...)
}

// mailscoutEnv is mailscout with extra environment variables ("NAME=value").
func mailscoutEnv(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(append(os.Environ(), "ALL_PROXY="), env...)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func discoverJSON(t *testing.T, args ...string) *discover.Report {
	t.Helper()
	r, _ := discoverRun(t, nil, args...)
	return r
}

// discoverRun runs discover --json with extra environment variables ("NAME=value") and returns
// the report and the exit code.
func discoverRun(t *testing.T, env []string, args ...string) (*discover.Report, int) {
	t.Helper()
	out, errOut, code := mailscoutEnv(t, env, "", append([]string{"discover", "--json"}, args...)...)
	var r discover.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("exit %d, not JSON: %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	return &r, code
}

func discoverJSONFrom(t *testing.T, out string) *discover.Report {
	t.Helper()
	var r discover.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return &r
}
