package probe

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scramClient is SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the password never
// crosses the wire, and the server proves it knows the password too (mutual authentication).
// User names are not SASLprep-normalised: ASCII names, which mail logins are, need none.
type scramClient struct {
	username, password string
	nonce              string // client nonce
	clientFirstBare    string
	serverSignature    []byte
	step               int
	verified           bool // the server-final message carried the right signature
}

func newScramClient(username, password string) *scramClient {
	b := make([]byte, 18)
	rand.Read(b)
	return &scramClient{username: username, password: password, nonce: base64.RawStdEncoding.EncodeToString(b)}
}

// mutual reports that the server's final message was checked: it proved it knows the password.
func (c *scramClient) mutual() bool { return c.verified }

func (c *scramClient) Start() (string, []byte, error) {
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(c.username)
	c.clientFirstBare = "n=" + name + ",r=" + c.nonce
	return "SCRAM-SHA-256", []byte("n,," + c.clientFirstBare), nil
}

func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	switch c.step {
	case 1:
		return c.final(challenge)
	case 2:
		// server-final-message: "v=" + the server's signature, or "e=" + an error.
		msg := string(challenge)
		if e, ok := strings.CutPrefix(msg, "e="); ok {
			return nil, fmt.Errorf("SCRAM: server error %q", e)
		}
		v, ok := strings.CutPrefix(msg, "v=")
		sig, err := base64.StdEncoding.DecodeString(v)
		if !ok || err != nil || subtle.ConstantTimeCompare(sig, c.serverSignature) != 1 {
			return nil, errors.New("SCRAM: the server's signature is wrong: it does not know the password (not the real server?)")
		}
		c.verified = true
		return []byte{}, nil
	}
	return nil, errors.New("SCRAM: unexpected challenge")
}

// final answers the server-first-message "r=nonce,s=salt,i=iterations".
func (c *scramClient) final(serverFirst []byte) ([]byte, error) {
	attrs := map[string]string{}
	for _, kv := range strings.Split(string(serverFirst), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && len(k) == 1 {
			attrs[k] = v
		}
	}
	nonce, saltB64, iterStr := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return nil, errors.New("SCRAM: the server's nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil || len(salt) == 0 {
		return nil, errors.New("SCRAM: bad salt")
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter < 1 || iter > 1_000_000 {
		return nil, fmt.Errorf("SCRAM: iteration count %q out of range", iterStr)
	}
	salted, err := pbkdf2.Key(sha256.New, c.password, salt, iter, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=biws,r=" + nonce // "biws" is base64("n,,")
	authMessage := []byte(c.clientFirstBare + "," + string(serverFirst) + "," + withoutProof)
	signature := hmacSHA256(storedKey[:], authMessage)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ signature[i]
	}
	c.serverSignature = hmacSHA256(hmacSHA256(salted, []byte("Server Key")), authMessage)
	var b bytes.Buffer
	b.WriteString(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))
	return b.Bytes(), nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
