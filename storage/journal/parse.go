package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// parsed is one line decoded by parseLine. Body aliases the input.
type parsed struct {
	seq    uint64
	ts     []byte // aliases the input
	kind   Kind
	prev   [32]byte
	body   []byte
	hasSig bool
	sig    [qbls.SignatureSize]byte
}

var (
	pfxV    = []byte(`{"v":1,"seq":`)
	pfxTS   = []byte(`,"ts":"`)
	pfxKind = []byte(`","kind":"`)
	pfxPrev = []byte(`","prev":"`)
	pfxBody = []byte(`","body":`)
	pfxSig  = []byte(`,"sig":"`)
)

// sigSuffixLen is len(`,"sig":"` + hex + `"}`).
const sigSuffixLen = 8 + 2*qbls.SignatureSize + 2

// parseLine strictly decodes one line (without newline). Lines are written
// in exactly one form: fixed field order, no spaces, lowercase hex; anything
// else is rejected, so two different byte strings never parse to the same
// entry and no JSON re-canonicalisation is needed.
func parseLine(b []byte) (p parsed, err error) {
	if len(b) > MaxLineBytes {
		return p, fmt.Errorf("line is longer than %d bytes", MaxLineBytes)
	}
	rest, ok := bytes.CutPrefix(b, pfxV)
	if !ok {
		return p, errors.New(`line does not start with {"v":1,"seq":<number>`)
	}
	// seq: decimal, no leading zeros, fits uint64.
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 20 || (n > 1 && rest[0] == '0') {
		return p, errors.New("seq is not a decimal number")
	}
	for _, c := range rest[:n] {
		d := uint64(c - '0')
		if p.seq > (1<<64-1-d)/10 {
			return p, errors.New("seq overflows")
		}
		p.seq = p.seq*10 + d
	}
	rest = rest[n:]
	if rest, ok = bytes.CutPrefix(rest, pfxTS); !ok {
		return p, errors.New("ts field missing")
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || i > 40 {
		return p, errors.New("ts field malformed")
	}
	p.ts = rest[:i]
	if !validTS(p.ts) {
		return p, errors.New("ts is not an RFC 3339 UTC time")
	}
	rest = rest[i:]
	if rest, ok = bytes.CutPrefix(rest, pfxKind); !ok {
		return p, errors.New("kind field missing")
	}
	i = bytes.IndexByte(rest, '"')
	if i < 0 || !validKind(string(rest[:i])) {
		return p, errors.New("kind field malformed")
	}
	p.kind = internKind(rest[:i])
	rest = rest[i:]
	if rest, ok = bytes.CutPrefix(rest, pfxPrev); !ok {
		return p, errors.New("prev field missing")
	}
	if len(rest) < 64 || !decodeHexInto(p.prev[:], rest[:64]) {
		return p, errors.New("prev is not 64 lowercase hex digits")
	}
	rest = rest[64:]
	if rest, ok = bytes.CutPrefix(rest, pfxBody); !ok {
		return p, errors.New("body field missing")
	}
	// rest is BODY} or BODY,"sig":"HEX"}
	switch {
	case len(rest) >= 2 && rest[len(rest)-1] == '}' && rest[len(rest)-2] == '}':
		p.body = rest[:len(rest)-1]
	case len(rest) > sigSuffixLen && bytes.HasSuffix(rest, []byte(`"}`)):
		s := rest[len(rest)-sigSuffixLen:]
		if !bytes.HasPrefix(s, pfxSig) || !decodeHexInto(p.sig[:], s[len(pfxSig):len(s)-2]) {
			return p, errors.New("sig field malformed")
		}
		p.hasSig = true
		p.body = rest[:len(rest)-sigSuffixLen]
	default:
		return p, errors.New("line does not end with } or a sig field")
	}
	if len(p.body) < 2 || p.body[0] != '{' || p.body[len(p.body)-1] != '}' || !validJSON(p.body) {
		return p, errors.New("body is not a JSON object")
	}
	return p, nil
}

// knownKinds lets parseLine avoid allocating a string per line.
var knownKinds = []Kind{KindGenesis, KindUnlock, KindUnlockFailed, KindLock, KindDecision,
	KindOutcome, KindKeyRegistered, KindCheckpoint, KindRecovery, KindAbandoned, KindRebound, KindBackupDrill, KindRewrapped,
	KindReanchored, KindKeyExported, KindKeyImported}

func internKind(b []byte) Kind {
	for _, k := range knownKinds {
		if string(b) == string(k) {
			return k
		}
	}
	return Kind(b)
}

// decodeHexInto decodes lowercase hex src into dst (len(src) == 2*len(dst)).
func decodeHexInto(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := hexVal[src[2*i]], hexVal[src[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0x0f
	}
	return bad&0xf0 == 0
}

// ParseLine decodes one journal line (without its newline) into an Entry,
// with the same strict rules the verifier applies. Line is left 0.
func ParseLine(b []byte) (Entry, error) {
	p, err := parseLine(b)
	if err != nil {
		return Entry{}, err
	}
	return p.entry(b), nil
}

func (p *parsed) entry(line []byte) Entry {
	t, _ := time.Parse(time.RFC3339Nano, string(p.ts))
	h := sha256.Sum256(line)
	e := Entry{Seq: p.seq, TS: t, Kind: p.kind, Prev: hex.EncodeToString(p.prev[:]),
		Body: append(json.RawMessage(nil), p.body...), Hash: hex.EncodeToString(h[:])}
	if p.hasSig {
		e.Sig = hex.EncodeToString(p.sig[:])
	}
	return e
}

// parseGenesis decodes and checks a genesis body.
func parseGenesis(body []byte) (GenesisBody, [16]byte, qbls.PublicKey, error) {
	var g GenesisBody
	var jid [16]byte
	var pk qbls.PublicKey
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, jid, pk, errors.New("genesis body is malformed")
	}
	if !decodeHexInto(jid[:], []byte(g.JournalID)) {
		return g, jid, pk, errors.New("genesis journal_id is not 32 hex digits")
	}
	raw := make([]byte, qbls.PublicKeySize)
	if !decodeHexInto(raw, []byte(g.PublicKey)) {
		return g, jid, pk, errors.New("genesis public_key is not a hex BLS public key")
	}
	pk, err := qbls.ParsePublicKey(raw)
	if err != nil {
		return g, jid, pk, errors.New("genesis public_key is not a valid BLS public key")
	}
	return g, jid, pk, nil
}

// validTS checks the exact form formatTS produces:
// YYYY-MM-DDTHH:MM:SS[.fraction without trailing zeros]Z.
func validTS(b []byte) bool {
	if len(b) < 20 || len(b) > 30 || b[len(b)-1] != 'Z' {
		return false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return false
	}
	if num(0, 4) < 0 || num(5, 2) < 1 || num(5, 2) > 12 || num(8, 2) < 1 || num(8, 2) > 31 ||
		num(11, 2) < 0 || num(11, 2) > 23 || num(14, 2) < 0 || num(14, 2) > 59 || num(17, 2) < 0 || num(17, 2) > 59 {
		return false
	}
	frac := b[19 : len(b)-1]
	if len(frac) == 0 {
		return true
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || frac[len(frac)-1] == '0' {
		return false
	}
	for _, c := range frac[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
