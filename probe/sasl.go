package probe

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASL mechanisms come from github.com/emersion/go-sasl where it has a client (PLAIN,
// OAUTHBEARER). LOGIN, CRAM-MD5, XOAUTH2 and SCRAM-SHA-256 are written here: go-sasl's LOGIN
// client accepts only a "Password:" challenge (servers without SASL-IR ask "Username:" first),
// it has no CRAM-MD5 (RFC 2195) and no SCRAM (its maintainer has no plans), and it dropped
// XOAUTH2. Each is a few lines on the standard library.

// saslPreference is the order mechanisms are chosen in, strongest first: a token never reveals
// a password; SCRAM does not send it and proves the server knows it too; CRAM-MD5 does not send
// it; PLAIN and LOGIN do (inside TLS).
var saslPreference = []string{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"}

var supportedMechanisms = []string{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN", "USER", "APOP"}

// SupportedMechanisms lists what mailscout can log in with, SASL and protocol-specific
// (IMAP's LOGIN command counts as LOGIN; POP3's USER/PASS is USER; APOP is APOP).
func SupportedMechanisms() []string { return slices.Clone(supportedMechanisms) }

func newSASLClient(mech string, c *Credentials, username, host string, port int) (sasl.Client, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainClient("", username, c.Password), nil
	case "LOGIN":
		return &loginClient{username: username, password: c.Password}, nil
	case "CRAM-MD5":
		return &cramMD5Client{username: username, password: c.Password}, nil
	case "SCRAM-SHA-256":
		return newScramClient(username, c.Password), nil
	case "OAUTHBEARER":
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: username, Token: c.OAuthToken, Host: host, Port: port}), nil
	case "XOAUTH2":
		return &xoauth2Client{username: username, token: c.OAuthToken}, nil
	}
	return nil, fmt.Errorf("mechanism %s is not supported", mech)
}

// loginClient is the LOGIN mechanism (draft-murchison-sasl-login): the username, then the
// password, each in answer to a prompt. Servers word the prompts differently; the first
// answer is the username unless the prompt asks for the password.
type loginClient struct {
	username, password string
	step               int
}

func (c *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	switch {
	case c.step == 1 && !bytes.Contains(bytes.ToLower(challenge), []byte("pass")):
		return []byte(c.username), nil
	case c.step <= 2:
		c.step = 2
		return []byte(c.password), nil
	}
	return nil, errors.New("LOGIN: unexpected third challenge")
}

// cramMD5Client is RFC 2195: HMAC-MD5 of the server's challenge, keyed with the password.
type cramMD5Client struct{ username, password string }

func (c *cramMD5Client) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (c *cramMD5Client) Next(challenge []byte) ([]byte, error) {
	if len(challenge) == 0 {
		return nil, errors.New("CRAM-MD5: empty challenge")
	}
	m := hmac.New(md5.New, []byte(c.password))
	m.Write(challenge)
	return []byte(c.username + " " + hex.EncodeToString(m.Sum(nil))), nil
}

// xoauth2Client is Google's and Microsoft's XOAUTH2: "user=U^Aauth=Bearer T^A^A".
type xoauth2Client struct{ username, token string }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers an error challenge (a JSON status) with an empty response, as the mechanism asks.
func (c *xoauth2Client) Next([]byte) ([]byte, error) { return []byte{}, nil }

// chooseMechanism picks the strongest mechanism both sides allow, from the server's list.
func chooseMechanism(server []string, c *Credentials) string {
	for _, m := range saslPreference {
		if !c.allows(m) || !containsFold(server, m) {
			continue
		}
		if (m == "OAUTHBEARER" || m == "XOAUTH2") != (c.OAuthToken != "") {
			continue // tokens for token mechanisms, passwords for the others
		}
		return m
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
