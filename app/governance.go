package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qapprove/qapprove/assets"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/governance/price"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
)

// Defaults of the price settings.
const (
	DefaultPriceMaxAge  = 15 * time.Minute
	DefaultPriceRefresh = time.Minute
)

// govern is the profile's governance context beyond the rules: the rules
// file's hash, the calendar and the price source.
type govern struct {
	rulesSHA string
	cal      governance.Calendar
	src      price.Source // nil: no price source configured
	book     *price.Book
	maxAge   time.Duration
	refresh  time.Duration
}

// loadGovernance compiles the profile's rules (the embedded default when
// it names none), keeps the file by hash in the data folder, and reads
// the time zone, the holiday list and the price settings.
func loadGovernance(paths storage.Paths, profile string, prof storage.Profile) (*governance.RuleSet, *govern, error) {
	name, data := governance.DefaultName, assets.DefaultRules
	if f := prof.RulesPath(paths); f != "" {
		b, err := storage.ReadFileBounded(f, governance.MaxRulesFileSize+1)
		if err != nil {
			return nil, nil, err
		}
		name, data = f, b
	}
	rs, err := governance.Parse(name, data)
	if err != nil {
		return nil, nil, err
	}
	g := &govern{book: price.NewBook()}
	if g.rulesSHA, err = StoreRules(paths, profile, data); err != nil {
		return nil, nil, fmt.Errorf("keeping the rules file by hash: %w", err)
	}
	if g.cal, err = LoadCalendar(paths, prof); err != nil {
		return nil, nil, err
	}
	if g.src, g.maxAge, g.refresh, err = PriceSource(paths, prof); err != nil {
		return nil, nil, err
	}
	return rs, g, nil
}

// RulesSHA256 is the hex SHA-256 of a rules file's bytes.
func RulesSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// RulesStoreDir is where a profile's rules files are kept by hash.
func RulesStoreDir(paths storage.Paths, profile string) string {
	return filepath.Join(paths.ProfileDir(profile), "rules")
}

// StoreRules keeps data as RulesStoreDir/<sha256>.toml (0600) unless it is
// there already, and returns the hash.
func StoreRules(paths storage.Paths, profile string, data []byte) (string, error) {
	sum := RulesSHA256(data)
	dir := RulesStoreDir(paths, profile)
	p := filepath.Join(dir, sum+".toml")
	if _, err := os.Stat(p); err == nil {
		return sum, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return sum, storage.WriteFileAtomic(p, data, 0o600)
}

// ErrRulesNotKept is returned by LoadStoredRules for a hash whose file is
// not in the store.
var ErrRulesNotKept = errors.New("rules file not kept in the data folder")

// LoadStoredRules compiles the rules file kept under sha (the embedded
// default is always available), checking that its bytes still hash to it.
func LoadStoredRules(paths storage.Paths, profile, sha string) (*governance.RuleSet, error) {
	if RulesSHA256(assets.DefaultRules) == sha {
		return governance.Default(), nil
	}
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %q is not a SHA-256", ErrRulesNotKept, sha)
	}
	data, err := storage.ReadFileBounded(filepath.Join(RulesStoreDir(paths, profile), sha+".toml"), governance.MaxRulesFileSize+1)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrRulesNotKept, sha)
	}
	if err != nil {
		return nil, err
	}
	if RulesSHA256(data) != sha {
		return nil, fmt.Errorf("the kept rules file %s.toml was altered", sha)
	}
	return governance.Parse(sha+".toml", data)
}

// LoadCalendar reads the profile's time zone and holiday list.
func LoadCalendar(paths storage.Paths, prof storage.Profile) (governance.Calendar, error) {
	var cal governance.Calendar
	loc, err := governance.LoadZone(prof.TimeZone)
	if err != nil {
		return cal, fmt.Errorf("time_zone %q: %v", prof.TimeZone, err)
	}
	cal.Loc = loc
	if prof.HolidaysFile != "" {
		f := paths.ConfigRelative(prof.HolidaysFile)
		data, err := storage.ReadFileBounded(f, governance.MaxHolidaysFileSize+1)
		if err != nil {
			return cal, fmt.Errorf("holidays_file: %w", err)
		}
		if cal.Holidays, err = governance.ParseHolidays(f, data); err != nil {
			return cal, fmt.Errorf("holidays_file: %w", err)
		}
	}
	return cal, nil
}

// PriceSource builds the profile's price source (nil when it has none)
// with its max age and refresh interval.
func PriceSource(paths storage.Paths, prof storage.Profile) (price.Source, time.Duration, time.Duration, error) {
	ps := prof.Prices
	if ps == nil || (ps.Table == "" && ps.URL == "") {
		return nil, 0, 0, nil
	}
	maxAge, err := durationOr(ps.MaxAge, DefaultPriceMaxAge, "prices.max_age")
	if err != nil {
		return nil, 0, 0, err
	}
	refresh, err := durationOr(ps.Refresh, DefaultPriceRefresh, "prices.refresh")
	if err != nil {
		return nil, 0, 0, err
	}
	timeout, err := durationOr(ps.Timeout, price.DefaultTimeout, "prices.timeout")
	if err != nil {
		return nil, 0, 0, err
	}
	if ps.Table != "" && ps.URL != "" {
		return nil, 0, 0, errors.New("prices: give either table or url, not both")
	}
	if ps.Table != "" {
		return price.Table{Path: paths.ConfigRelative(ps.Table)}, maxAge, refresh, nil
	}
	h := &price.HTTP{URL: ps.URL, Field: ps.Field, AsOfField: ps.AsOfField, Currency: ps.Currency, Assets: ps.Assets, Timeout: timeout}
	if err := h.Validate(); err != nil {
		return nil, 0, 0, err
	}
	return h, maxAge, refresh, nil
}

