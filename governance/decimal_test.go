package governance

import "testing"

func TestCompareDecimal(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"10", "10", 0}, {"10.0", "10", 0}, {"010", "10", 0}, {"10.000000000000000001", "10", 1},
		{"9.99", "10", -1}, {"100", "99.999", 1}, {"0.5", "0.50", 0}, {"0.05", "0.5", -1}, {"0", "0.0", 0},
	}
	for _, c := range cases {
		if got := CompareDecimal(c.a, c.b); got != c.want {
			t.Errorf("CompareDecimal(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareDecimal(c.b, c.a); got != -c.want {
			t.Errorf("CompareDecimal(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestCheckAmountLimits(t *testing.T) {
	if err := CheckAmountLimits(map[string]string{"ETH": "10", "USDC": "50000.25"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{{"ETH": "ten"}, {"ETH": "-1"}, {"ETH": "1."}, {"ETH": ".5"}, {"ETH": "1e3"}, {"": "1"}, {"ETH": "1", "eth": "2"}} {
		if CheckAmountLimits(bad) == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
