package price

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

const table = `
currency = "USD"
as_of = 2026-12-07T09:55:00Z
[prices]
ETH = "2012.50"
USDC = 1
[prices.BTC]
price = "97000"
currency = "EUR"
as_of = 2026-12-07T07:00:00Z
`

func TestTableAndValue(t *testing.T) {
	qs, err := ParseTable("table t.toml", []byte(table))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBook()
	b.Set(qs, nil, now)
	v := b.Value("eth", "1.5", now, 15*time.Minute)
	if v.Problem != "" || v.Decimal != "3018.75" || v.Value != 3018.75 || v.Currency != "USD" || v.Age != 5*time.Minute ||
		v.Quote.Source != "table t.toml" || v.Stale {
		t.Fatalf("fresh price: %+v", v)
	}
	// Exact decimal arithmetic: 0.1 × 3 is 0.30, never 0.30000000000000004.
	if v := Value(Quote{Asset: "X", Price: "0.1", Currency: "USD", AsOf: now}, "3", now, time.Hour); v.Decimal != "0.30" {
		t.Fatalf("0.1 × 3 = %s", v.Decimal)
	}
	stale := b.Value("BTC", "2", now, 15*time.Minute)
	if !stale.Stale || !strings.Contains(stale.Problem, "stale") || !strings.Contains(stale.Problem, "3h0m0s old") || stale.Decimal != "194000.00" {
		t.Fatalf("stale price: %+v", stale)
	}
	if ok := b.Value("BTC", "2", now, 4*time.Hour); ok.Problem != "" {
		t.Fatalf("within max_age: %+v", ok)
	}
	missing := b.Value("DOGE", "2", now, time.Hour)
	if missing.Problem != "no price for DOGE" || missing.Value != 0 {
		t.Fatalf("missing price: %+v", missing)
	}
	future := Value(Quote{Asset: "ETH", Price: "1", Currency: "USD", AsOf: now.Add(time.Hour)}, "1", now, time.Hour)
	if !strings.Contains(future.Problem, "future") {
		t.Fatalf("price from the future: %+v", future)
	}
	// A failed fetch keeps the old quotes (they age into stale).
	b.Set(nil, errors.New("down"), now.Add(time.Minute))
	if _, ok := b.Lookup("ETH"); !ok {
		t.Fatal("a failed fetch dropped the quotes")
	}
}

func TestTableRefusesBadEntries(t *testing.T) {
	for _, bad := range []string{
		"[prices]\nETH = \"1\"\n", // no as_of, no currency
		"currency='USD'\nas_of=2026-12-07T09:55:00Z\n[prices]\nETH = \"-1\"\n", // negative
		"currency='USD'\nas_of=2026-12-07T09:55:00Z\n[prices]\nETH = \"1e3\"\n",
		"currency='USD'\nas_of=2026-12-07T09:55:00Z\n[prices.ETH]\nprice='1'\nsource='x'\n", // unknown key
		"currency='USD'\nextra=1\n",
	} {
		if _, err := ParseTable("t", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestTableSourceReadsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prices.toml")
	if err := os.WriteFile(p, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	qs, err := Table{Path: p}.Fetch(context.Background())
	if err != nil || len(qs) != 3 {
		t.Fatalf("%v %v", qs, err)
	}
}

func TestHTTPSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p/ETH":
			_, _ = fmt.Fprint(w, `{"data":{"ETH":{"usd":"2012.5","ts":1796637300}}}`)
		case "/p/BTC":
			_, _ = fmt.Fprint(w, `{"data":{"BTC":{"usd":97000.25,"ts":"2026-12-07T09:00:00Z"}}}`)
		case "/p/BIG":
			_, _ = fmt.Fprint(w, `{"pad":"`+strings.Repeat("x", MaxBody)+`"}`)
		case "/p/SLOW":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := &HTTP{URL: srv.URL + "/p/{asset}", Field: "data.{asset}.usd", AsOfField: "data.{asset}.ts", Currency: "USD",
		Assets: []string{"ETH", "BTC", "BIG", "SLOW", "NONE"}, Timeout: 200 * time.Millisecond}
	qs, err := h.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Quote{}
	for _, q := range qs {
		got[q.Asset] = q
	}
	if len(got) != 2 || got["ETH"].Price != "2012.5" || !got["ETH"].AsOf.Equal(time.Unix(1796637300, 0)) ||
		got["BTC"].Price != "97000.25" || got["BTC"].AsOf.Format(time.RFC3339) != "2026-12-07T09:00:00Z" {
		t.Fatalf("quotes: %+v", got)
	}
	// Nothing readable: the error says why.
	h.Assets = []string{"BIG"}
	if _, err := h.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized answer: %v", err)
	}
	h.Assets = []string{"SLOW"}
	if _, err := h.Fetch(context.Background()); err == nil {
		t.Fatal("a hanging source did not time out")
	}
	for _, bad := range []*HTTP{
		{URL: "http://example.com/{asset}", Field: "p", Currency: "USD", Assets: []string{"ETH"}},
		{URL: srv.URL, Currency: "USD", Assets: []string{"ETH"}},
		{URL: srv.URL, Field: "p", Assets: []string{"ETH"}},
		{URL: srv.URL, Field: "p", Currency: "USD"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
