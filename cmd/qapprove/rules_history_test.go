package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const rulesVelocity = `
[[rule]]
name = "ok"
when = 'action.type == "transaction"'
verdict = "approve"
reason = "transfers"

[[rule]]
name = "daily"
when = 'approved_sum(tx.asset, duration("24h")) + tx.amount_number > 10.0'
verdict = "review"
reason = "more than 10 a day"
`

// two actions at a fixed time, 4 and 1 ETH.
const rulesHistoryActions = `[
 {"action":{"id":"big","type":"transaction","status":"pending","expires_in_seconds":3600},"now":"2026-12-07T12:00:00Z",
  "tx":{"network":{"chain_id":"11155111","testnet":true},"asset":"ETH","amount":"4","to":"0x2C4e6a8b0D1f3A5C7e9b2D4f6A8C0e1b3D5f7a65","whitelisted":true}},
 {"action":{"id":"small","type":"transaction","status":"pending","expires_in_seconds":3600},"now":"2026-12-07T12:00:00Z",
  "tx":{"network":{"chain_id":"11155111","testnet":true},"asset":"ETH","amount":"1","to":"0x2C4e6a8b0D1f3A5C7e9b2D4f6A8C0e1b3D5f7a65","whitelisted":true}}
]`

// 7 ETH accepted in the last day; a refused, an unknown, a reject and an
// old approval that must not count.
const rulesHistory = `[
 {"time":"2026-12-07T08:00:00Z","asset":"ETH","amount":"7","to":"0xaa","network":"11155111"},
 {"time":"2026-12-07T09:00:00Z","asset":"ETH","amount":"50","outcome":"refused"},
 {"time":"2026-12-07T09:00:00Z","asset":"ETH","amount":"50","outcome":"unknown"},
 {"time":"2026-12-07T09:00:00Z","asset":"ETH","amount":"50","decision":"reject"},
 {"time":"2026-12-05T09:00:00Z","asset":"ETH","amount":"50"}
]`

func TestRulesTestWithHistory(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "v.toml", rulesVelocity)
	actions := rulesWriteTemp(t, home, "a.json", rulesHistoryActions)
	hist := rulesWriteTemp(t, home, "h.json", rulesHistory)
	code, out, errs := rulesRun(t, home, "rules", "test", rules, "--actions", actions, "--history", hist)
	if code != exitOK || !strings.Contains(out, "big: review") || !strings.Contains(out, "small: approve") {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	// Without history nothing was approved before.
	if _, out, _ := rulesRun(t, home, "rules", "test", rules, "--actions", actions); !strings.Contains(out, "big: approve") {
		t.Fatalf("without history: %q", out)
	}
	bad := rulesWriteTemp(t, home, "bad.json", `[{"time":"2026-12-07T08:00:00Z","asset":"ETH","amount":"-1"}]`)
	if code, _, errs := rulesRun(t, home, "rules", "test", rules, "--actions", actions, "--history", bad); code != exitFail || !strings.Contains(errs, "amount") {
		t.Fatalf("bad history: %d %q", code, errs)
	}
}

func TestRulesDiff(t *testing.T) {
	home := t.TempDir()
	oldRules := rulesWriteTemp(t, home, "old.toml", rulesVelocity)
	newRules := rulesWriteTemp(t, home, "new.toml", strings.Replace(rulesVelocity, "> 10.0", "> 7.5", 1))
	actions := rulesWriteTemp(t, home, "a.json", rulesHistoryActions)
	hist := rulesWriteTemp(t, home, "h.json", rulesHistory)
	code, out, errs := rulesRun(t, home, "rules", "diff", oldRules, newRules, "--actions", actions, "--history", hist)
	if code != exitFail || !strings.Contains(out, "small: approve → review") || strings.Contains(out, "big:") ||
		!strings.Contains(out, "1 of 2 verdicts would change") {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	code, out, _ = rulesRun(t, home, "rules", "diff", "--json", oldRules, oldRules, "--actions", actions)
	var diffs []json.RawMessage
	if code != exitOK || json.Unmarshal([]byte(out), &diffs) != nil || len(diffs) != 0 {
		t.Fatalf("same rules: code %d out %q", code, out)
	}
	// pending --json rows are accepted too.
	pending := rulesWriteTemp(t, home, "p.json", `[{"id":"row","type":25,"network":"Sepolia","chain_id":"11155111","asset":"ETH","amount":"8","to":"0x2C4e6a8b0D1f3A5C7e9b2D4f6A8C0e1b3D5f7a65","expires":"2099-01-01T00:00:00Z"}]`)
	if code, out, _ := rulesRun(t, home, "rules", "diff", oldRules, newRules, "--actions", pending); code != exitFail || !strings.Contains(out, "new: payload, ok, daily") {
		t.Fatalf("pending rows: %d %q", code, out)
	}
}

func TestRulesReplayWithoutJournal(t *testing.T) {
	home := t.TempDir()
	if code, _, errs := rulesRun(t, home, "rules", "replay"); code != exitUsage || !strings.Contains(errs, "no journal") {
		t.Fatalf("code %d err %q", code, errs)
	}
	if code, _, errs := rulesRun(t, home, "rules", "replay", "--since", "yesterday"); code != exitUsage || !strings.Contains(errs, "--since") {
		t.Fatalf("bad since: %d %q", code, errs)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2026-12-01":           time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-01T10:00:00Z": time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		"72h":                  now.Add(-72 * time.Hour),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
}
