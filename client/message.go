package client

import (
	"crypto/sha256"
	"encoding/binary"
)

// MessageDomain separates qapprove sandbox action messages from any other
// signed bytes (docs/PROTOCOL.md "Message to sign").
const MessageDomain = "qredo-action-v1"

// ActionMessage builds the deterministic message the sandbox asks approvers
// to sign for an action: protobuf-style fields
//
//	1 (varint)  version = 1
//	2 (bytes)   SHA-256(MessageDomain || 0x00 || id || 0x00 || type as 4 bytes BE || payload JSON)
//	3 (bytes)   the action ID
//	4 (varint)  the action type
//
// It starts with 08 01 12 20 like the frames Qredo sends. The client never
// builds messages: it signs Messages[0] exactly as received.
func ActionMessage(id string, typ int, payloadJSON []byte) []byte {
	h := sha256.New()
	h.Write([]byte(MessageDomain))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	var t [4]byte
	binary.BigEndian.PutUint32(t[:], uint32(typ))
	h.Write(t[:])
	h.Write(payloadJSON)
	m := []byte{0x08, 0x01, 0x12, 0x20}
	m = h.Sum(m)
	m = append(m, 0x1a)
	m = binary.AppendUvarint(m, uint64(len(id)))
	m = append(m, id...)
	m = append(m, 0x20)
	m = binary.AppendUvarint(m, uint64(typ))
	return m
}

// MessageNamesAction checks that a message in the ActionMessage layout
// names this action's ID and type, so a message meant for another action
// is never signed for this one. known is false when msg is not in that
// layout (nothing can be said about it then).
func MessageNamesAction(msg []byte, id string, typ int) (match, known bool) {
	const hashEnd = 4 + sha256.Size
	if len(msg) < hashEnd+2 || msg[0] != 0x08 || msg[1] != 0x01 || msg[2] != 0x12 || msg[3] != 0x20 || msg[hashEnd] != 0x1a {
		return false, false
	}
	rest := msg[hashEnd+1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return false, false
	}
	gotID := rest[k : k+int(n)]
	rest = rest[k+int(n):]
	if len(rest) < 2 || rest[0] != 0x20 {
		return false, false
	}
	t, k := binary.Uvarint(rest[1:])
	if k <= 0 || 1+k != len(rest) {
		return false, false
	}
	return string(gotID) == id && t == uint64(typ), true
}

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
