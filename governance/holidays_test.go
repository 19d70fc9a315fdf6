package governance

import "testing"

func TestParseHolidays(t *testing.T) {
	text := "# desk holidays\n2026-12-25\n\n2026-12-26  Boxing Day\n2027-01-01 # new year\n"
	toml := "holidays = [\"2026-12-25\", 2026-12-26, \"2027-01-01\"]\n"
	for _, in := range []string{text, toml} {
		h, err := ParseHolidays("h", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"2026-12-25", "2026-12-26", "2027-01-01"} {
			if _, ok := h[d]; !ok || len(h) != 3 {
				t.Fatalf("%q: %v", in, h)
			}
		}
	}
	for _, bad := range []string{"2026-13-01\n", "25.12.2026\n", "2026-2-1\n", "holidays = [1]\n", "holidays = ['x']\n"} {
		if _, err := ParseHolidays("h", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
