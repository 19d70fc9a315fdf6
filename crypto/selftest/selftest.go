// Package selftest runs known-answer tests of qapprove's crypto: the Qredo
// BLS vectors (shared/vectors JSON format, a copy of which is embedded in
// assets) plus a few internal round trips.
package selftest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/qapprove/qapprove/assets"
	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
)

// MaxVectorsSize bounds the size of a vectors file read by ParseVectors.
const MaxVectorsSize = 4 << 20

// Vector is one known-answer entry of the vectors JSON file. All values are
// lowercase hex without 0x.
type Vector struct {
	Case      string `json:"case"`        // label, e.g. "pos/key0/empty" or "neg/truncated"
	SeedHex   string `json:"seed_hex"`    // seed given to Milagro's CSPRNG (informational)
	SkHex     string `json:"sk_hex"`      // 48-byte secret key
	PkHex     string `json:"pk_hex"`      // 192-byte public key
	MsgHex    string `json:"msg_hex"`     // message, may be empty
	HashG1Hex string `json:"hash_g1_hex"` // H(msg), 49 bytes (optional)
	SigHex    string `json:"sig_hex"`     // signature, 49 bytes for valid entries
	Valid     bool   `json:"valid"`       // whether verify must succeed
}

// Result is the outcome of a run: counts and one human line per failure.
type Result struct {
	Passed, Failed int
	Failures       []string // "<case>: <what differed>"
}

// Add merges o into r.
func (r *Result) Add(o Result) {
	r.Passed += o.Passed
	r.Failed += o.Failed
	r.Failures = append(r.Failures, o.Failures...)
}

func (r *Result) record(name string, problems []string) {
	if len(problems) == 0 {
		r.Passed++
		return
	}
	r.Failed++
	r.Failures = append(r.Failures, name+": "+strings.Join(problems, "; "))
}

// ParseVectors reads a vectors JSON array (at most MaxVectorsSize bytes).
// Every entry needs a case label and well-formed hex; structural problems
// are reported with the entry's index and label.
func ParseVectors(r io.Reader) ([]Vector, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxVectorsSize+1))
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	if len(data) > MaxVectorsSize {
		return nil, fmt.Errorf("vectors file is larger than %d MiB", MaxVectorsSize>>20)
	}
	var vs []Vector
	if err := json.Unmarshal(data, &vs); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("vectors file is not valid JSON (at byte %d)", se.Offset)
		case errors.As(err, &te):
			return nil, fmt.Errorf("vectors file has the wrong shape: want an array of objects (%s at byte %d)", te.Value, te.Offset)
		default:
			return nil, fmt.Errorf("vectors file is not valid JSON: %v", err)
		}
	}
	if len(vs) == 0 {
		return nil, errors.New("vectors file holds no vectors")
	}
	for i, v := range vs {
		if strings.TrimSpace(v.Case) == "" {
			return nil, fmt.Errorf("vector %d has no case label", i)
		}
		fields := []struct{ name, val string }{
			{"seed_hex", v.SeedHex}, {"sk_hex", v.SkHex}, {"pk_hex", v.PkHex},
			{"msg_hex", v.MsgHex}, {"hash_g1_hex", v.HashG1Hex}, {"sig_hex", v.SigHex},
		}
		for _, f := range fields {
			if _, err := hex.DecodeString(f.val); err != nil {
				return nil, fmt.Errorf("vector %d (%s): %s is not valid hex", i, v.Case, f.name)
			}
		}
		if v.PkHex == "" {
			return nil, fmt.Errorf("vector %d (%s): pk_hex is missing", i, v.Case)
		}
		if v.Valid && (v.SkHex == "" || v.SigHex == "") {
			return nil, fmt.Errorf("vector %d (%s): a valid vector needs sk_hex and sig_hex", i, v.Case)
		}
	}
	return vs, nil
}

// Run checks every vector. For a valid one: the secret key is accepted,
// it derives pk, hashes the message to hash_g1 (when given), signs it to
// exactly sig, and the signature verifies. For an invalid one: it does not
// verify.
func Run(vs []Vector) Result {
	var res Result
	for _, v := range vs {
		res.record(v.Case, check(v))
	}
	return res
}

