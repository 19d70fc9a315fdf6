// Package price gives transfers a value in fiat: a price source (a TOML
// table the desk maintains, or an HTTP JSON endpoint) fills a Book in the
// background, and Value computes what an amount is worth from the Book
// without any IO, saying when the price is missing or stale.
package price

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/qapprove/qapprove/governance"
)

// Quote is the price of one whole unit of an asset.
type Quote struct {
	Asset    string    `json:"asset"`    // symbol, upper case
	Price    string    `json:"price"`    // decimal ("2012.5")
	Currency string    `json:"currency"` // "USD", "EUR"
	AsOf     time.Time `json:"as_of"`    // when the price was true
	Source   string    `json:"source"`   // "table prices.toml", "http https://…"
}

// Source fetches the current quotes. Fetch does IO: call it from a
// background goroutine or a tea.Cmd, never from Update or Evaluate.
type Source interface {
	Fetch(ctx context.Context) ([]Quote, error)
	Name() string
}

// Book holds the latest quotes by asset. Safe for concurrent use.
type Book struct {
	mu      sync.RWMutex
	quotes  map[string]Quote
	fetched time.Time
	err     error
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{quotes: map[string]Quote{}} }

// Set replaces the book's quotes with a fresh fetch (err nil) or records
// why the fetch failed (the previous quotes stay; they age into stale).
func (b *Book) Set(qs []Quote, err error, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fetched, b.err = at, err
	if err != nil {
		return
	}
	m := make(map[string]Quote, len(qs))
	for _, q := range qs {
		m[strings.ToUpper(q.Asset)] = q
	}
	b.quotes = m
}

// Lookup returns the quote of asset (any case).
func (b *Book) Lookup(asset string) (Quote, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	q, ok := b.quotes[strings.ToUpper(asset)]
	return q, ok
}

// LastFetch says when the book was last refreshed and how it went.
func (b *Book) LastFetch() (time.Time, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.fetched, b.err
}

// Valuation is what an amount is worth at the quote used.
type Valuation struct {
	Value    float64       `json:"value"`    // 0 when Problem is set and no quote was found
	Decimal  string        `json:"decimal"`  // Value rounded to cents, "1234.50"
	Currency string        `json:"currency"` // the quote's currency
	Quote    Quote         `json:"quote"`    // the quote used (zero when none)
	Age      time.Duration `json:"age"`      // now − Quote.AsOf
	Stale    bool          `json:"stale"`    // Age > max age
	Problem  string        `json:"problem"`  // "" when the value is from a fresh price
}

// Value values amount (whole units, an exact decimal) of asset at the
// book's quote: a missing quote, a stale one (older than maxAge) or one
// dated in the future gives a Problem (the rules then review).
func (b *Book) Value(asset, amount string, now time.Time, maxAge time.Duration) Valuation {
	q, ok := b.Lookup(asset)
	if !ok {
		return Valuation{Problem: fmt.Sprintf("no price for %s", clip(asset))}
	}
	return Value(q, amount, now, maxAge)
}

// maxSkew is how far in the future a quote's as-of time may be (clocks differ).
const maxSkew = 5 * time.Minute

// Value values amount (whole units) at quote q.
func Value(q Quote, amount string, now time.Time, maxAge time.Duration) Valuation {
	v := Valuation{Currency: q.Currency, Quote: q, Age: now.Sub(q.AsOf)}
	p, ok1 := new(big.Rat).SetString(q.Price)
	a, ok2 := new(big.Rat).SetString(amount)
	if !ok1 || !governance.IsDecimal(q.Price) || q.Currency == "" {
		v.Problem = fmt.Sprintf("the price for %s is not usable", clip(q.Asset))
		return v
	}
	if !ok2 || !governance.IsDecimal(amount) {
		v.Problem = "the amount cannot be valued"
		return v
	}
	val := new(big.Rat).Mul(p, a)
	v.Value, _ = val.Float64()
	v.Decimal = val.FloatString(2)
	switch {
	case q.AsOf.IsZero():
		v.Problem = fmt.Sprintf("the price for %s has no as-of time", clip(q.Asset))
	case v.Age < -maxSkew:
		v.Problem = fmt.Sprintf("the price for %s is dated in the future (%s)", clip(q.Asset), q.AsOf.UTC().Format(time.RFC3339))
	case v.Age > maxAge:
		v.Stale = true
		v.Problem = fmt.Sprintf("the price for %s is stale: %s old (as of %s), older than max_age %s",
			clip(q.Asset), v.Age.Round(time.Second), q.AsOf.UTC().Format(time.RFC3339), maxAge)
	}
	return v
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
