package discover_test

import (
	"context"
	"fmt"

	"github.com/mailscout/mailscout/discover"
	"github.com/mailscout/mailscout/mailsim"
)

// Discovery against the built-in demo world. On the Internet, DefaultOptions alone is enough:
// the system's resolvers, direct connections and the system's trust store.
func ExampleRun() {
	world, err := mailsim.StartWorld(mailsim.DemoSpec())
	if err != nil {
		panic(err)
	}
	defer world.Close()

	opts := discover.DefaultOptions()
	opts.Resolver = &discover.DNSResolver{Servers: []string{world.DNSAddr()}}
	opts.Probe.Dial = world
	opts.Probe.RootCAs = world.CA.Pool()
	opts.NoISPDB = true

	rep, err := discover.Run(context.Background(), "alice@srv.example", opts)
	if err != nil {
		panic(err)
	}
	in, out := rep.Recommended.Incoming, rep.Recommended.Outgoing
	fmt.Printf("incoming: %s %s:%d %s, user %s\n", in.Protocol, in.Host, in.Port, in.Security, in.Username)
	fmt.Printf("outgoing: %s %s:%d %s, user %s\n", out.Protocol, out.Host, out.Port, out.Security, out.Username)
	// Output:
	// incoming: imap mail.srv.example:993 tls, user alice@srv.example
	// outgoing: smtp mail.srv.example:465 tls, user alice@srv.example
}
