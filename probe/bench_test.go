package probe_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// Benchmarks measure the client alone: the server runs in a child process (this test binary,
// re-executed with benchServerEnv set), so its allocations and memory do not count.
const (
	benchServerEnv = "MAILSCOUT_BENCH_SERVER"
	benchCAEnv     = "MAILSCOUT_BENCH_CA"
)

// serveForBenchmark runs one server until stdin closes. It prints "ADDR host:port" first and
// "STALL" each time a connection stalls (for the in-flight memory benchmark).
func serveForBenchmark(mode string) {
	ca, err := mailsim.NewCA("bench CA")
	if err != nil {
		panic(err)
	}
	if err := ca.WritePEM(os.Getenv(benchCAEnv)); err != nil {
		panic(err)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	cfg := mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: []string{"PLAIN", "LOGIN"}}
	if mode == "stall" {
		cfg.Behavior = mailsim.StallAfterTLS
		cfg.OnStall = func() {
			mu.Lock()
			defer mu.Unlock()
			out.WriteString("STALL\n")
			out.Flush()
		}
	}
	srv, err := mailsim.Start(cfg, ca)
	if err != nil {
		panic(err)
	}
	mu.Lock()
	fmt.Fprintf(out, "ADDR %s\n", srv.Addr())
	out.Flush()
	mu.Unlock()
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

type benchServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
	port  int
	opts  probe.Options
}

func startBenchServer(b *testing.B, mode string) *benchServer {
	b.Helper()
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+mode, benchCAEnv+"="+caFile)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	bs := &benchServer{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if !bs.lines.Scan() {
		b.Fatal("bench server did not start")
	}
	addr, ok := strings.CutPrefix(bs.lines.Text(), "ADDR ")
	if !ok {
		b.Fatalf("bench server said %q", bs.lines.Text())
	}
	_, portStr, _ := strings.Cut(addr, ":")
	bs.port, _ = strconv.Atoi(portStr)
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		b.Fatal(err)
	}
	ca := x509Pool(b, pemData)
	bs.opts = probe.DefaultOptions()
	bs.opts.RootCAs = ca
	return bs
}

// BenchmarkProbeStartTLS is one complete SMTP STARTTLS probe on loopback: connect, greeting,
// EHLO, STARTTLS, TLS 1.3 handshake with certificate verification, EHLO, QUIT.
func BenchmarkProbeStartTLS(b *testing.B) {
	bs := startBenchServer(b, "normal")
	t := probe.Target{Protocol: probe.SMTP, Host: "127.0.0.1", Port: bs.port, Security: probe.StartTLS}
	// The server's certificate is for mail.example.test; the verdict is computed either way.
	b.ReportAllocs()
	for b.Loop() {
		if r := probe.Run(context.Background(), t, bs.opts); !r.OK {
			b.Fatalf("probe failed: %s", r.Error)
		}
	}
}

// BenchmarkInFlightMemory holds 1,000 STARTTLS probes in flight at their most expensive point
// (TLS up, waiting for the EHLO reply) and reports the heap and stack they hold, per probe.
func BenchmarkInFlightMemory(b *testing.B) {
	const inFlight = 1000
	bs := startBenchServer(b, "stall")
	t := probe.Target{Protocol: probe.SMTP, Host: "127.0.0.1", Port: bs.port, Security: probe.StartTLS}
	opts := bs.opts
	opts.OperationTimeout, opts.Deadline = time.Minute, time.Minute
	var perProbe float64
	for b.Loop() {
		before := memInUse()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		results := make([]probe.Result, inFlight)
		for i := range inFlight {
			wg.Go(func() { results[i] = probe.Run(ctx, t, opts) })
		}
		for range inFlight {
			if !bs.lines.Scan() {
				b.Fatal("bench server stopped")
			}
		}
		after := memInUse()
		cancel()
		wg.Wait()
		for _, r := range results {
			if r.ErrorKind != probe.KindCanceled {
				b.Fatalf("probe ended with %q before cancel: %s", r.ErrorKind, r.Error)
			}
		}
		perProbe = float64(after-before) / inFlight
	}
	b.ReportMetric(perProbe, "bytes/probe-in-flight")
	b.ReportMetric(0, "ns/op")
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func x509Pool(b *testing.B, pemData []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemData) {
		b.Fatal("bad CA PEM")
	}
	return p
}
