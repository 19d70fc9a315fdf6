package journal

import (
	"encoding/json"
	"testing"
)

// Open hands every intact line to OnEntry in order, so the engine can
// index decisions in the same pass as the seal check.
func TestOpenVisitsEveryEntryInOrder(t *testing.T) {
	fx := newFixture(t, 3)
	var kinds []Kind
	var ids []string
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors, OnEntry: func(kind Kind, body []byte) {
		kinds = append(kinds, kind)
		if kind == KindDecision {
			var d DecisionBody
			if err := json.Unmarshal(body, &d); err != nil {
				t.Errorf("decision body: %v", err)
			}
			ids = append(ids, d.ActionID)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(kinds) != j.State().Entries || kinds[0] != KindGenesis {
		t.Fatalf("visited %d kinds %v, journal has %d lines", len(kinds), kinds, j.State().Entries)
	}
	if want := []string{"act-0001", "act-0002", "act-0003"}; len(ids) != 3 || ids[0] != want[0] || ids[2] != want[2] {
		t.Fatalf("decisions visited = %v, want %v", ids, want)
	}
}

// The new kinds round-trip: an abandoned attempt may be unsigned, a
// rebinding must be signed.
func TestAbandonedAndRebound(t *testing.T) {
	fx := newFixture(t, 1)
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(KindAbandoned, AbandonedBody{ActionID: "act-9", Decision: "approve", Why: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(KindRebound, ReboundBody{From: "https://a", To: "https://b"}); err == nil {
		t.Fatal("an unsigned rebound entry was accepted")
	}
	if _, err := j.AppendSigned(KindRebound, ReboundBody{From: "https://a", To: "https://b"}, fx.signer); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(fx.path, VerifyOptions{})
	if err != nil || rep.Problem != nil || rep.Unsealed != 0 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
