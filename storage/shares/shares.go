// Package shares is the file format of a key backup split among
// custodians: one Shamir share (crypto/shamir) per file, each encrypted to
// one custodian with age (an X25519 recipient or a passphrase).
//
// A share file is a clear header, then the age file, armored:
//
//	qapprove key share v1
//	# any 3 of the 5 shares of this set restore the key backup; fewer reveal nothing
//	set:         9f2c…(32 hex digits, random)
//	share:       2 of 5
//	threshold:   3
//	fingerprint: 1a2b:3c4d:5e6f:7a8b
//	sealed-for:  age1… | passphrase
//	created:     2026-12-07T18:00:00Z
//
//	-----BEGIN AGE ENCRYPTED FILE-----
//	…
//	-----END AGE ENCRYPTED FILE-----
//
// Nothing secret is in clear: the set's random ID, the share's index, the
// threshold, the number of shares, the BLS public-key fingerprint of the
// backed-up key, the custodian's public recipient and the date. The
// encrypted payload repeats the header, so a header changed in clear is
// refused when the share is opened; age authenticates the payload, and
// the shared tag of crypto/shamir refuses any share that does not
// recombine with the others.
package shares

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/qapprove/qapprove/crypto/shamir"
)

// Bounds of the format.
const (
	// MaxSecret bounds the secret a set carries (a key backup is at most
	// 2,560 bytes).
	MaxSecret = 8 << 10
	// MaxFileSize bounds a share file read from disk.
	MaxFileSize = 32 << 10
	// PassphraseLabel is the sealed-for value of a passphrase share.
	PassphraseLabel = "passphrase"
	// MaxWorkFactor is the largest age scrypt work factor (log2 N) a
	// passphrase share is sealed or opened with: age's default, 18
	// (256 MiB of memory); a hostile file cannot ask for more.
	MaxWorkFactor = 18
)

const (
	magic   = "qapprove key share v1"
	version = 1
)

// Errors; match them with errors.Is.
var (
	ErrFormat        = errors.New("not a qapprove share file")
	ErrWrongIdentity = errors.New("none of the identities given opens this share")
	ErrAltered       = errors.New("share file altered or damaged")
	ErrDifferentSets = errors.New("the shares are not of one set")
	ErrTooFew        = errors.New("too few shares")
	ErrDuplicate     = errors.New("the same share was given twice")
)

// Header is what a share file says in clear (and repeats, authenticated,
// inside its encrypted payload).
type Header struct {
	Set         string // 32 hex digits, random, the same for every share of a set
	Index       int    // 1 to Total
	Threshold   int    // shares needed to recombine
	Total       int    // shares in the set
	Fingerprint string // BLS public-key fingerprint of the backed-up key
	SealedFor   string // the custodian's age recipient (age1…), or "passphrase"
	Created     string // RFC 3339 UTC, seconds
}

// Custodian is who one share is encrypted to.
type Custodian struct {
	recipient age.Recipient
	label     string
}

// Label is the custodian as the share file names it: the age recipient,
// or "passphrase".
func (c Custodian) Label() string { return c.label }

// X25519 parses an age X25519 recipient (age1…).
func X25519(s string) (Custodian, error) {
	s = strings.TrimSpace(s)
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return Custodian{}, fmt.Errorf("%q is not an age X25519 recipient (age1…)", clip(s))
	}
	return Custodian{recipient: r, label: r.String()}, nil
}

// Passphrase is a custodian who opens the share with an age passphrase.
// workFactor is age's scrypt log2(N); 0 keeps age's default (18).
func Passphrase(pass string, workFactor int) (Custodian, error) {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return Custodian{}, errors.New("a share passphrase cannot be empty")
	}
	if workFactor != 0 {
		if workFactor < 1 || workFactor > MaxWorkFactor {
			return Custodian{}, fmt.Errorf("scrypt work factor %d is out of range", workFactor)
		}
		r.SetWorkFactor(workFactor)
	}
	return Custodian{recipient: r, label: PassphraseLabel}, nil
}

// PassphraseIdentity opens passphrase shares sealed with pass, refusing
// a work factor over MaxWorkFactor.
func PassphraseIdentity(pass string) (age.Identity, error) {
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, errors.New("a share passphrase cannot be empty")
	}
	id.SetMaxWorkFactor(MaxWorkFactor)
	return id, nil
}

