package wraptest

import (
	"os"
	"strings"
	"testing"
)

// The script make test runs installs the very local-kms the tests pin.
func TestTestDepsInstallsThePinnedLocalKMS(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/test-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "go install "+LocalKMSModule) {
		t.Fatalf("scripts/test-deps.sh does not install %s", LocalKMSModule)
	}
}
