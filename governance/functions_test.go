package governance

import (
	"strings"
	"testing"
	"time"
)

// fakeHistory records the queries and answers them from a list.
type fakeHistory struct {
	approvals []struct {
		at              time.Time
		asset, dest, nw string
		amount          float64
	}
	queries []Query
}

func (f *fakeHistory) add(at time.Time, asset, dest, nw string, amount float64) {
	f.approvals = append(f.approvals, struct {
		at              time.Time
		asset, dest, nw string
		amount          float64
	}{at, asset, dest, nw, amount})
}

func (f *fakeHistory) match(q Query) (float64, int64) {
	var s float64
	var n int64
	for _, a := range f.approvals {
		if (q.Asset == "" || q.Asset == a.asset) && (q.Destination == "" || q.Destination == a.dest) &&
			(q.Network == "" || q.Network == a.nw) && !a.at.Before(q.Since) && !a.at.After(q.Until) {
			s += a.amount
			n++
		}
	}
	return s, n
}

func (f *fakeHistory) ApprovedSum(q Query) float64 {
	f.queries = append(f.queries, q)
	s, _ := f.match(q)
	return s
}
func (f *fakeHistory) ApprovedCount(q Query) int64 {
	f.queries = append(f.queries, q)
	_, n := f.match(q)
	return n
}