// Split splits secret into one share file per custodian (in order: share
// i is for custodians[i-1]), any threshold of which recombine it.
// fingerprint names the backed-up key in clear.
func Split(secret []byte, threshold int, fingerprint string, custodians []Custodian, now time.Time) ([][]byte, []Header, error) {
	if len(secret) > MaxSecret {
		return nil, nil, fmt.Errorf("the backup is %d bytes, over the %d-byte limit of a share set", len(secret), MaxSecret)
	}
	if !validFingerprint(fingerprint) {
		return nil, nil, errors.New("invalid public-key fingerprint")
	}
	parts, err := shamir.Split(secret, len(custodians), threshold, rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, p := range parts {
			clear(p.Value)
		}
	}()
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, nil, err
	}
	files := make([][]byte, len(parts))
	heads := make([]Header, len(parts))
	for i, p := range parts {
		h := Header{Set: hex.EncodeToString(id[:]), Index: int(p.Index), Threshold: threshold, Total: len(parts),
			Fingerprint: fingerprint, SealedFor: custodians[i].label, Created: now.UTC().Format(time.RFC3339)}
		f, err := seal(h, p.Value, custodians[i].recipient)
		if err != nil {
			return nil, nil, fmt.Errorf("share %d: %w", i+1, err)
		}
		files[i], heads[i] = f, h
	}
	return files, heads, nil
}

// payload is the encrypted content of a share file.
type payload struct {
	V           int    `json:"v"`
	Set         string `json:"set"`
	Index       int    `json:"index"`
	Threshold   int    `json:"threshold"`
	Total       int    `json:"total"`
	Fingerprint string `json:"fingerprint"`
	SealedFor   string `json:"sealed_for"`
	Created     string `json:"created"`
	Value       []byte `json:"value"` // base64 in JSON
}

func (p payload) header() Header {
	return Header{Set: p.Set, Index: p.Index, Threshold: p.Threshold, Total: p.Total,
		Fingerprint: p.Fingerprint, SealedFor: p.SealedFor, Created: p.Created}
}

func seal(h Header, value []byte, r age.Recipient) ([]byte, error) {
	plain, err := json.Marshal(payload{V: version, Set: h.Set, Index: h.Index, Threshold: h.Threshold, Total: h.Total,
		Fingerprint: h.Fingerprint, SealedFor: h.SealedFor, Created: h.Created, Value: value})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var b bytes.Buffer
	b.WriteString(h.text())
	b.WriteByte('\n')
	aw := armor.NewWriter(&b)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// text is the clear header, ending in a newline.
func (h Header) text() string {
	return fmt.Sprintf("%s\n# any %d of the %d shares of this set restore the key backup; fewer reveal nothing\n"+
		"set:         %s\nshare:       %d of %d\nthreshold:   %d\nfingerprint: %s\nsealed-for:  %s\ncreated:     %s\n",
		magic, h.Threshold, h.Total, h.Set, h.Index, h.Total, h.Threshold, h.Fingerprint, h.SealedFor, h.Created)
}

// ParseHeader reads the clear header of a share file, checking its form;
// it is untrusted until Open has checked it against the encrypted copy.
func ParseHeader(file []byte) (Header, error) {
	h, _, err := parse(file)
	return h, err
}

// parse splits a share file into its checked clear header and the armored
// age file.
func parse(file []byte) (Header, []byte, error) {
	if len(file) > MaxFileSize {
		return Header{}, nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, MaxFileSize)
	}
	file = bytes.ReplaceAll(file, []byte("\r\n"), []byte("\n")) // a share that went through a Windows editor or mail
	head, body, ok := bytes.Cut(file, []byte("\n\n"))
	if !ok || !bytes.HasPrefix(head, []byte(magic+"\n")) {
		return Header{}, nil, ErrFormat
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(head[len(magic)+1:]))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, dup := fields[k]; !ok || dup {
			return Header{}, nil, fmt.Errorf("%w: bad header line", ErrFormat)
		}
		fields[k] = v
	}
	h, err := headerOf(fields)
	if err != nil {
		return Header{}, nil, err
	}
	return h, body, nil
}

