// Package sandboxtest starts the sandbox server for a test or benchmark.
// Only tests import it.
package sandboxtest

import (
	"testing"

	"github.com/qapprove/qapprove/sandbox"
)

// Start starts a sandbox with opts on a free loopback port, stops it when
// the test ends, and returns it with its API base URL.
func Start(tb testing.TB, opts sandbox.Options) (*sandbox.Server, string) {
	tb.Helper()
	srv, err := sandbox.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv, base
}
