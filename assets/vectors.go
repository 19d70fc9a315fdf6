package assets

import _ "embed"

// QredoBLSVectors is the built-in known-answer test file for Qredo's BLS
// scheme (a copy of shared/vectors/qredo-bls-milagro.json, produced by
// Apache Milagro crypto C), used by qapprove selftest.
//
//go:embed vectors/qredo-bls-milagro.json
var QredoBLSVectors []byte
