package discover_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
	"github.com/mailscout/mailscout/probe"
)

// demoOptions points discovery at the built-in demo world. On the Internet, DefaultOptions
// alone is enough: the system's resolvers, direct connections and the system's trust store.
func demoOptions(world *mailsim.World) discover.Options {
	opts := discover.DefaultOptions()
	opts.Resolver = &discover.DNSResolver{Servers: []string{world.DNSAddr()}}
	opts.Probe.Dial = world
	opts.Probe.RootCAs = world.CA.Pool()
	opts.NoISPDB = true
	return opts
}

// A setup wizard's question: what should the user type in, and can they log in safely there?
func ExampleRun() {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		panic(err)
	}
	defer world.Close()

	rep, err := discover.Run(context.Background(), "alice@guess.example", demoOptions(world))
	if err != nil {
		panic(err)
	}
	in, out := rep.Recommended.Incoming, rep.Recommended.Outgoing
	fmt.Println(rep.Diagnosis.Status)
	fmt.Printf("incoming: %s %s:%d %s, user %s (%s)\n", in.Protocol, in.Host, in.Port, in.Security, in.Username, in.Verdict)
	fmt.Printf("outgoing: %s %s:%d %s, user %s (%s)\n", out.Protocol, out.Host, out.Port, out.Security, out.Username, out.Verdict)
	// Output:
	// ok
	// incoming: imap imap.guess.example:993 tls, user alice@guess.example (usable)
	// outgoing: smtp smtp.guess.example:587 starttls, user alice@guess.example (usable)
}

// A helpdesk's question, with options: only outgoing mail, the answer as soon as it is proven,
// and a password checked — without ever sending it in the clear or twice after a rejection.
func ExampleRun_options() {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		panic(err)
	}
	defer world.Close()

	opts := demoOptions(world)
	opts.Protocols = []probe.Protocol{probe.SMTP}
	opts.Fast = true
	opts.Deadline = 10 * time.Second
	opts.Credentials = &probe.Credentials{Password: "demo-password"} // the user name: the address
	rep, err := discover.Run(context.Background(), "alice@guess.example", opts)
	if err != nil {
		panic(err)
	}
	out := rep.Recommended.Outgoing
	fmt.Println(out.Host, out.Port, out.Security, "login ok:", out.LoginOK)
	for _, c := range rep.Configs {
		fmt.Println(c.Port, c.Verdict, c.Blockers)
	}
	// Output:
	// smtp.guess.example 587 starttls login ok: true
	// 587 usable []
	// 465 insecure [cert_expired]
}

// Events tell a waiting user what is happening.
func ExampleOptions_progress() {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		panic(err)
	}
	defer world.Close()

	opts := demoOptions(world)
	opts.Protocols = []probe.Protocol{probe.IMAP}
	works := 0
	opts.Progress = func(e discover.Event) {
		if e.Kind == discover.EventProbe && e.Verdict == discover.Usable {
			works++
		}
	}
	if _, err := discover.Run(context.Background(), "alice@srv.example", opts); err != nil {
		panic(err)
	}
	fmt.Println("usable IMAP endpoints:", works)
	// Output:
	// usable IMAP endpoints: 2
}

// An autoconfig document as Thunderbird would fetch it.
func ExampleParseAutoconfig() {
	doc, err := discover.ParseAutoconfig([]byte(`<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>587</port><socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>`), "example.com")
	if err != nil {
		panic(err)
	}
	for _, s := range doc.Servers {
		fmt.Println(s.Protocol, s.Host, s.Port, s.Security, s.Username)
	}
	// Output:
	// imap imap.example.com 993 tls %EMAILADDRESS%
	// smtp smtp.example.com 587 starttls %EMAILADDRESS%
}
