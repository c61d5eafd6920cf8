package batch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// providersWorld: 20 hosting providers, each with an MX host, an IMAP and an SMTP server and
// an autoconfig file; the customers of provider k are every domain under cust<k>.example.
func providersWorld(b *testing.B, rtt time.Duration) (*mailsim.World, discover.Options) {
	auth := []string{"PLAIN", "LOGIN"}
	spec := mailsim.WorldSpec{RTT: rtt}
	for k := range 20 {
		p := fmt.Sprintf("p%d.example", k)
		spec.Zones = append(spec.Zones,
			mailsim.Zone{Domain: p},
			mailsim.Zone{Domain: fmt.Sprintf("cust%d.example", k), WildcardMX: []mailsim.MX{{Host: "mx." + p, Preference: 10}}})
		spec.Hosts = append(spec.Hosts,
			mailsim.Host{Name: "mx." + p},
			mailsim.Host{Name: "imap." + p, Services: []mailsim.Service{
				{Port: 993, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 143, Config: mailsim.Config{Protocol: mailsim.IMAP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}}}},
			mailsim.Host{Name: "smtp." + p, Services: []mailsim.Service{
				{Port: 465, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.TLS, AuthAfterTLS: auth}},
				{Port: 587, Config: mailsim.Config{Protocol: mailsim.SMTP, Mode: mailsim.StartTLS, AuthAfterTLS: auth}}}})
		spec.Web = append(spec.Web, mailsim.WebFile{URL: "https://autoconfig." + p + "/mail/config-v1.1.xml", Body: `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="` + p + `">
<incomingServer type="imap"><hostname>imap.` + p + `</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.` + p + `</hostname><port>465</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`})
	}
	w, err := mailsim.StartWorld(spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	o := discover.DefaultOptions()
	o.Resolver = &discover.DNSResolver{Servers: []string{w.DNSAddr()}}
	o.Probe.Dial = w
	o.Probe.RootCAs = w.CA.Pool()
	o.NoISPDB = true
	// The world lives in TEST-NET addresses; here they stand for the public Internet, whose
	// answers every discovery of a batch may share.
	o.Private = discover.PrivateAllow
	return w, o
}

// customerList streams n targets spread over the 20 providers, without holding them.
func customerList(n int) io.Reader {
	r, w := io.Pipe()
	go func() {
		bw := bufio.NewWriter(w)
		for i := range n {
			fmt.Fprintf(bw, "user@c%d.cust%d.example\n", i, i%20)
		}
		bw.Flush()
		w.Close()
	}()
	return r
}

// BenchmarkProviders: 1,000 domains hosted by 20 providers at 50 ms RTT, the whole batch per
// iteration: domains per second, connections (target: no more than the distinct endpoints,
// 20 × 4 = 80, and no logins here), and peak memory.
func BenchmarkProviders(b *testing.B) {
	const domains = 1000
	w, o := providersWorld(b, 50*time.Millisecond)
	for b.Loop() {
		before := w.Accepted()
		e, err := discover.NewEngine(o)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		prog, err := Run(context.Background(), customerList(domains), Options{Engine: e, Discover: o}, func(r Result) error {
			if r.Report == nil || r.Report.Recommended.Incoming == nil {
				return fmt.Errorf("%s: no recommendation", r.Input)
			}
			return nil
		})
		elapsed := time.Since(start)
		e.Close()
		if err != nil || prog.Done != domains {
			b.Fatalf("%d done: %v", prog.Done, err)
		}
		b.ReportMetric(float64(domains)/elapsed.Seconds(), "domains/s")
		b.ReportMetric(float64(w.Accepted()-before), "connections")
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkMemoryFlat: 100,000 domains (5,000 with -short) streamed through a batch on
// loopback: peak RSS must not grow with the list (target ≤ 200 MB for 100,000).
func BenchmarkMemoryFlat(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	_, o := providersWorld(b, 0)
	o.Deadline = 10 * time.Second
	for b.Loop() {
		e, err := discover.NewEngine(o)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		prog, err := Run(context.Background(), customerList(n), Options{Engine: e, Discover: o, InFlight: 64}, func(r Result) error {
			_, err := MarshalLine(r) // the work of writing it, not the keeping
			return err
		})
		e.Close()
		if err != nil || prog.Done != n {
			b.Fatalf("%d done: %v", prog.Done, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "domains/s")
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-after-MiB")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(float64(n), "domains")
}

// peakRSSMiB is the process's peak resident set (VmHWM), world and all.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkCountFile: the progress total of a 1,000,000-line file (a shard of 4 of it), read
// from disk as `mailscout batch FILE` does: lines per second, and the process's peak RSS, which
// must not grow with the file (run it alone: -bench CountFile).
func BenchmarkCountFile(b *testing.B) {
	const lines = 1_000_000
	path := b.TempDir() + "/targets.txt"
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, customerList(lines)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		n, err := Count(context.Background(), f, Options{Shard: 1, Shards: 4})
		f.Close()
		if err != nil || n < lines/5 || n > lines/3 {
			b.Fatalf("%d of %d lines in shard 1 of 4: %v", n, lines, err)
		}
		b.ReportMetric(lines/time.Since(start).Seconds(), "lines/s")
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}
