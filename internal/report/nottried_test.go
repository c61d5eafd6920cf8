package report

import (
	"testing"

	"github.com/mailscout/mailscout/probe"
)

// Every reason a login was not made has words on the Recommended line.
func TestNotTriedWords(t *testing.T) {
	for _, code := range []string{probe.NotAttemptedNoTLS, probe.NotAttemptedBadCert, probe.NotAttemptedNoMechanism,
		probe.NotAttemptedUnsafeInput, probe.NotAttemptedUntrustedHost, probe.NotAttemptedNoUser,
		probe.NotAttemptedAlreadyFailed, probe.NotAttemptedSucceeded, probe.NotAttemptedUnreachable} {
		if w := notTriedWords(code); w == code || w == "" {
			t.Errorf("%s has no words", code)
		}
	}
}