// check returns what differed for one vector (nothing when it passed).
func check(v Vector) []string {
	pkb, _ := hex.DecodeString(v.PkHex)
	msg, _ := hex.DecodeString(v.MsgHex)
	sigb, _ := hex.DecodeString(v.SigHex)
	verified := verifyBytes(pkb, msg, sigb)
	if !v.Valid {
		if verified {
			return []string{"an invalid signature verified"}
		}
		return nil
	}
	var problems []string
	skb, _ := hex.DecodeString(v.SkHex)
	defer clear(skb)
	sk, err := qbls.SecretKeyFromBytes(skb)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		defer sk.Zero()
		if pk := sk.Public(); !bytes.Equal(pk[:], pkb) {
			problems = append(problems, "public key differs "+gotWant(pk[:], pkb))
		}
		if sig := sk.Sign(msg); !bytes.Equal(sig[:], sigb) {
			problems = append(problems, "signature differs "+gotWant(sig[:], sigb))
		}
	}
	if v.HashG1Hex != "" {
		want, _ := hex.DecodeString(v.HashG1Hex)
		if h := qbls.HashToG1(msg); !bytes.Equal(h[:], want) {
			problems = append(problems, "hash to G1 differs "+gotWant(h[:], want))
		}
	}
	if !verified {
		problems = append(problems, "signature does not verify")
	}
	return problems
}

// verifyBytes parses strictly and verifies.
func verifyBytes(pkb, msg, sigb []byte) bool {
	pk, err := qbls.ParsePublicKey(pkb)
	if err != nil {
		return false
	}
	sig, err := qbls.ParseSignature(sigb)
	if err != nil {
		return false
	}
	return qbls.Verify(pk, msg, sig)
}

// gotWant shows the first bytes of two public values that differ.
func gotWant(got, want []byte) string {
	short := func(b []byte) string {
		if len(b) > 8 {
			return hex.EncodeToString(b[:8]) + "…"
		}
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("(got %s, want %s)", short(got), short(want))
}

// RunBuiltin runs the embedded Qredo BLS vectors plus internal checks: a
// sign-then-verify round trip with a fresh BLS key, and a secp256k1 key
// round trip.
func RunBuiltin() Result {
	var res Result
	vs, err := ParseVectors(bytes.NewReader(assets.QredoBLSVectors))
	if err != nil {
		res.record("builtin vectors", []string{err.Error()})
	} else {
		res.Add(Run(vs))
	}
	res.record("internal/bls-roundtrip", blsRoundTrip())
	res.record("internal/ec-roundtrip", ecRoundTrip())
	return res
}

func blsRoundTrip() []string {
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		return []string{err.Error()}
	}
	defer sk.Zero()
	var problems []string
	pk := sk.Public()
	if _, err := qbls.ParsePublicKey(pk[:]); err != nil {
		problems = append(problems, "fresh public key does not parse")
	}
	msg := []byte("qapprove selftest")
	sig := sk.Sign(msg)
	if !qbls.Verify(pk, msg, sig) {
		problems = append(problems, "fresh signature does not verify")
	}
	if qbls.Verify(pk, []byte("qapprove selftest!"), sig) {
		problems = append(problems, "signature verifies for another message")
	}
	if !qbls.BatchVerify(pk, [][]byte{msg, msg}, []qbls.Signature{sig, sig}) {
		problems = append(problems, "batch verification fails on good signatures")
	}
	return problems
}

func ecRoundTrip() []string {
	k, err := eckey.Generate(rand.Reader)
	if err != nil {
		return []string{err.Error()}
	}
	defer k.Zero()
	var problems []string
	k2, err := eckey.PrivateKeyFromBytes(k[:])
	if err != nil || k2 != k {
		problems = append(problems, "fresh EC private key does not round-trip")
	}
	k2.Zero()
	pk := k.Public()
	if got, err := eckey.ParsePublicKey(pk[:]); err != nil || got != pk {
		problems = append(problems, "fresh EC public key does not parse")
	}
	return problems
}
