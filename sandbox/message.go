package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
)

// The sandbox message layout (docs/PROTOCOL.md "The sandbox message
// layout"). The client parses it with its own code; the two must not
// share a function, so that they can disagree when one is wrong.
const (
	// messageDomain starts the preimage of the field-2 digest.
	messageDomain = "qredo-action-v1"
	// MessageMarker is field 5: it makes the layout recognisable with
	// certainty, so that a genuine Qredo message never looks like it.
	MessageMarker = "qapprove-sandbox-action/v1"
)

// bindingDigest is SHA-256("qredo-action-v1" || 0x00 || id || 0x00 ||
// uint32_be(typ) || SHA-256(payload)), payload being the bytes exactly as
// sent (its hash is what a holder of many actions keeps).
func bindingDigest(id string, typ int, payload []byte) [32]byte {
	ph := sha256.Sum256(payload)
	b := make([]byte, 0, len(messageDomain)+len(id)+6+len(ph))
	b = append(b, messageDomain...)
	b = append(b, 0)
	b = append(b, id...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(typ)) //nolint:gosec // G115: the layout fixes uint32_be(type); the sandbox makes small types
	b = append(b, ph[:]...)
	return sha256.Sum256(b)
}

// layoutMessage writes fields 1..5 in order (protobuf wire format):
// version, digest, id, type, marker.
func layoutMessage(version uint64, digest [32]byte, id string, typ int) []byte {
	m := []byte{0x08}
	m = binary.AppendUvarint(m, version)
	m = append(m, 0x12, 0x20)
	m = append(m, digest[:]...)
	m = append(m, 0x1a)
	m = binary.AppendUvarint(m, uint64(len(id)))
	m = append(m, id...)
	m = append(m, 0x20)
	m = binary.AppendUvarint(m, uint64(typ)) //nolint:gosec // G115: the sandbox makes only non-negative types
	m = append(m, 0x2a)
	m = binary.AppendUvarint(m, uint64(len(MessageMarker)))
	return append(m, MessageMarker...)
}

// Message is the message of action id of type typ whose payload
// bytes (exactly as sent) are payload.
func Message(id string, typ int, payload []byte) []byte {
	return layoutMessage(1, bindingDigest(id, typ, payload), id, typ)
}

// OpaqueMessage is shaped like a real Qredo message: field 1 = 1 and a
// 32-byte field 2, nothing else (no marker).
func OpaqueMessage(digest [32]byte) []byte {
	return append([]byte{0x08, 0x01, 0x12, 0x20}, digest[:]...)
}
