package governance

import (
	"encoding/hex"
	"os"
	"testing"

	"github.com/qapprove/qapprove/assets"
)

func mustDefaultText(t *testing.T) []byte {
	t.Helper()
	if len(assets.DefaultRules) == 0 {
		t.Fatal("embedded default rules are empty")
	}
	return assets.DefaultRules
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
