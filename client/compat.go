package client

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
)

// ActionMessage builds the sandbox's former message layout (fields 1-4,
// no marker).
//
// Deprecated: kept only so that the module builds until the sandbox
// builds its own messages (sandbox/message.go); CheckBinding treats this
// layout as unknown. Delete it then.
func ActionMessage(id string, typ int, payloadJSON []byte) []byte {
	m := []byte{0x08, 0x01, 0x12, 0x20}
	m = append(m, sandboxDigest(id, typ, sha256.Sum256(payloadJSON))...)
	m = append(m, 0x1a)
	m = binary.AppendUvarint(m, uint64(len(id)))
	m = append(m, id...)
	m = append(m, 0x20)
	return binary.AppendUvarint(m, uint64(typ))
}

// MessageNamesAction checks that a message in the former layout names
// this action's ID and type; known is false for any other message.
//
// Deprecated: use CheckBinding. Kept only until the engine moves to it.
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

// ListPendingPages is ListPages without the skipped actions.
//
// Deprecated: use ListPages, which reports malformed actions. Kept only
// until the engine moves to it.
func (c *Client) ListPendingPages(ctx context.Context, fn func(page []*Action) error) error {
	return c.ListPages(ctx, func(page []*Action, _ []Skipped) error { return fn(page) })
}
