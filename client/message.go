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