// oneRule compiles a rules file with one review rule.
func oneRule(t *testing.T, when string) *RuleSet {
	t.Helper()
	rs, err := Parse("t.toml", []byte("[[rule]]\nname = 'r'\nwhen = '''"+when+"'''\nverdict = 'review'\nreason = 'fired'\n"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// fires evaluates one rule on in and reports whether it matched.
func fires(t *testing.T, when string, in Input) bool {
	t.Helper()
	v := oneRule(t, when).Evaluate(in)
	for _, m := range v.Matched {
		if m.Rule == "r" {
			if m.Reason != "fired" {
				t.Fatalf("rule %q could not be evaluated: %s", when, m.Reason)
			}
			return true
		}
	}
	return false
}

func TestVelocityFunctions(t *testing.T) {
	h := &fakeHistory{}
	h.add(testNow.Add(-2*time.Hour), "ETH", "0xaa", "11155111", 3)
	h.add(testNow.Add(-20*time.Hour), "ETH", "0xbb", "1", 4)
	h.add(testNow.Add(-30*time.Hour), "ETH", "0xaa", "11155111", 100) // outside 24h
	h.add(testNow.Add(-time.Hour), "BTC", "bc1q", "bitcoin", 0.5)
	in := mkInput(t, func(in *Input) { in.History = h })
	cases := []struct {
		when string
		want bool
	}{
		{`approved_sum("ETH", duration("24h")) == 7.0`, true},
		{`approved_sum("ETH", duration("48h")) == 107.0`, true},
		{`approved_sum("ETH", duration("3h")) == 3.0`, true},
		{`approved_count(duration("24h")) == 3`, true},
		{`approved_count_of("BTC", duration("24h")) == 1`, true},
		{`approved_sum_to("ETH", "0xaa", duration("24h")) == 3.0`, true},
		{`approved_count_to("0xaa", duration("48h")) == 2`, true},
		{`approved_sum_on("ETH", "1", duration("24h")) == 4.0`, true},
		{`approved_count_on("11155111", duration("24h")) == 1`, true},
		{`approved_sum(tx.asset, duration("24h")) + tx.amount_number > 8.0`, true}, // 7 + 1.5
		{`approved_sum(tx.asset, duration("24h")) + tx.amount_number > 9.0`, false},
	}
	for _, c := range cases {
		if got := fires(t, c.when, in); got != c.want {
			t.Errorf("%s: got %v, want %v", c.when, got, c.want)
		}
	}
	// The window ends at the evaluation time.
	last := h.queries[len(h.queries)-1]
	if !last.Until.Equal(testNow) || !last.Since.Equal(testNow.Add(-24*time.Hour)) {
		t.Fatalf("window %v–%v, want the 24 h before %v", last.Since, last.Until, testNow)
	}
	// No history: zero, not an error.
	if !fires(t, `approved_count(duration("24h")) == 0 && approved_sum("ETH", duration("1h")) == 0.0`, mkInput(t, nil)) {
		t.Fatal("without history the velocity functions must be zero")
	}
	// A bad duration is an evaluation error: review with the reason.
	v := oneRule(t, `approved_count(duration("1h") - duration("2h")) > 0`).Evaluate(in) // computed: checked at run time
	if v.Level != Review || !strings.Contains(v.Matched[0].Reason, "duration must be positive") {
		t.Fatalf("negative duration: %+v", v)
	}
	// The functions are type-checked.
	if _, err := Parse("t.toml", []byte("[[rule]]\nname='r'\nwhen='approved_sum(1, duration(\"1h\")) > 0.0'\nverdict='review'\nreason='x'\n")); err == nil {
		t.Fatal("approved_sum with an int asset compiled")
	}
	if !oneRule(t, `approved_count(duration("1h")) > 0`).UsesHistory() || oneRule(t, `tx.amount_number > 1.0`).UsesHistory() {
		t.Fatal("UsesHistory is wrong")
	}
}

func TestClockAndBusinessHours(t *testing.T) {
	berlin, err := LoadZone("Europe/Berlin")
	if err != nil {
		t.Skip("time zone database not available: " + err.Error())
	}
	ny, err := LoadZone("America/New_York")
	if err != nil {
		t.Skip("time zone database not available: " + err.Error())
	}
	hol := map[string]struct{}{"2026-12-25": {}}
	at := func(loc *time.Location, utc time.Time) Input {
		return mkInput(t, func(in *Input) {
			in.Now = utc
			in.Clock = Calendar{Loc: loc, Holidays: hol}.Clock(utc)
		})
	}
	cases := []struct {
		name string
		in   Input
		when string
		want bool
	}{
		// 08:30 UTC is 09:30 in Berlin in winter (UTC+1)...
		{"winter Berlin in hours", at(berlin, time.Date(2026, 1, 15, 8, 30, 0, 0, time.UTC)), `within_hours("09:00", "17:30")`, true},
		// ...and 10:30 in summer (UTC+2): 07:30 UTC is 09:30 local.
		{"summer Berlin in hours", at(berlin, time.Date(2026, 7, 15, 7, 30, 0, 0, time.UTC)), `within_hours("09:00", "17:30")`, true},
		{"summer Berlin before hours", at(berlin, time.Date(2026, 7, 15, 6, 30, 0, 0, time.UTC)), `within_hours("09:00", "17:30")`, false},
		// DST starts in Berlin on 2026-03-29 at 01:00 UTC (02:00 → 03:00 local).
		{"just before spring forward", at(berlin, time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC)), `local_time == "01:59:00"`, true},
		{"just after spring forward", at(berlin, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)), `local_time == "03:00:00"`, true},
		// DST ends on 2026-10-25 at 01:00 UTC (03:00 → 02:00 local): 02:30 happens twice.
		{"fall back first 02:30", at(berlin, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)), `within_hours("02:00", "03:00") && now.getHours(time_zone) == 2`, true},
		{"fall back second 02:30", at(berlin, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)), `within_hours("02:00", "03:00") && now.getHours(time_zone) == 2`, true},
		{"end is exclusive", at(berlin, time.Date(2026, 1, 15, 16, 30, 0, 0, time.UTC)), `within_hours("09:00", "17:30")`, false},
		{"start is inclusive", at(berlin, time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)), `within_hours("09:00", "17:30")`, true},
		{"overnight window late", at(berlin, time.Date(2026, 1, 15, 22, 0, 0, 0, time.UTC)), `within_hours("22:00", "06:00")`, true},
		{"overnight window early", at(berlin, time.Date(2026, 1, 15, 4, 0, 0, 0, time.UTC)), `within_hours("22:00", "06:00")`, true},
		{"overnight window day", at(berlin, time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)), `within_hours("22:00", "06:00")`, false},
		{"whole day", at(berlin, time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC)), `within_hours("00:00", "24:00")`, true},
		// Zone edge: Friday 23:30 UTC is already Saturday in Berlin, still Friday in New York.
		{"Berlin weekend", at(berlin, time.Date(2026, 1, 16, 23, 30, 0, 0, time.UTC)), `weekday == "Sat" && today == "2026-01-17"`, true},
		{"New York weekday", at(ny, time.Date(2026, 1, 16, 23, 30, 0, 0, time.UTC)), `weekday in ["Mon", "Tue", "Wed", "Thu", "Fri"] && today == "2026-01-16"`, true},
		{"now in the zone", at(ny, time.Date(2026, 1, 16, 23, 30, 0, 0, time.UTC)), `now.getHours(time_zone) == 18 && time_zone == "America/New_York"`, true},
		// Holiday on the local date: 23:30 UTC on the 24th is the 25th in Berlin, not in New York.
		{"holiday Berlin", at(berlin, time.Date(2026, 12, 24, 23, 30, 0, 0, time.UTC)), `holiday`, true},
		{"no holiday New York", at(ny, time.Date(2026, 12, 24, 23, 30, 0, 0, time.UTC)), `holiday`, false},
		{"zero clock is UTC", mkInput(t, nil), `time_zone == "UTC" && local_time == "12:00:00" && weekday == "Sun"`, true},
	}
	for _, c := range cases {
		if got := fires(t, c.when, c.in); got != c.want {
			t.Errorf("%s: %s got %v, want %v (clock %+v)", c.name, c.when, got, c.want, c.in.Clock)
		}
	}
	v := oneRule(t, `within_hours(tx.asset, "17:30")`).Evaluate(mkInput(t, nil)) // not a constant: checked at run time
	if v.Level != Review || !strings.Contains(v.Matched[0].Reason, "not HH:MM") {
		t.Fatalf("bad time of day: %+v", v.Matched)
	}
	v = approveAll(t).Evaluate(mkInput(t, func(in *Input) { in.Clock.Zone = "Mars/Olympus" }))
	if m, ok := findMatch(v, BuiltinClock); !ok || v.Level != Review || m.Verdict != Review {
		t.Fatalf("unknown zone: %+v", v)
	}
}

