package serve

import (
	"crypto/rand"
	"encoding/base64"
	"regexp"
)

// newID returns a random permalink ID: 128 bits, so that a result cannot be found by guessing
// (a report names a person's address and their provider's weak spots), in URL-safe base64.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+: it panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// validID says whether s could be an ID newID made; anything else is not looked up.
func validID(s string) bool { return idPattern.MatchString(s) }
