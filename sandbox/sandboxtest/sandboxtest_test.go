package sandboxtest

import (
	"bytes"
	"testing"

	"github.com/qapprove/qapprove/sandbox"
)

// The helpers add what they say in either protocol.
func TestHelpers(t *testing.T) {
	EachProtocol(t, func(t *testing.T, p sandbox.Protocol) {
		srv, base := StartProtocol(t, p, sandbox.Options{})
		if srv.Protocol() != p || base == "" {
			t.Fatalf("started %s at %q", srv.Protocol(), base)
		}
		hostile, _ := srv.Action(AddHostileAction(t, srv))
		if !bytes.Contains(hostile.Payload, []byte(`\u001b[31mRED\rCR\u0007BEL`)) || !bytes.Contains(hostile.Payload, []byte("\u202e")) {
			t.Fatalf("hostile payload %s", hostile.Payload)
		}
		mismatched, _ := srv.Action(AddMismatchedAction(t, srv))
		opaque, _ := srv.Action(AddOpaqueAction(t, srv))
		if !bytes.HasSuffix(mismatched.Message, []byte(sandbox.MessageMarker)) || len(opaque.Message) != 36 {
			t.Fatalf("mismatched %x, opaque %x", mismatched.Message, opaque.Message)
		}
		if _, ok := srv.Action(AddMalformedAction(t, srv, sandbox.MalformedPayload)); !ok {
			t.Fatal("malformed action not added")
		}
	})
}