func TestValueInputs(t *testing.T) {
	in := mkInput(t, func(in *Input) { in.Tx.Value, in.Tx.ValueCurrency = 3018.75, "USD" })
	if !fires(t, `tx.value > 3000.0 && tx.value_currency == "USD" && tx.value_problem == ""`, in) {
		t.Fatal("tx.value not visible")
	}
	for _, problem := range []string{"no price for ETH", "the price for ETH is stale: 2h0m0s old"} {
		in := mkInput(t, func(in *Input) { in.Tx.ValueProblem = problem })
		v := approveAll(t).Evaluate(in)
		m, ok := findMatch(v, BuiltinPrice)
		if v.Level != Review || !ok || m.Reason != problem {
			t.Fatalf("%s: verdict %s, matches %+v; want review with the reason", problem, v.Level, v.Matched)
		}
	}
	if v := approveAll(t).Evaluate(mkInput(t, nil)); v.Level != Approve {
		t.Fatalf("no price source: %s, want approve", v.Level)
	}
}

func TestPeople(t *testing.T) {
	alice := Approver{ID: "k1", Name: "Alice", Time: testNow.Add(-time.Hour)}
	in := mkInput(t, func(in *Input) {
		in.Action.Policy.ApprovedBy, in.Action.Policy.ApprovedByKnown, in.Action.Policy.Approvals = []Approver{alice}, true, 1
	})
	if !fires(t, `action.policy.approved_by_known && action.policy.approved_by.exists(a, a.name == "Alice" && a.time < now)`, in) {
		t.Fatal("approved_by not visible")
	}
	cases := []struct {
		p    Policy
		warn bool
	}{
		{Policy{Threshold: 2, Members: []string{"a", "b", "c"}}, false},
		{Policy{Threshold: 2, Members: []string{"a", "b", "c"}, RejectedBy: []Approver{{ID: "a"}}}, false},
		{Policy{Threshold: 2, Members: []string{"a", "b", "c"}, RejectedBy: []Approver{{ID: "a"}, {ID: "b"}}}, true},
		{Policy{Threshold: 3, Members: []string{"a", "b", "c"}, Approvals: 1, RejectedBy: []Approver{{ID: "c"}}}, true},
		{Policy{Threshold: 3, Members: []string{"a", "b"}}, true},
		{Policy{Threshold: 2, Members: []string{"a", "b"}, Approvals: 2}, false}, // already reached
		{Policy{Threshold: 2}, false}, // members unknown
	}
	for i, c := range cases {
		w := ReachWarning(c.p)
		if (w != "") != c.warn || (w != "" && !strings.HasPrefix(w, WarnUnreachable)) {
			t.Errorf("case %d: %+v: warning %q, want %v", i, c.p, w, c.warn)
		}
	}
	in = mkInput(t, func(in *Input) { in.Action.Policy.RejectedBy = []Approver{{ID: "k1"}, {ID: "k2"}} })
	v := Default().Evaluate(in)
	found := false
	for _, w := range v.Warnings {
		found = found || strings.HasPrefix(w, WarnUnreachable)
	}
	if !found {
		t.Fatalf("no unreachable warning: %v", v.Warnings)
	}
}

