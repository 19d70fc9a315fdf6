package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/assets"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
)

// feed hands a history the entries a journal would, in order.
func feedDecision(t *testing.T, h *history, at time.Time, id, decision, amount string) {
	t.Helper()
	b, err := json.Marshal(journal.DecisionBody{ActionID: id, Decision: decision,
		Summary: &journal.DecisionSummary{Amount: amount, Asset: "ETH", To: "0xAbC", Network: "Ethereum", ChainID: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	h.onEntry(journal.KindDecision, at, b)
}

func feedOutcome(t *testing.T, h *history, id, result string) {
	t.Helper()
	b, _ := json.Marshal(journal.OutcomeBody{ActionID: id, Result: result})
	h.onEntry(journal.KindOutcome, time.Time{}, b)
}

// Only accepted approvals count: refused, unknown and missing outcomes and
// rejects do not.
func TestHistoryVelocityCountsOnlyAcceptedApprovals(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newHistory()
	feedDecision(t, h, now.Add(-time.Hour), "a1", "approve", "1.5")
	feedOutcome(t, h, "a1", journal.OutcomeAccepted)
	feedDecision(t, h, now.Add(-time.Hour), "a2", "approve", "10")
	feedOutcome(t, h, "a2", journal.OutcomeRefused)
	feedDecision(t, h, now.Add(-time.Hour), "a3", "approve", "20")
	feedOutcome(t, h, "a3", journal.OutcomeUnknown)
	feedDecision(t, h, now.Add(-time.Hour), "a4", "approve", "40") // crashed: no outcome
	feedDecision(t, h, now.Add(-time.Hour), "a5", "reject", "80")
	feedOutcome(t, h, "a5", journal.OutcomeAccepted)
	// Refused, then approved again and accepted: counts once.
	feedDecision(t, h, now.Add(-30*time.Minute), "a2", "approve", "10")
	feedOutcome(t, h, "a2", journal.OutcomeAccepted)
	feedOutcome(t, h, "a2", journal.OutcomeAccepted) // a repeated outcome adds nothing
	q := governance.Query{Asset: "eth", Since: now.Add(-24 * time.Hour), Until: now}
	if got := h.vel.ApprovedSum(q); got != 11.5 {
		t.Fatalf("sum %v, want 11.5 (a1 and the second a2 only)", got)
	}
	if got := h.vel.ApprovedCount(governance.Query{Destination: "0xabc", Network: "1", Since: q.Since, Until: now}); got != 2 {
		t.Fatalf("count %v, want 2", got)
	}
	// The approval counts at the time of its decision entry.
	if got := h.vel.ApprovedCount(governance.Query{Since: now.Add(-45 * time.Minute), Until: now}); got != 1 {
		t.Fatalf("count in the last 45 minutes %v, want 1", got)
	}
	// And the refusal rules keep working: a3 (unknown) and a4 (no outcome) are prior.
	for id, want := range map[string]bool{"a1": true, "a3": true, "a4": true, "a6": false} {
		if _, got := h.prior(id); got != want {
			t.Errorf("prior(%s) = %v, want %v", id, got, want)
		}
	}
}

// FuzzScanDecision: the fast scanner never panics on any body, and reads
// what encoding/json wrote exactly as encoding/json reads it back.
func FuzzScanDecision(f *testing.F) {
	f.Add("a\"1", "1.5", "ETH", "0x\\ab", true, []byte(`{"action_id":"x","decision":"reject"}`))
	f.Add("x", "", "", "", false, []byte(`{"action_id":"x","result":"accepted"}`))
	f.Fuzz(func(t *testing.T, id, amount, asset, to string, approve bool, raw []byte) {
		scanDecision(raw, func(b []byte) string { return string(b) }) // never panics
		scanOutcome(raw)
		dec := map[bool]string{true: "approve", false: "reject"}[approve]
		b, err := json.Marshal(journal.DecisionBody{ActionID: id, Decision: dec, Verdict: "review",
			Summary: &journal.DecisionSummary{Amount: amount, Asset: asset, To: to, ChainID: "1"}, Input: json.RawMessage(`{"x":[1,{"y":"}"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		var want decisionEntry
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		d, ok := scanDecision(b, newHistory().intern)
		got := d.id
		if d.rawID != nil {
			got = string(d.rawID)
		}
		if !ok || got != want.ActionID || d.approve != approve || (approve && (d.sum == nil || *d.sum != *want.Summary)) {
			t.Fatalf("scanner %q %v %+v (ok %v), json %+v %+v", got, d.approve, d.sum, ok, want, want.Summary)
		}
		ob, _ := json.Marshal(journal.OutcomeBody{ActionID: id, Result: amount})
		var wo journal.OutcomeBody
		_ = json.Unmarshal(ob, &wo)
		o, ok := scanOutcome(ob)
		got = o.id
		if o.rawID != nil {
			got = string(o.rawID)
		}
		if !ok || got != wo.ActionID || o.result != wo.Result {
			t.Fatalf("outcome: scanner %q %q, json %+v", got, o.result, wo)
		}
	})
}

func TestRulesStore(t *testing.T) {
	paths := storage.ResolvePaths(t.TempDir())
	data := []byte("[[rule]]\nname='x'\nwhen='true'\nverdict='review'\nreason='x'\n")
	sum, err := StoreRules(paths, "p", data)
	if err != nil || sum != RulesSHA256(data) {
		t.Fatalf("%s %v", sum, err)
	}
	if again, err := StoreRules(paths, "p", data); err != nil || again != sum {
		t.Fatalf("storing twice: %s %v", again, err)
	}
	if fi, err := os.Stat(filepath.Join(RulesStoreDir(paths, "p"), sum+".toml")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept file: %v %v", fi, err)
	}
	if rs, err := LoadStoredRules(paths, "p", sum); err != nil || rs.Len() != 1 {
		t.Fatalf("load: %v", err)
	}
	if rs, err := LoadStoredRules(paths, "p", RulesSHA256(assets.DefaultRules)); err != nil || rs != governance.Default() {
		t.Fatalf("the embedded default is always kept: %v", err)
	}
	for _, bad := range []string{"../../etc/passwd", strings.Repeat("0", 64)} {
		if _, err := LoadStoredRules(paths, "p", bad); !errors.Is(err, ErrRulesNotKept) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestGovernanceSettingsErrors(t *testing.T) {
	paths := storage.ResolvePaths(t.TempDir())
	if err := os.MkdirAll(paths.Config, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCalendar(paths, storage.Profile{TimeZone: "Mars/Olympus"}); err == nil || !strings.Contains(err.Error(), "time_zone") {
		t.Fatalf("unknown zone: %v", err)
	}
	if err := os.WriteFile(filepath.Join(paths.Config, "h.txt"), []byte("2026-12-25\n2026-13-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCalendar(paths, storage.Profile{HolidaysFile: "h.txt"}); err == nil || !strings.Contains(err.Error(), "h.txt:2") {
		t.Fatalf("bad holiday: %v", err)
	}
	cal, err := LoadCalendar(paths, storage.Profile{})
	if err != nil || cal.Loc != time.UTC || cal.Holidays != nil {
		t.Fatalf("defaults: %+v %v", cal, err)
	}
	for _, ps := range []*storage.PriceSettings{
		{Table: "p.toml", URL: "https://x/{asset}"},
		{URL: "http://prices.example.com/{asset}", Field: "p", Currency: "USD", Assets: []string{"ETH"}},
		{Table: "p.toml", MaxAge: "soon"},
		{Table: "p.toml", Refresh: "-1m"},
	} {
		if _, _, _, err := PriceSource(paths, storage.Profile{Prices: ps}); err == nil {
			t.Errorf("accepted %+v", ps)
		}
	}
	src, maxAge, refresh, err := PriceSource(paths, storage.Profile{Prices: &storage.PriceSettings{Table: "p.toml"}})
	if err != nil || src == nil || maxAge != DefaultPriceMaxAge || refresh != DefaultPriceRefresh || src.Name() != "table "+filepath.Join(paths.Config, "p.toml") {
		t.Fatalf("table defaults: %v %v %v %v", src, maxAge, refresh, err)
	}
	if src, _, _, err := PriceSource(paths, storage.Profile{}); src != nil || err != nil {
		t.Fatalf("no prices: %v %v", src, err)
	}
}
