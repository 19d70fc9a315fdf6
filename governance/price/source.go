package price

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/qapprove/qapprove/governance"
)

// Bounds on what a source reads.
const (
	MaxTableSize   = 1 << 20 // bytes of a price table file
	MaxBody        = 1 << 20 // bytes of one HTTP answer
	MaxAssets      = 1000    // quotes in one table or assets of one HTTP source
	DefaultTimeout = 5 * time.Second
)

// Table reads a TOML price table the desk maintains:
//
//	currency = "USD"                  # default of every price
//	as_of = 2026-12-07T09:00:00Z      # default of every price
//	[prices]
//	ETH = "2012.50"                   # shorthand: the defaults apply
//	[prices.BTC]
//	price = "97000"
//	currency = "EUR"
//	as_of = 2026-12-07T08:30:00Z
type Table struct{ Path string }

// Name implements Source.
func (t Table) Name() string { return "table " + t.Path }

// Fetch implements Source: it reads and parses the file.
func (t Table) Fetch(context.Context) ([]Quote, error) {
	f, err := os.Open(t.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTableSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxTableSize {
		return nil, fmt.Errorf("price table %s is larger than %d bytes", t.Path, MaxTableSize)
	}
	return ParseTable(t.Name(), data)
}

// ParseTable parses a price table (see Table); source names it in the quotes.
func ParseTable(source string, data []byte) ([]Quote, error) {
	var doc struct {
		Currency string         `toml:"currency"`
		AsOf     time.Time      `toml:"as_of"`
		Prices   map[string]any `toml:"prices"`
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("price table: %v", err)
	}
	if len(doc.Prices) > MaxAssets {
		return nil, fmt.Errorf("price table: more than %d prices", MaxAssets)
	}
	out := make([]Quote, 0, len(doc.Prices))
	for asset, v := range doc.Prices {
		q := Quote{Asset: strings.ToUpper(asset), Currency: doc.Currency, AsOf: doc.AsOf, Source: source}
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				switch k {
				case "price":
					q.Price = decimalOf(x)
				case "currency":
					q.Currency, _ = x.(string)
				case "as_of":
					q.AsOf = timeOf(x)
				default:
					return nil, fmt.Errorf("price table: prices.%s: unknown key %q (price, currency, as_of)", clip(asset), clip(k))
				}
			}
		} else {
			q.Price = decimalOf(v)
		}
		if err := check(q); err != nil {
			return nil, fmt.Errorf("price table: prices.%s: %v", clip(asset), err)
		}
		out = append(out, q)
	}
	return out, nil
}

// check refuses a quote that cannot value anything.
func check(q Quote) error {
	switch {
	case q.Asset == "" || len(q.Asset) > 32:
		return errors.New("asset symbol empty or longer than 32 bytes")
	case !governance.IsDecimal(q.Price):
		return errors.New("price must be a non-negative decimal")
	case q.Currency == "" || len(q.Currency) > 16:
		return errors.New("currency missing or longer than 16 bytes")
	case q.AsOf.IsZero():
		return errors.New("as_of missing (give it per price or at the top of the file)")
	}
	return nil
}

// decimalOf reads a price written as a string or a number ("" when neither).
func decimalOf(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case int64:
		if x >= 0 {
			return strconv.FormatInt(x, 10)
		}
	case float64:
		if x >= 0 && !math.IsInf(x, 0) && !math.IsNaN(x) {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
	case json.Number:
		return decimalOf(string(x))
	}
	return ""
}

// timeOf reads a TOML date-time, an RFC 3339 string or Unix seconds.
func timeOf(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x
	case toml.LocalDateTime:
		return x.AsTime(time.UTC)
	case string:
		t, _ := time.Parse(time.RFC3339Nano, x)
		return t
	case int64:
		return time.Unix(x, 0)
	case float64:
		if x > 0 && x < 1e11 {
			return time.Unix(int64(x), 0)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil && n > 0 && n < 1e11 {
			return time.Unix(n, 0)
		}
		return timeOf(string(x))
	}
	return time.Time{}
}