func TestDefaultRulesContractCalls(t *testing.T) {
	word := func(hexs string) string { return strings.Repeat("0", 64-len(hexs)) + hexs }
	addr := "fb6916095ca1df60bb79ce92ce3ea74c37c5d359" // testTo, lower case
	other := "1111111111111111111111111111111111111111"
	maxWord := strings.Repeat("f", 64)
	cases := []struct {
		name, hex string
		want      Level
		rule      string
	}{
		{"unlimited approve", "095ea7b3" + word(other) + maxWord, Reject, "unlimited-allowance"},
		{"unlimited increaseAllowance", "39509351" + word(other) + word("8"+strings.Repeat("0", 63)), Reject, "unlimited-allowance"},
		{"approval for all", "a22cb465" + word(other) + word("1"), Reject, "approval-for-all"},
		{"unknown selector", "deadbeef" + word("1"), Review, "unknown-contract-call"},
		{"malformed transfer", "a9059cbb" + word(addr), Review, "unknown-contract-call"},
		{"recipient differs", "a9059cbb" + word(other) + word("10"), Review, "call-recipient-differs"},
	}
	for _, c := range cases {
		in := mkInput(t, func(in *Input) { in.Call = DecodeCall(mustHex(t, c.hex)) })
		v := Default().Evaluate(in)
		if _, ok := findMatch(v, c.rule); !ok || v.Level != c.want {
			t.Errorf("%s: %s %v, want %s by %s", c.name, v.Level, ruleNames(v), c.want, c.rule)
		}
	}
	// A limited approve, a revoke and a transfer to the destination shown fire none of them.
	for _, h := range []string{"095ea7b3" + word(other) + word("64"), "a22cb465" + word(other) + word("0"), "a9059cbb" + word(addr) + word("10")} {
		in := mkInput(t, func(in *Input) { in.Call = DecodeCall(mustHex(t, h)) })
		if v := Default().Evaluate(in); v.Level != Approve {
			t.Errorf("%s…: %s %v, want approve", h[:8], v.Level, ruleNames(v))
		}
	}
}

func TestWithinHoursCheckedAtCompile(t *testing.T) {
	_, err := Parse("t.toml", []byte("[[rule]]\nname = 'r'\nwhen = 'within_hours(\"09:00\", \"25:00\")'\nverdict = 'review'\nreason = 'x'\n"))
	if err == nil || !strings.Contains(err.Error(), `t.toml:3:31: rule "r": within_hours: time of day "25:00" is out of range`) {
		t.Fatalf("got %v", err)
	}
}

func TestVelocityWindowCheckedAtCompile(t *testing.T) {
	_, err := Parse("t.toml", []byte("[[rule]]\nname = 'r'\nwhen = 'approved_count(duration(\"-1h\")) > 0'\nverdict = 'review'\nreason = 'x'\n"))
	if err == nil || !strings.Contains(err.Error(), `t.toml:3:33: rule "r": the window of a velocity function must be positive`) {
		t.Fatalf("got %v", err)
	}
}
