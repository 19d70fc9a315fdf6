package governance

import (
	"fmt"
	"strings"
	"time"
)

// EngineVersion names the semantics of the rules engine: the input
// document, the functions and the built-in checks. Every decision
// journals it next to the SHA-256 of the rules file, so a replay can tell
// a rules change from an engine change. Bump it whenever an unchanged
// rules file could give another verdict.
const EngineVersion = "qapprove-rules/2"

// Clock is the evaluation time as the desk's calendar sees it: Now in the
// profile's time zone, and whether that day is on the holiday list. Its
// fields are the CEL variables time_zone, today, weekday, local_time and
// holiday. The zero Clock is filled from Now in UTC without holidays.
type Clock struct {
	Zone    string `json:"zone"`       // IANA name, "UTC" by default
	Date    string `json:"date"`       // local date, "2026-12-07"
	Weekday string `json:"weekday"`    // "Mon" … "Sun"
	Time    string `json:"local_time"` // local time of day, "17:04:05"
	Holiday bool   `json:"holiday"`    // Date is on the holiday list
}

// Calendar is the profile's time zone and holiday list.
type Calendar struct {
	Loc      *time.Location      // nil means UTC
	Holidays map[string]struct{} // local dates "YYYY-MM-DD"
}

// Clock reads now on the calendar.
func (c Calendar) Clock(now time.Time) Clock {
	loc := c.Loc
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	date := t.Format(time.DateOnly)
	_, hol := c.Holidays[date]
	return Clock{Zone: loc.String(), Date: date, Weekday: t.Format("Mon"), Time: t.Format(time.TimeOnly), Holiday: hol}
}

// Approver is one member's decision on an action so far, as the API
// reports it (ID, display name when given, and when).
type Approver struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// Call is the contract call an EVM transfer carries in its calldata, as
// governance/evm decoded it (the CEL variable call). Present is false when
// the payload carries no calldata; Known is false for a selector qapprove
// does not decode or calldata that is malformed (Problem says which).
type Call struct {
	Present   bool   `json:"present"`   // the payload carries calldata
	Known     bool   `json:"known"`     // decoded: one of the functions below
	Selector  string `json:"selector"`  // "0xa9059cbb"
	Function  string `json:"function"`  // "transfer", "transferFrom", "approve", "increaseAllowance", "setApprovalForAll"
	Standard  string `json:"standard"`  // "erc20" or "erc721/erc1155"
	Recipient string `json:"recipient"` // who receives tokens (transfer, transferFrom); "" otherwise
	From      string `json:"from"`      // transferFrom's owner
	Spender   string `json:"spender"`   // approve, increaseAllowance
	Operator  string `json:"operator"`  // setApprovalForAll
	// Amount is the uint256 argument in base units (decimal digits); ""
	// when the function has none.
	Amount       string  `json:"amount"`
	AmountNumber float64 `json:"amount_number"` // Amount as a double
	Unlimited    bool    `json:"unlimited"`     // Amount ≥ 2^255: an allowance without a practical limit
	Approved     bool    `json:"approved"`      // setApprovalForAll's flag
	Problem      string  `json:"problem"`       // why the calldata was not decoded; "" when Known or absent
}

// Query selects accepted approvals for the velocity functions: those of
// Asset (any when ""), to Destination (any when ""), on Network (chain
// ID; any when ""), decided at or after Since and at or before Until.
type Query struct {
	Asset, Destination, Network string
	Since, Until                time.Time
}

// History answers the velocity functions (approved_sum, approved_count…)
// from this key's accepted approvals. Implementations must be fast (an
// index, never a scan of the journal) and safe for concurrent use.
type History interface {
	// ApprovedSum is the sum of the amounts (whole units) of the matching approvals.
	ApprovedSum(q Query) float64
	// ApprovedCount is the number of matching approvals.
	ApprovedCount(q Query) int64
}

// parseHHMM reads "HH:MM" (00:00–24:00) as minutes since midnight.
func parseHHMM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 || !isDigits(h) || !isDigits(m) {
		return 0, fmt.Errorf("time of day %q is not HH:MM", clip(s))
	}
	hh, mm := int(h[0]-'0')*10+int(h[1]-'0'), int(m[0]-'0')*10+int(m[1]-'0')
	if hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time of day %q is out of range 00:00–24:00", clip(s))
	}
	return hh*60 + mm, nil
}

// clockMinutes is the clock's local time of day in minutes (and seconds
// as a fraction), -1 when it cannot be read.
func clockSeconds(c Clock) int {
	t, err := time.Parse(time.TimeOnly, c.Time)
	if err != nil {
		return -1
	}
	return t.Hour()*3600 + t.Minute()*60 + t.Second()
}

// WithinHours reports whether the clock's local time is in [start, end),
// both "HH:MM"; a start after the end spans midnight ("22:00"–"06:00").
func WithinHours(c Clock, start, end string) (bool, error) {
	s, err := parseHHMM(start)
	if err != nil {
		return false, err
	}
	e, err := parseHHMM(end)
	if err != nil {
		return false, err
	}
	t := clockSeconds(c)
	if t < 0 {
		return false, fmt.Errorf("local time %q is not HH:MM:SS", clip(c.Time))
	}
	s, e = s*60, e*60
	if s <= e {
		return t >= s && t < e, nil
	}
	return t >= s || t < e, nil
}

func isDigits(s string) bool { return s != "" && strings.TrimLeft(s, "0123456789") == "" }
