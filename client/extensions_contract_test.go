package client_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
)

// Against the sandbox: extended mode says who approved (with names) and
// carries the scenario's calldata; minimal mode says neither, and the
// client works without them.
func TestExtensionsFromTheSandbox(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	list, err := e.c.ListPending(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var calls, named int
	for _, a := range list {
		if !a.Payload.ApproversKnown() {
			t.Fatalf("extended action %s without approvedBy", a.ID)
		}
		for _, ap := range a.Payload.ApprovedBy {
			if ap.Name != "" && !ap.At.IsZero() {
				named++
			}
		}
		if d := a.Payload.Transaction.Data; len(d) >= 4 {
			calls++
		}
	}
	if calls != 3 || named == 0 {
		t.Fatalf("%d contract calls (want 3), %d named approvals", calls, named)
	}
	approve := pendingWhere(t, e, func(a *client.Action) bool {
		return a.Payload.Transaction != nil && bytes.HasPrefix(a.Payload.Transaction.Data, []byte{0x09, 0x5e, 0xa7, 0xb3})
	})
	if len(approve.Payload.Transaction.Data) != 68 || !approve.PayloadUnderstood() {
		t.Fatalf("approve calldata %x", approve.Payload.Transaction.Data)
	}

	m := start(t, sandbox.Options{Protocol: sandbox.ProtocolMinimal}, nil)
	id := m.srv.ActionIDs()[0]
	a, err := m.c.GetAction(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Payload.ApproversKnown() || a.Payload != nil {
		t.Fatalf("minimal GET gave approvers or a payload: %+v", a.Payload)
	}
	info, _ := m.srv.Action(id)
	if strings.Contains(string(info.Payload), `"data"`) {
		t.Fatalf("minimal payload carries calldata: %s", info.Payload)
	}
}

// A hostile calldata string from the sandbox makes the payload not
// understood; the client neither fails nor keeps the bytes.
func TestHostileCalldataFromTheSandbox(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	id, err := e.srv.AddCustomAction(sandbox.CustomAction{Data: "0x\x1b[31m\u202eff"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.c.GetAction(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.PayloadUnderstood() || a.Payload.Transaction.Data != nil || !strings.Contains(a.PayloadErr(), "calldata") {
		t.Fatalf("hostile calldata: understood %v, err %q", a.PayloadUnderstood(), a.PayloadErr())
	}
}
