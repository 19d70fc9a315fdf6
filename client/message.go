package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
)

// Binding says how the message to sign relates to the action shown.
type Binding uint8

// Bindings of a message to its action.
const (
	// BindingUnknown: the message is not in a layout qapprove knows (the
	// real service sends a digest it cannot recompute): it is signed as
	// received, and the screen says it cannot be checked.
	BindingUnknown Binding = iota
	// BindingBound: the message is certainly in the sandbox layout and
	// every field (version, ID, type, SHA-256 over the payload) matches.
	BindingBound
	// BindingMismatch: the message is certainly in the sandbox layout and
	// a field disagrees with the action shown: never signed.
	BindingMismatch
)

// String names the binding ("unbound", "bound", "mismatch").
func (b Binding) String() string {
	switch b {
	case BindingBound:
		return "bound"
	case BindingMismatch:
		return "mismatch"
	}
	return "unbound"
}

// sandboxMarker is field 5 of a message in the sandbox layout: only
// a message that ends with it (and parses completely) is checked.
const sandboxMarker = "qapprove-sandbox-action/v1"

// sandboxDomain opens the string hashed into field 2.
const sandboxDomain = "qredo-action-v1"

// CheckBinding checks msg against the action shown, a
// (docs/PROTOCOL.md, the sandbox message layout). When msg is certainly in
// the sandbox layout — protobuf fields 1 to 5 in order, nothing else,
// field 5 the marker — every field must match a: version 1, the ID, the
// type, and field 2 the SHA-256 over the domain, ID, type and the SHA-256
// of the payload bytes shown (a.PayloadSHA256, so a holder of many
// actions need not keep their bytes). A difference gives BindingMismatch
// and the field's name ("version", "action ID", "action type", "payload
// SHA-256", or "payload (none shown)"). Any other message gives
// BindingUnknown: it may be genuine (the real service's layout is a digest
// qapprove cannot recompute).
func CheckBinding(msg []byte, a *Action) (Binding, string) {
	if a == nil {
		a = &Action{}
	}
	m, ok := parseSandboxMessage(msg)
	switch {
	case !ok:
		return BindingUnknown, ""
	case m.version != 1:
		return BindingMismatch, "version"
	case string(m.id) != a.ID:
		return BindingMismatch, "action ID"
	case a.Type < 0 || m.typ != uint64(a.Type):
		return BindingMismatch, "action type"
	case !a.HasPayload():
		return BindingMismatch, "payload (none shown)"
	case !bytes.Equal(m.digest, sandboxDigest(a.ID, a.Type, a.PayloadSHA256)):
		return BindingMismatch, "payload SHA-256"
	}
	return BindingBound, ""
}

// sandboxDigest is field 2 of the sandbox layout: SHA-256(domain || 0x00
// || id || 0x00 || uint32_be(type) || SHA-256(payload)).
func sandboxDigest(id string, typ int, payloadSHA256 [32]byte) []byte {
	h := sha256.New()
	h.Write([]byte(sandboxDomain))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(typ))) //nolint:gosec // G115: the layout fixes uint32_be(type); CheckBinding has already matched typ to the message field
	h.Write(payloadSHA256[:])
	return h.Sum(nil)
}

// sandboxMessage holds the fields of a message in the sandbox layout.
type sandboxMessage struct {
	version, typ uint64
	digest, id   []byte
}

// parseSandboxMessage parses b as the sandbox layout; ok only when it is
// certainly that layout: fields 1..5 in order, nothing before, between or
// after, and field 5 equal to the marker.
func parseSandboxMessage(b []byte) (m sandboxMessage, ok bool) {
	var marker []byte
	if m.version, b, ok = varintField(b, 0x08); !ok {
		return m, false
	}
	if m.digest, b, ok = bytesField(b, 0x12); !ok {
		return m, false
	}
	if m.id, b, ok = bytesField(b, 0x1a); !ok {
		return m, false
	}
	if m.typ, b, ok = varintField(b, 0x20); !ok {
		return m, false
	}
	if marker, b, ok = bytesField(b, 0x2a); !ok {
		return m, false
	}
	return m, len(b) == 0 && string(marker) == sandboxMarker
}

// varintField reads a varint field with the given tag byte.
func varintField(b []byte, tag byte) (uint64, []byte, bool) {
	if len(b) < 2 || b[0] != tag {
		return 0, b, false
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, b, false
	}
	return v, b[1+n:], true
}

// bytesField reads a length-delimited field with the given tag byte.
func bytesField(b []byte, tag byte) ([]byte, []byte, bool) {
	l, rest, ok := varintField(b, tag)
	if !ok || l > uint64(len(rest)) {
		return nil, b, false
	}
	return rest[:l], rest[l:], true
}
