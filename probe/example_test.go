package probe_test

import (
	"context"
	"fmt"

	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// Probing one endpoint of a simulated world. On the Internet, DefaultOptions alone is enough:
// direct connections, the system's resolver and trust store.
func ExampleRun() {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		panic(err)
	}
	defer world.Close()

	opts := probe.DefaultOptions()
	opts.Dial = world // a simulated network; a *proxy.Dialer or probe.Direct work the same way
	opts.RootCAs = world.CA.Pool()

	r := probe.Run(context.Background(), probe.Target{Protocol: probe.SMTP, Host: "smtp.guess.example", Port: 587, Security: probe.StartTLS}, opts)
	fmt.Println(r.OK, r.TLS.Version, r.TLS.CertValid)
	fmt.Println("before TLS:", r.AuthMethodsPlaintext, "after TLS:", r.AuthMethods)

	r = probe.Run(context.Background(), probe.Target{Protocol: probe.SMTP, Host: "smtp.guess.example", Port: 465, Security: probe.TLS}, opts)
	fmt.Println(r.OK, r.TLS.CertValid, r.TLS.CertReason)

	r = probe.Run(context.Background(), probe.Target{Protocol: probe.IMAP, Host: "mail.oldtls.example", Port: 993, Security: probe.TLS}, opts)
	fmt.Println(r.OK, r.ErrorKind, r.HasWarning(probe.WarnLegacyTLS))
	// Output:
	// true 1.3 true
	// before TLS: [] after TLS: [PLAIN LOGIN]
	// true false expired
	// false tls_version true
}
