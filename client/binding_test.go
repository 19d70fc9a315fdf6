package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// knownAnswerHex is a message in the sandbox layout for action "2AbC",
// type 25, payload {"policyName":"p"}, computed outside Go (Python
// hashlib and hand-written protobuf framing).
const knownAnswerHex = "08011220" +
	"9b1ce8cf61c84c13e4fcb47b028a9a1d81080010b31ab1cc3bf9fc5859bc45bb" +
	"1a04" + "32416243" + "2019" +
	"2a1a" + "71617070726f76652d73616e64626f782d616374696f6e2f7631"

const knownAnswerPayload = `{"policyName":"p"}`

// sandboxMessageForTest builds a message in the sandbox layout, for tests
// and benchmarks only (the sandbox has its own builder).
func sandboxMessageForTest(id string, typ int, payload []byte) []byte {
	m := []byte{0x08, 0x01, 0x12, 0x20}
	m = append(m, sandboxDigest(id, typ, sha256.Sum256(payload))...)
	m = append(m, 0x1a)
	m = binary.AppendUvarint(m, uint64(len(id)))
	m = append(m, id...)
	m = append(m, 0x20)
	m = binary.AppendUvarint(m, uint64(typ))
	m = append(m, 0x2a, byte(len(sandboxMarker)))
	return append(m, sandboxMarker...)
}

func shownAction(id string, typ int, payload string) *Action {
	return &Action{ID: id, Type: typ, PayloadSHA256: sha256.Sum256([]byte(payload)), Detail: &ActionDetail{RawPayload: []byte(payload)}}
}

