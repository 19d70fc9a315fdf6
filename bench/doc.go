// Package bench holds benchmark-only anchors for qapprove: blst
// (github.com/supranational/blst) in its min-sig mode (signatures in G1,
// public keys in G2, like Qredo's scheme) side by side with crypto/qbls in
// one run. It is a nested module so that blst never enters the product's
// go.mod. Run it with `cd bench && go test -run '^$' -bench .` (or `make
// bench`); the figures go to docs/BENCHMARKS.md.
package bench