// HTTP reads prices from a JSON endpoint: for each asset, GET URL (with
// {asset} replaced; once for all when URL has no {asset}) and take the
// number or numeric string at the dotted path Field ({asset} replaced
// too). AsOfField, when set, is the path of the as-of time (RFC 3339 or
// Unix seconds); else the quote is as of the fetch. Only https, or http
// to a loopback host.
type HTTP struct {
	URL, Field, AsOfField, Currency string
	Assets                          []string
	Timeout                         time.Duration // per request; 0 = DefaultTimeout
	Client                          *http.Client  // nil = a client without redirects to other schemes
	Now                             func() time.Time
}

// Name implements Source.
func (h *HTTP) Name() string { return "http " + h.URL }

// Validate checks the settings before anything goes on the network.
func (h *HTTP) Validate() error {
	u, err := url.Parse(strings.ReplaceAll(h.URL, "{asset}", "X"))
	if err != nil || u.Host == "" {
		return fmt.Errorf("prices.url %q is not a URL", clip(h.URL))
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())) {
		return fmt.Errorf("prices.url must use https:// (http:// only for a loopback host), not %q", clip(h.URL))
	}
	switch {
	case h.Field == "":
		return errors.New("prices.field is missing: the dotted path of the price in the JSON")
	case h.Currency == "":
		return errors.New("prices.currency is missing")
	case len(h.Assets) == 0 || len(h.Assets) > MaxAssets:
		return fmt.Errorf("prices.assets must list 1 to %d assets", MaxAssets)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Fetch implements Source. An asset whose price cannot be read is left
// out (it then has no price); the error reports the first such problem
// only when no asset could be read.
func (h *HTTP) Fetch(ctx context.Context) ([]Quote, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	var out []Quote
	var firstErr error
	cache := map[string]any{}
	for _, asset := range h.Assets {
		q, err := h.fetchOne(ctx, asset, cache)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", clip(asset), err)
			}
			continue
		}
		out = append(out, q)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (h *HTTP) fetchOne(ctx context.Context, asset string, cache map[string]any) (Quote, error) {
	u := strings.ReplaceAll(h.URL, "{asset}", url.PathEscape(asset))
	doc, ok := cache[u]
	if !ok {
		var err error
		if doc, err = h.get(ctx, u); err != nil {
			return Quote{}, err
		}
		cache[u] = doc
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	q := Quote{Asset: strings.ToUpper(asset), Currency: h.Currency, AsOf: now(), Source: h.Name()}
	v, err := walk(doc, strings.ReplaceAll(h.Field, "{asset}", asset))
	if err != nil {
		return Quote{}, err
	}
	q.Price = decimalOf(v)
	if h.AsOfField != "" {
		t, err := walk(doc, strings.ReplaceAll(h.AsOfField, "{asset}", asset))
		if err != nil {
			return Quote{}, err
		}
		q.AsOf = timeOf(t)
	}
	return q, check(q)
}

// get fetches and decodes one JSON document, bounded in time and size.
func (h *HTTP) get(ctx context.Context, u string) (any, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	c := h.Client
	if c == nil {
		c = &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Scheme != "https" && !loopback(r.URL.Hostname()) {
				return errors.New("redirect away from https refused")
			}
			return nil
		}}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("price source answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("price source answer is larger than %d bytes", MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("price source answer is not JSON: %v", err)
	}
	return doc, nil
}

// walk follows a dotted path (object keys, or list indexes) into doc.
func walk(doc any, path string) (any, error) {
	if len(path) > 256 {
		return nil, errors.New("field path longer than 256 bytes")
	}
	cur := doc
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, fmt.Errorf("no %q in the answer (path %s)", clip(part), clip(path))
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no element %q in the answer (path %s)", clip(part), clip(path))
			}
			cur = x[i]
		default:
			return nil, fmt.Errorf("the answer has no %q (path %s)", clip(part), clip(path))
		}
	}
	return cur, nil
}
