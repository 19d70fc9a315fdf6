// Package sandboxtest starts the sandbox server for a test or benchmark
// and injects the actions tests need (hostile text, messages that do not
// match, opaque messages, malformed actions). Only tests import it.
package sandboxtest

import (
	"testing"

	"github.com/qapprove/qapprove/sandbox"
)

// Protocols are the two protocols the sandbox speaks, for tests that run
// against both.
var Protocols = []sandbox.Protocol{sandbox.ProtocolExtended, sandbox.ProtocolMinimal}

// HostileText holds what must never reach a terminal raw: ESC (a colour
// sequence), CR, BEL, DEL, a C1 control, the bidi override U+202E and a
// zero-width space.
const HostileText = "ok\x1b[31mRED\rCR\aBEL\x7f\u009b\u202eEVIL\u200bZW"

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
	// A failing Close of the fixture cannot change what the test asserts.
	tb.Cleanup(func() { _ = srv.Close() })
	return srv, base
}

// StartProtocol is Start with opts.Protocol = p.
func StartProtocol(tb testing.TB, p sandbox.Protocol, opts sandbox.Options) (*sandbox.Server, string) {
	tb.Helper()
	opts.Protocol = p
	return Start(tb, opts)
}

// EachProtocol runs fn as a subtest per protocol.
func EachProtocol(t *testing.T, fn func(t *testing.T, p sandbox.Protocol)) {
	t.Helper()
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) { fn(t, p) })
	}
}

// AddAction adds c (sandbox.Server.AddCustomAction) or fails the test.
func AddAction(tb testing.TB, srv *sandbox.Server, c sandbox.CustomAction) string {
	tb.Helper()
	id, err := srv.AddCustomAction(c)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// AddHostileAction adds a pending action whose every string field
// (description, policy name, network, chain ID, wallet, addresses,
// destination name, asset symbol and contract, amount, note, initiator)
// carries HostileText.
func AddHostileAction(tb testing.TB, srv *sandbox.Server) string {
	tb.Helper()
	h := HostileText
	return AddAction(tb, srv, sandbox.CustomAction{Description: h, PolicyName: h, NetworkName: h, ChainID: h,
		WalletID: h, From: h, To: h, ToName: h, AssetSymbol: h, Contract: h, Amount: h, Note: h, Initiator: h})
}

// AddMismatchedAction adds an action whose message is in the sandbox
// layout but whose field-2 digest commits to another payload than the one
// shown: a client must refuse to sign it.
func AddMismatchedAction(tb testing.TB, srv *sandbox.Server) string {
	tb.Helper()
	return AddAction(tb, srv, sandbox.CustomAction{Message: sandbox.MessageMismatchPayload})
}

// AddOpaqueAction adds an action with a real-Qredo-like message (08 01 12
// 20 and 32 random bytes, no marker): signed as received, marked unbound.
func AddOpaqueAction(tb testing.TB, srv *sandbox.Server) string {
	tb.Helper()
	return AddAction(tb, srv, sandbox.CustomAction{Message: sandbox.MessageOpaque})
}

// AddMalformedAction adds an action broken on the wire as kind says,
// among the good ones.
func AddMalformedAction(tb testing.TB, srv *sandbox.Server, kind sandbox.MalformedKind) string {
	tb.Helper()
	id, err := srv.AddMalformedAction(kind)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
