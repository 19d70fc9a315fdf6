package governance

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Bounds on a holiday list.
const (
	MaxHolidaysFileSize = 1 << 20
	MaxHolidays         = 10_000
)

// ParseHolidays reads a holiday list: a TOML file with
// `holidays = ["2026-12-25", 2026-12-26, …]` (strings or TOML dates), or
// plain text with one YYYY-MM-DD per line (blank lines and # comments
// allowed; text after the date on a line is a comment). name is used in
// errors.
func ParseHolidays(name string, data []byte) (map[string]struct{}, error) {
	if len(data) > MaxHolidaysFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxHolidaysFileSize)
	}
	if bytes.Contains(data, []byte("holidays")) && bytes.Contains(data, []byte("=")) {
		return holidaysTOML(name, data)
	}
	out := map[string]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		if s == "" {
			continue
		}
		d, _, _ := strings.Cut(s, " ")
		if err := addHoliday(out, d); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return out, nil
}

func holidaysTOML(name string, data []byte) (map[string]struct{}, error) {
	var doc struct {
		Holidays []any `toml:"holidays"`
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	out := map[string]struct{}{}
	for i, v := range doc.Holidays {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case toml.LocalDate:
			s = x.String()
		default:
			return nil, fmt.Errorf("%s: holidays[%d] is not a date", name, i)
		}
		if err := addHoliday(out, s); err != nil {
			return nil, fmt.Errorf("%s: holidays[%d]: %v", name, i, err)
		}
	}
	return out, nil
}

func addHoliday(m map[string]struct{}, s string) error {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return fmt.Errorf("%q is not a date YYYY-MM-DD", clip(s))
	}
	if len(m) >= MaxHolidays {
		return fmt.Errorf("more than %d holidays", MaxHolidays)
	}
	m[s] = struct{}{}
	return nil
}
