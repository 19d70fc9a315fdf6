package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/governance/price"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
)

const velocityRules = `
[[rule]]
name = "transfers"
when = 'action.type == "transaction"'
verdict = "approve"
reason = "test desk approves transfers"

[[rule]]
name = "one-a-day"
when = 'approved_count(duration("24h")) >= 1'
verdict = "review"
reason = "one approval a day"
`

// configure writes files into the config folder and changes profile p.
func configure(t *testing.T, paths storage.Paths, files map[string]string, change func(*storage.Profile)) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(paths.Config, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	prof := cfg.Profiles["p"]
	change(&prof)
	cfg.Profiles["p"] = prof
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
}

// decisionBodies reads the decision entries of profile p's journal.
func decisionBodies(t *testing.T, paths storage.Paths) []journal.DecisionBody {
	t.Helper()
	var out []journal.DecisionBody
	for _, e := range entriesOf(t, paths, journal.KindDecision) {
		var d journal.DecisionBody
		if err := json.Unmarshal(e.Body, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// entriesOf reads profile p's journal and returns its entries of kind.
func entriesOf(t *testing.T, paths storage.Paths, kind journal.Kind) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range journal.ReadEntries(paths.JournalFile("p")) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Prices, the calendar and the velocity index reach the verdicts; a
// decision journals the rules hash, the engine, the input and the price;
// the index is rebuilt from the journal on restart; rules replay finds the
// same verdict, and a difference when there is one.
func TestGovernanceContextJournaledAndReplayed(t *testing.T) {
	_, paths := setup(t)
	asOf := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	stale := time.Now().UTC().Add(-2 * time.Hour).Format(time.RFC3339)
	configure(t, paths, map[string]string{
		"rules.toml":   velocityRules,
		"prices.toml":  "currency = \"USD\"\n[prices.ETH]\nprice = \"2000\"\nas_of = " + asOf + "\n[prices.USDC]\nprice = \"1\"\nas_of = " + stale + "\n",
		"holidays.txt": "2026-12-25\n",
	}, func(p *storage.Profile) {
		p.RulesFile, p.TimeZone, p.HolidaysFile = "rules.toml", "Europe/Berlin", "holidays.txt"
		p.Prices = &storage.PriceSettings{Table: "prices.toml", MaxAge: "15m"}
	})
	e := open(t, paths)
	if ok, err := e.RefreshPrices(t.Context()); !ok || err != nil {
		t.Fatalf("prices: %v %v", ok, err)
	}
	connect(t, e)
	var eth, usdc, btc, testnet *Item
	for _, it := range e.Pending() {
		if it.Action.Type != client.TypeTransaction || it.Action.Payload == nil || it.Action.Payload.Transaction == nil {
			continue
		}
		if it.Action.Payload.Transaction.Network.Testnet {
			testnet = &it
			continue
		}
		switch it.Action.Payload.Transaction.Asset.Symbol {
		case "ETH":
			eth = &it
		case "USDC":
			usdc = &it
		case "BTC", "tBTC", "POL":
			btc = &it
		}
	}
	if eth == nil || usdc == nil || btc == nil || testnet == nil {
		t.Fatal("the sandbox scenario lacks an ETH, USDC, other or testnet transfer")
	}
	// A testnet coin shares its mainnet symbol; it is never valued at the
	// mainnet price: on a known testnet it is worth nothing.
	if v := testnet.Verdict; v.Value == nil || v.Value.Problem != "" || v.Value.Amount != "0.00" || v.Value.Source != TestnetSource {
		t.Fatalf("testnet verdict %+v value %+v", v, v.Value)
	}
	if v := eth.Verdict; v.Level != VerdictApprove || v.Value == nil || v.Value.Problem != "" || v.Value.Currency != "USD" ||
		!strings.HasPrefix(v.Value.Source, "table ") || v.Value.Amount == "" {
		t.Fatalf("ETH verdict %+v value %+v", v, v.Value)
	}
	if v := usdc.Verdict; v.Level != VerdictReview || v.Value == nil || !v.Value.Stale || !strings.Contains(v.Value.Problem, "stale") {
		t.Fatalf("USDC (stale price) verdict %+v value %+v", v, v.Value)
	}
	if v := btc.Verdict; v.Level != VerdictReview || v.Value == nil || !strings.HasPrefix(v.Value.Problem, "no price for") {
		t.Fatalf("missing price verdict %+v value %+v", v, v.Value)
	}
	if out, err := decideShown(t, e, eth.Action.ID, true); err != nil || out.Result != ResultAccepted {
		t.Fatalf("approve: %+v %v", out, err)
	}
	// The accepted approval counts: the velocity rule now fires.
	if c := e.hist.vel.ApprovedCount(governance.Query{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)}); c != 1 {
		t.Fatalf("velocity index holds %d approvals, want 1", c)
	}
	a := e.Assess(usdc.Action, time.Now())
	if _, ok := findRule(a.Verdict, "one-a-day"); !ok {
		t.Fatalf("velocity rule did not fire after an approval: %+v", a.Verdict.Matched)
	}
	if a.Input.Clock.Zone != "Europe/Berlin" {
		t.Fatalf("clock %+v", a.Input.Clock)
	}
	// Add a decision whose journaled verdict the rules do not give.
	in := a.Input
	in.Now = time.Now()
	fake := journal.DecisionBody{ActionID: "fake-1", Decision: "reject", MessageSHA256: strings.Repeat("ab", 32), Verdict: "approve",
		Rules: []string{"transfers"}, Override: "test", RulesSHA256: e.gov.rulesSHA, Engine: governance.EngineVersion, Input: inputJSON(in)}
	if _, err := e.jr.AppendSigned(journal.KindDecision, fake, e.signer()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	ds := decisionBodies(t, paths)
	if len(ds) != 2 {
		t.Fatalf("%d decisions journaled, want 2", len(ds))
	}
	d := ds[0]
	rulesData, _ := os.ReadFile(filepath.Join(paths.Config, "rules.toml"))
	if d.RulesSHA256 != RulesSHA256(rulesData) || d.Engine != governance.EngineVersion || len(d.Input) == 0 ||
		d.Price == nil || d.Price.Asset != "ETH" || d.Price.Price != "2000" || d.Price.AsOf != asOf || d.Summary.ChainID == "" {
		t.Fatalf("decision body: %+v price %+v", d, d.Price)
	}
	kept, err := os.ReadFile(filepath.Join(RulesStoreDir(paths, "p"), d.RulesSHA256+".toml"))
	if err != nil || string(kept) != velocityRules {
		t.Fatalf("rules not kept by hash: %v", err)
	}

	// Restart: the index is rebuilt from the journal.
	e = open(t, paths)
	if n := e.hist.vel.Len(); n != 1 {
		t.Fatalf("rebuilt index holds %d approvals, want 1", n)
	}
	e.Close()

	rep, err := Replay(paths, "p", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions != 2 || rep.Same != 1 || rep.Differ != 1 || len(rep.Entries) != 1 {
		t.Fatalf("replay: %+v", rep)
	}
	if r := rep.Entries[0]; r.ActionID != "fake-1" || r.Journaled != "approve" || r.Now != "review" {
		t.Fatalf("difference: %+v", r)
	}
	// Since after both decisions: nothing to replay.
	if rep, _ := Replay(paths, "p", time.Now().Add(time.Hour)); rep.Decisions != 0 {
		t.Fatalf("since: %+v", rep)
	}
	// An altered kept rules file is reported, not used.
	if err := os.WriteFile(filepath.Join(RulesStoreDir(paths, "p"), d.RulesSHA256+".toml"), []byte(velocityRules+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, _ = Replay(paths, "p", time.Time{})
	if rep.Unreplayed != 2 || !strings.Contains(rep.Entries[0].Problem, "altered") {
		t.Fatalf("altered rules: %+v", rep)
	}
}

func findRule(v governance.Verdict, name string) (governance.Match, bool) {
	for _, m := range v.Matched {
		if m.Rule == name {
			return m, true
		}
	}
	return governance.Match{}, false
}

// The prices are read in the background once the engine starts, and the
// list is sent again with the values: the console never reads them itself.
func TestPricesRefreshInTheBackground(t *testing.T) {
	_, paths := setup(t)
	configure(t, paths, nil, func(p *storage.Profile) {
		p.Prices = &storage.PriceSettings{Table: "prices.toml", Refresh: "1h"}
	})
	e := open(t, paths) // Prepare's read fails: there is no file yet
	defer e.Close()
	connect(t, e)
	for _, it := range e.Pending() {
		if v := it.Verdict.Value; v != nil && v.Problem == "" && v.Source != TestnetSource {
			t.Fatalf("a value before any price was read: %+v", v)
		}
	}
	asOf := time.Now().UTC().Format(time.RFC3339)
	if err := os.WriteFile(filepath.Join(paths.Config, "prices.toml"), []byte("currency = \"EUR\"\nas_of = "+asOf+"\n[prices]\nETH = \"1000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	drainEvents(e)
	e.Start(t.Context())
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-e.Subscribe():
			loaded, ok := ev.(ActionsLoaded)
			if !ok {
				continue
			}
			for _, it := range loaded.Items {
				if v := it.Verdict.Value; v != nil && v.Problem == "" && v.Currency == "EUR" && v.Asset == "ETH" && v.Source != TestnetSource {
					return
				}
			}
		case <-deadline:
			t.Fatal("no list with the prices read in the background")
		}
	}
}

// A testnet claim is believed only for a chain known to be a testnet.
func TestTestnetValue(t *testing.T) {
	now := time.Now()
	fresh := price.Valuation{Value: 1000, Decimal: "1000.00", Currency: "USD"}
	sepolia := governance.Tx{Asset: "ETH", Network: governance.NewNetwork("Sepolia", "11155111", true)}
	if v := testnetValue(sepolia, fresh, now); v.Problem != "" || v.Decimal != "0.00" || v.Quote.Source != TestnetSource {
		t.Fatalf("known testnet: %+v", v)
	}
	for _, chain := range []string{"1", "999999"} {
		claimed := governance.Tx{Asset: "ETH", Network: governance.NewNetwork("Totally a testnet", chain, true)}
		if v := testnetValue(claimed, fresh, now); v.Problem == "" || v.Decimal != "" {
			t.Fatalf("chain %s claimed as a testnet got a value: %+v", chain, v)
		}
	}
}