func knownAnswer(t *testing.T) []byte {
	t.Helper()
	b, err := hex.DecodeString(knownAnswerHex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckBindingKnownAnswer(t *testing.T) {
	ka := knownAnswer(t)
	if b, f := CheckBinding(ka, shownAction("2AbC", 25, knownAnswerPayload)); b != BindingBound || f != "" {
		t.Fatalf("known-answer message: %v %q", b, f)
	}
	if got := sandboxMessageForTest("2AbC", 25, []byte(knownAnswerPayload)); !bytes.Equal(got, ka) {
		t.Fatalf("test builder disagrees with the known answer:\n%x\n%x", got, ka)
	}
	// DecodeWire sets the binding, for a base64 payload and for the same
	// bytes inline as a JSON object.
	for _, frame := range []string{
		`{"id":"2AbC","type":25,"status":1,"messages":["` + base64.StdEncoding.EncodeToString(ka) + `"],"payload":"` + base64.StdEncoding.EncodeToString([]byte(knownAnswerPayload)) + `"}`,
		`{"id":"2AbC","type":25,"status":1,"messages":["` + base64.StdEncoding.EncodeToString(ka) + `"],"payload":` + knownAnswerPayload + `}`,
	} {
		a, err := DecodeFeedFrame([]byte(frame))
		if err != nil || a.Binding != BindingBound {
			t.Fatalf("%s: %v binding %v", frame, err, a.Binding)
		}
	}
}

func TestCheckBindingMismatchNamesTheField(t *testing.T) {
	ka := knownAnswer(t)
	tamper := func(i int, v byte) []byte {
		m := bytes.Clone(ka)
		m[i] = v
		return m
	}
	noBytes := shownAction("2AbC", 25, knownAnswerPayload)
	noBytes.Detail = nil
	inconsistent := shownAction("2AbC", 25, knownAnswerPayload)
	inconsistent.PayloadSHA256[0] ^= 1
	for _, c := range []struct {
		name  string
		msg   []byte
		a     *Action
		field string
	}{
		{"version in message", tamper(1, 2), shownAction("2AbC", 25, knownAnswerPayload), "version"},
		{"ID shown", ka, shownAction("2AbD", 25, knownAnswerPayload), "action ID"},
		{"ID in message", tamper(39, 'X'), shownAction("2AbC", 25, knownAnswerPayload), "action ID"},
		{"type shown", ka, shownAction("2AbC", 40, knownAnswerPayload), "action type"},
		{"type unknown", ka, shownAction("2AbC", 0, knownAnswerPayload), "action type"},
		{"type in message", tamper(43, 26), shownAction("2AbC", 25, knownAnswerPayload), "action type"},
		{"payload shown", ka, shownAction("2AbC", 25, `{"policyName":"q"}`), "payload SHA-256"},
		{"digest in message", tamper(4, ka[4]^1), shownAction("2AbC", 25, knownAnswerPayload), "payload SHA-256"},
		{"no payload shown", ka, &Action{ID: "2AbC", Type: 25}, "payload (none shown)"},
		{"bytes disagree with hash", ka, inconsistent, "payload SHA-256"},
	} {
		if b, f := CheckBinding(c.msg, c.a); b != BindingMismatch || f != c.field {
			t.Errorf("%s: %v %q, want mismatch %q", c.name, b, f, c.field)
		}
	}
	// The payload's hash is enough: a holder of many actions drops the bytes.
	if b, f := CheckBinding(ka, noBytes); b != BindingBound {
		t.Errorf("payload bytes not held: %v %q, want bound", b, f)
	}
	// DecodeWire: a sandbox message without a payload is a mismatch.
	w := WireAction{ID: "2AbC", Type: 25, Status: 1, Messages: []string{knownAnswerHex}}
	if a, err := DecodeWire(&w, true); err != nil || a.Binding != BindingMismatch {
		t.Fatalf("no payload: %v %+v", err, a)
	}
}

// A message that is not certainly the sandbox layout is never refused:
// a real Qredo message looks similar (08 01 12 20 <digest> …).
func TestCheckBindingRealQredoLayoutIsUnknown(t *testing.T) {
	ka := knownAnswer(t)
	digest := bytes.Repeat([]byte{0x9d}, 32)
	qredoLike := append([]byte{0x08, 0x01, 0x12, 0x20}, digest...)
	wrongMarker := bytes.Clone(ka)
	wrongMarker[len(wrongMarker)-1] = '2'
	wrongField := bytes.Clone(ka)
	wrongField[44] = 0x32 // field 6 instead of 5
	trailing := append(bytes.Clone(ka), 0x00)
	shortLen := bytes.Clone(ka)
	shortLen[45]-- // marker length one short: a byte left over
	for name, msg := range map[string][]byte{
		"qredoLike digest only":   qredoLike,
		"qredoLike with trailing": append(bytes.Clone(qredoLike), 0x1a, 0x04, '2', 'A', 'b', 'C', 0x20, 0x19),
		"missing marker":          ka[:44],
		"wrong marker":            wrongMarker,
		"marker in field 6":       wrongField,
		"trailing byte":           trailing,
		"marker length off":       shortLen,
		"empty":                   nil,
		"marker only":             []byte(sandboxMarker),
		"truncated in digest":     ka[:20],
		"overlong length (id)":    append(append(bytes.Clone(ka[:36]), 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f), ka[38:]...),
	} {
		for _, a := range []*Action{shownAction("2AbC", 25, knownAnswerPayload), {ID: "2Other"}, nil} {
			if b, f := CheckBinding(msg, a); b != BindingUnknown || f != "" {
				t.Errorf("%s: %v %q, want unknown", name, b, f)
			}
		}
	}
}

// The sandbox's approvals travel outside the payload; the binding of a
// payload is unchanged by them.
func TestApprovalsOutsideThePayload(t *testing.T) {
	ka := knownAnswer(t)
	pl := base64.StdEncoding.EncodeToString([]byte(`{"policyName":"p","policy":{"threshold":2,"approvals":1}}`))
	base := `{"id":"2AbC","type":25,"status":1,"messages":["` + hex.EncodeToString(ka) + `"],"payload":"` + pl + `"`
	var w WireAction
	if err := json.Unmarshal([]byte(base+`}`), &w); err != nil {
		t.Fatal(err)
	}
	a, _ := DecodeWire(&w, true)
	if err := json.Unmarshal([]byte(base+`,"approvals":2}`), &w); err != nil {
		t.Fatal(err)
	}
	b, _ := DecodeWire(&w, true)
	if a.Payload.Approvals != 1 || b.Payload.Approvals != 2 {
		t.Fatalf("approvals %d (policy), %d (top level)", a.Payload.Approvals, b.Payload.Approvals)
	}
	if a.PayloadSHA256 != b.PayloadSHA256 || a.Fingerprint() == b.Fingerprint() {
		t.Fatal("approvals must change the fingerprint, not the payload hash")
	}
}