// headerOf builds and checks a Header from the clear fields.
func headerOf(f map[string]string) (Header, error) {
	if len(f) != 6 {
		return Header{}, fmt.Errorf("%w: the header needs set, share, threshold, fingerprint, sealed-for and created", ErrFormat)
	}
	h := Header{Set: f["set"], Fingerprint: f["fingerprint"], SealedFor: f["sealed-for"], Created: f["created"]}
	idx, total, ok := strings.Cut(f["share"], " of ")
	var errs [3]error
	h.Index, errs[0] = strconv.Atoi(idx)
	h.Total, errs[1] = strconv.Atoi(total)
	h.Threshold, errs[2] = strconv.Atoi(f["threshold"])
	if !ok || errors.Join(errs[:]...) != nil {
		return Header{}, fmt.Errorf("%w: bad share or threshold line", ErrFormat)
	}
	if err := h.validate(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// validate checks the form and ranges of every field.
func (h Header) validate() error {
	id, err := hex.DecodeString(h.Set)
	switch {
	case err != nil || len(id) != 16 || h.Set != strings.ToLower(h.Set):
		return fmt.Errorf("%w: bad set ID", ErrFormat)
	case h.Total < shamir.MinThresh || h.Total > shamir.MaxShares || h.Threshold < shamir.MinThresh ||
		h.Threshold > h.Total || h.Index < 1 || h.Index > h.Total:
		return fmt.Errorf("%w: share %d of %d with threshold %d is out of range", ErrFormat, h.Index, h.Total, h.Threshold)
	case !validFingerprint(h.Fingerprint):
		return fmt.Errorf("%w: bad fingerprint", ErrFormat)
	case h.SealedFor != PassphraseLabel && !validRecipient(h.SealedFor):
		return fmt.Errorf("%w: bad sealed-for", ErrFormat)
	}
	if _, err := time.Parse(time.RFC3339, h.Created); err != nil {
		return fmt.Errorf("%w: bad created time", ErrFormat)
	}
	return nil
}

func validRecipient(s string) bool {
	_, err := age.ParseX25519Recipient(s)
	return err == nil
}

// validFingerprint accepts qbls.Fingerprint's form: four groups of four
// lowercase hex digits separated by colons.
func validFingerprint(s string) bool {
	if len(s) != 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%5 == 4 {
			if c != ':' {
				return false
			}
		} else if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Share is an opened share. Call Zero when done.
type Share struct {
	Header
	value []byte
}

// Zero clears the share's value.
func (s *Share) Zero() {
	if s != nil {
		clear(s.value)
	}
}

// Open decrypts a share file with the first identity that fits and checks
// that the encrypted header is the clear one. A passphrase share needs an
// *age.ScryptIdentity among ids.
func Open(file []byte, ids []age.Identity) (*Share, error) {
	h, body, err := parse(file)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(body)), ids...)
	var nomatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nomatch):
		return nil, ErrWrongIdentity
	case err != nil:
		return nil, fmt.Errorf("%w: %s", ErrAltered, oneLine(err.Error()))
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxFileSize))
	defer clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrAltered, oneLine(err.Error()))
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.V != version {
		clear(p.Value)
		return nil, fmt.Errorf("%w: bad payload", ErrAltered)
	}
	if p.header() != h {
		clear(p.Value)
		return nil, fmt.Errorf("%w: the clear header differs from the encrypted one", ErrAltered)
	}
	return &Share{Header: h, value: p.Value}, nil
}

// Combine recombines the secret from shares of one set: at least the
// threshold, each index once. Shares of different sets, too few, or any
// share that does not recombine with the others are refused.
func Combine(shares []*Share) ([]byte, error) {
	if len(shares) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrTooFew)
	}
	first := shares[0].Header
	parts := make([]shamir.Share, 0, len(shares))
	seen := map[int]bool{}
	for _, s := range shares {
		h := s.Header
		if h.Set != first.Set || h.Threshold != first.Threshold || h.Total != first.Total || h.Fingerprint != first.Fingerprint {
			return nil, fmt.Errorf("%w: share %d of set %s and share %d of set %s", ErrDifferentSets, first.Index, first.Set, h.Index, h.Set)
		}
		if seen[h.Index] {
			return nil, fmt.Errorf("%w: share %d of %d", ErrDuplicate, h.Index, h.Total)
		}
		seen[h.Index] = true
		//nolint:gosec // G115: Header.validate bounds Index and Threshold to 1..255
		parts = append(parts, shamir.Share{Index: byte(h.Index), Threshold: byte(h.Threshold), Value: s.value})
	}
	if len(shares) < first.Threshold {
		return nil, fmt.Errorf("%w: %d given, %d of the %d needed", ErrTooFew, len(shares), first.Threshold, first.Total)
	}
	secret, err := shamir.Combine(parts)
	var ce *shamir.CorruptError
	switch {
	case errors.As(err, &ce) && len(ce.Bad) > 0:
		return nil, fmt.Errorf("%w: share %s does not recombine with the others", ErrAltered, listInts(ce.Bad))
	case errors.Is(err, shamir.ErrCorrupt):
		return nil, fmt.Errorf("%w: the shares do not recombine (one of them was altered)", ErrAltered)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrAltered, err)
	}
	return secret, nil
}

func listInts(b []byte) string {
	s := make([]string, len(b))
	for i, x := range b {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ", ")
}

// oneLine keeps the first line of an error text from a library, bounded.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return clip(s)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// IsShareFile reports whether file starts like a share file (it may still
// be malformed).
func IsShareFile(file []byte) bool { return bytes.HasPrefix(file, []byte(magic)) }
