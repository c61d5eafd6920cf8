package clientconfig

import (
	"crypto/sha1"
	"fmt"
)

// namespaceURL is the RFC 4122 Appendix C name space ID for URLs,
// 6ba7b811-9dad-11d1-80b4-00c04fd430c8. Our names are "mailscout-mobileconfig:…" strings; any
// fixed name space works for RFC 4122 §4.3, the point is only that it never changes.
var namespaceURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 returns the name-based UUID (RFC 4122 §4.3, version 5, SHA-1) of name in ns, in the
// upper-case form Apple's profile examples use. SHA-1 is what version 5 is defined with; nothing
// here depends on its collision resistance.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
