package sandbox

import (
	"fmt"
	"net"
	"strings"
)

// Protocol selects what the sandbox serves (docs/PROTOCOL.md "Sandbox
// modes").
type Protocol string

// Protocols.
const (
	// ProtocolExtended serves the confirmed protocol plus qapprove's
	// extensions: the list endpoint, myDecision, approvals, status 5,
	// type 40, the policy object and {code,detail} errors. The default.
	ProtocolExtended Protocol = "extended"
	// ProtocolMinimal serves only what public sources confirm (what the
	// Qredo signing agent relies on).
	ProtocolMinimal Protocol = "minimal"
)

// ParseProtocol reads "minimal" or "extended" ("" = extended).
func ParseProtocol(s string) (Protocol, error) {
	switch Protocol(s) {
	case "", ProtocolExtended:
		return ProtocolExtended, nil
	case ProtocolMinimal:
		return ProtocolMinimal, nil
	}
	return "", fmt.Errorf("protocol must be %q or %q, not %q", ProtocolMinimal, ProtocolExtended, s)
}

// MessageLayout selects how the sandbox builds the message of an ordinary
// action.
type MessageLayout string

// Message layouts.
const (
	// MessagesSandbox: the sandbox layout (message.go), which a client can
	// check against the payload shown. The default in extended mode.
	MessagesSandbox MessageLayout = "sandbox"
	// MessagesOpaque: like the real service, 08 01 12 20 and a 32-byte
	// digest nobody outside can recompute. The default in minimal mode.
	MessagesOpaque MessageLayout = "opaque"
)

// ParseMessageLayout reads "sandbox" or "opaque" ("" = the protocol's
// default, returned as "").
func ParseMessageLayout(s string) (MessageLayout, error) {
	switch MessageLayout(s) {
	case "", MessagesSandbox, MessagesOpaque:
		return MessageLayout(s), nil
	}
	return "", fmt.Errorf("messages must be %q or %q, not %q", MessagesSandbox, MessagesOpaque, s)
}

// Action status codes: 1, 3 and 4 are the signing agent's; 5 (expired)
// is our extension, served in extended mode only.
const (
	StatusPending  = 1
	StatusApproved = 3
	StatusRejected = 4
	StatusExpired  = 5
)

// Action type codes. 25 is the type of the swagger example (a
// transaction); 40 (key update) is our extension: in minimal mode a key
// update has no feed frame, so its type never appears on the wire.
const (
	TypeTransaction  = 25
	TypeAPIKeyUpdate = 40
)

// Bounds shared with what clients accept.
const (
	maxIDLength    = 128
	maxTokenBytes  = 8 << 10
	maxAnswerBytes = 1 << 20 // a client's bound on an answer
)

// validID reports whether s is 1–128 of [A-Za-z0-9._-] (IDs go into URL
// paths).
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isLoopback reports whether host is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// formatAmount renders base units in whole units ("1500000", 6 → "1.5");
// anything that is not a plain decimal is returned unchanged.
func formatAmount(base string, decimals int) string {
	if !digits(base) || decimals < 0 || decimals > 77 {
		return base
	}
	s := strings.TrimLeft(base, "0")
	if s == "" {
		return "0"
	}
	if decimals == 0 {
		return s
	}
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