func durationOr(s string, def time.Duration, name string) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive duration like 15m", name, s)
	}
	return d, nil
}

// judged is an action run through the rules: the document they saw, the
// verdict, and the valuation of its amount (nil without a price source).
type judged struct {
	in  governance.Input
	gv  governance.Verdict
	val *price.Valuation
}

// judge builds the full input of a (calendar, history, value) and runs
// the rules. No IO: prices come from the book the background refresh fills.
func (e *Engine) judge(a *client.Action, now time.Time) judged {
	j := judged{in: GovernanceInput(a, now)}
	j.in.Clock = e.gov.cal.Clock(now)
	j.in.History = e.hist.vel
	if e.gov.src != nil && j.in.Action.Type == governance.TypeTransaction && j.in.Tx.Amount != "" && j.in.Tx.Asset != "" {
		v := e.gov.book.Value(j.in.Tx.Asset, j.in.Tx.Amount, now, e.gov.maxAge)
		if j.in.Tx.Network.Testnet {
			v = testnetValue(j.in.Tx, v, now)
		} else if v.Problem != "" {
			if at, err := e.gov.book.LastFetch(); at.IsZero() {
				v.Problem += " (prices not read yet)"
			} else if err != nil {
				v.Problem += " (the price source failed: " + clipErr(err) + ")"
			}
		}
		j.val = &v
		j.in.Tx.Value, j.in.Tx.ValueCurrency, j.in.Tx.ValueProblem = v.Value, v.Currency, v.Problem
	}
	j.gv = e.rules.Evaluate(j.in)
	return j
}

// TestnetSource is the source of the value of a coin on a known testnet.
const TestnetSource = "testnet"

// testnetValue values a transfer the payload places on a testnet. The
// price table is keyed by symbol and a testnet coin shares its mainnet
// symbol: on a chain known to be a testnet it is worth nothing (value 0);
// a testnet claim for any other chain gets no price, so the rules review.
func testnetValue(tx governance.Tx, v price.Valuation, now time.Time) price.Valuation {
	if k, ok := governance.LookupNetwork(tx.Network.ChainID); ok && k.Testnet {
		return price.Valuation{Decimal: "0.00", Currency: v.Currency,
			Quote: price.Quote{Asset: strings.ToUpper(tx.Asset), Price: "0", Currency: v.Currency, Source: TestnetSource, AsOf: now}}
	}
	return price.Valuation{Problem: "the payload calls chain " + clipText(tx.Network.ChainID) + " a testnet, which is not a known testnet: no price"}
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func clipErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// uiValue is the console's view of a valuation (nil for nil).
func uiValue(v *price.Valuation, asset string) *Value {
	if v == nil {
		return nil
	}
	return &Value{Amount: v.Decimal, Currency: v.Currency, Asset: asset, Price: v.Quote.Price, Source: v.Quote.Source,
		AsOf: v.Quote.AsOf, Age: v.Age, Stale: v.Stale, Problem: v.Problem}
}

// priceUsed is how the journal records a valuation (nil for nil).
func priceUsed(v *price.Valuation) *journal.PriceUsed {
	if v == nil || v.Quote.Asset == "" {
		return nil
	}
	return &journal.PriceUsed{Asset: v.Quote.Asset, Price: v.Quote.Price, Currency: v.Currency, Source: v.Quote.Source,
		AsOf: v.Quote.AsOf.UTC().Format(time.RFC3339), Value: v.Decimal, Stale: v.Stale}
}

// MaxJournaledInput bounds the input document a decision journals.
const MaxJournaledInput = 64 << 10

// inputJSON is the input document to journal (nil when over the bound).
func inputJSON(in governance.Input) json.RawMessage {
	b, err := json.Marshal(in)
	if err != nil || len(b) > MaxJournaledInput {
		return nil
	}
	return b
}

// RefreshPrices reads the price source once into the book (IO: call it
// from a goroutine or a tea.Cmd). It reports whether a source is
// configured; the error is the source's.
func (e *Engine) RefreshPrices(ctx context.Context) (bool, error) {
	if e.gov.src == nil {
		return false, nil
	}
	qs, err := e.gov.src.Fetch(ctx)
	e.gov.book.Set(qs, err, e.now())
	return true, err
}

// priceLoop refreshes the prices every refresh interval and re-evaluates
// the list after each read (a stale price turns the verdict to review
// even when the read failed).
func (e *Engine) priceLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.gov.refresh)
	defer t.Stop()
	last := "" // the last failure reported: a failing source is told once, not every minute
	for {
		_, err := e.RefreshPrices(e.ctx)
		switch {
		case err != nil && e.ctx.Err() == nil && clipErr(err) != last:
			last = clipErr(err)
			e.emit(Notice{Text: "prices: " + last})
		case err == nil && last != "":
			last = ""
			e.emit(Notice{Text: "prices: read again"})
		}
		e.reevaluate()
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reevaluate sends the whole list again with fresh verdicts (after the
// prices or the velocity index changed), when there is a list.
func (e *Engine) reevaluate() {
	e.mu.Lock()
	n := len(e.items)
	e.mu.Unlock()
	if n == 0 {
		return
	}
	e.listMu.Lock()
	defer e.listMu.Unlock()
	e.emit(ActionsLoaded{Items: e.snapshot()})
}
