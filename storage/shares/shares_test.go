package shares

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const fp = "1a2b:3c4d:5e6f:7a8b"

var secret = []byte(`{"version":1,"crypto":"a sealed key backup"}`)

// custodians makes n X25519 custodians and their identities.
func custodians(t testing.TB, n int) ([]Custodian, []*age.X25519Identity) {
	t.Helper()
	var cs []Custodian
	var ids []*age.X25519Identity
	for range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		c, err := X25519(id.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		cs, ids = append(cs, c), append(ids, id)
	}
	return cs, ids
}

func split(t *testing.T, n, k int) ([][]byte, []*age.X25519Identity) {
	t.Helper()
	cs, ids := custodians(t, n)
	files, heads, err := Split(secret, k, fp, cs, time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range heads {
		if h.Index != i+1 || h.Threshold != k || h.Total != n || h.SealedFor != ids[i].Recipient().String() {
			t.Fatalf("header %d = %+v", i, h)
		}
	}
	return files, ids
}

func open(t *testing.T, file []byte, ids ...age.Identity) *Share {
	t.Helper()
	s, err := Open(file, ids)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClearHeaderNamesTheShareAndNothingSecret(t *testing.T) {
	files, ids := split(t, 5, 3)
	text := string(files[1])
	for _, want := range []string{"qapprove key share v1\n", "share:       2 of 5\n", "threshold:   3\n",
		"fingerprint: " + fp + "\n", "sealed-for:  " + ids[1].Recipient().String() + "\n", "-----BEGIN AGE ENCRYPTED FILE-----"} {
		if !strings.Contains(text, want) {
			t.Errorf("share file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "sealed key backup") {
		t.Error("the secret is in clear")
	}
	h, err := ParseHeader(files[1])
	if err != nil || h.Index != 2 || h.Total != 5 || h.Threshold != 3 || h.Fingerprint != fp {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
}

func TestEveryThreeOfFive(t *testing.T) {
	files, ids := split(t, 5, 3)
	opened := make([]*Share, 5)
	for i := range files {
		opened[i] = open(t, files[i], ids[i]) // each custodian opens their own
	}
	n := 0
	for a := range 5 {
		for b := a + 1; b < 5; b++ {
			for c := b + 1; c < 5; c++ {
				got, err := Combine([]*Share{opened[c], opened[a], opened[b]})
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("shares %d,%d,%d: %v", a+1, b+1, c+1, err)
				}
				n++
			}
		}
	}
	if n != 10 {
		t.Fatalf("%d subsets", n)
	}
}

func TestRefusals(t *testing.T) {
	files, ids := split(t, 5, 3)
	other, oids := split(t, 5, 3)
	s := func(i int) *Share { return open(t, files[i], ids[i]) }
	if _, err := Combine([]*Share{s(0), s(1)}); !errors.Is(err, ErrTooFew) || !strings.Contains(err.Error(), "2 given, 3 of the 5 needed") {
		t.Errorf("too few: %v", err)
	}
	if _, err := Combine([]*Share{s(0), s(1), open(t, other[2], oids[2])}); !errors.Is(err, ErrDifferentSets) {
		t.Errorf("different sets: %v", err)
	}
	if _, err := Combine([]*Share{s(0), s(1), s(1)}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := Open(files[0], []age.Identity{ids[1]}); !errors.Is(err, ErrWrongIdentity) {
		t.Errorf("wrong identity: %v", err)
	}
	if _, err := Open([]byte("hello\n\nworld"), nil); !errors.Is(err, ErrFormat) {
		t.Errorf("not a share: %v", err)
	}
}

func TestTamperedShares(t *testing.T) {
	files, ids := split(t, 5, 3)
	// The clear header changed: refused on open.
	edited := bytes.Replace(files[0], []byte("share:       1 of 5"), []byte("share:       4 of 5"), 1)
	if _, err := Open(edited, []age.Identity{ids[0]}); !errors.Is(err, ErrAltered) {
		t.Errorf("edited header: %v", err)
	}
	// A byte of the armored ciphertext changed: age's authentication.
	i := bytes.Index(files[0], []byte("-----END"))
	flipped := bytes.Clone(files[0])
	flipped[i-10] ^= 0x01
	if _, err := Open(flipped, []age.Identity{ids[0]}); err == nil {
		t.Error("a flipped ciphertext byte was accepted")
	}
	// A custodian who re-encrypts an altered share keeps the header: the
	// shamir tag refuses it, and with more than K shares names it.
	sh := []*Share{open(t, files[0], ids[0]), open(t, files[1], ids[1]), open(t, files[2], ids[2]), open(t, files[3], ids[3])}
	sh[1].value[3] ^= 0x40
	if _, err := Combine(sh[:3]); !errors.Is(err, ErrAltered) {
		t.Errorf("altered share among K: %v", err)
	}
	if _, err := Combine(sh); !errors.Is(err, ErrAltered) || !strings.Contains(err.Error(), "share 2 does not recombine") {
		t.Errorf("altered share among K+1: %v", err)
	}
}

func TestPassphraseShares(t *testing.T) {
	var cs []Custodian
	for _, p := range []string{"first custodian pass", "second custodian pass", "third custodian pass"} {
		c, err := Passphrase(p, 2)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	files, _, err := Split(secret, 2, fp, cs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(files[0]), "sealed-for:  passphrase\n") {
		t.Fatalf("header: %s", files[0])
	}
	id := func(p string) age.Identity {
		i, err := PassphraseIdentity(p)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	if _, err := Open(files[0], []age.Identity{id("second custodian pass")}); !errors.Is(err, ErrWrongIdentity) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	a := open(t, files[0], id("first custodian pass"))
	b := open(t, files[2], id("nope"), id("third custodian pass"))
	if got, err := Combine([]*Share{a, b}); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("passphrase shares: %v", err)
	}
	if _, err := Passphrase("", 0); err == nil {
		t.Error("empty passphrase accepted")
	}
}

func TestSplitRefusals(t *testing.T) {
	cs, _ := custodians(t, 3)
	if _, _, err := Split(secret, 4, fp, cs, time.Now()); err == nil {
		t.Error("K > N accepted")
	}
	if _, _, err := Split(make([]byte, MaxSecret+1), 2, fp, cs, time.Now()); err == nil {
		t.Error("an oversized secret accepted")
	}
	if _, _, err := Split(secret, 2, "not a fingerprint", cs, time.Now()); err == nil {
		t.Error("a bad fingerprint accepted")
	}
	if _, err := X25519("age1notakey"); err == nil {
		t.Error("a bad recipient accepted")
	}
}

func TestCRLFShareOpens(t *testing.T) {
	files, ids := split(t, 2, 2)
	crlf := bytes.ReplaceAll(files[0], []byte("\n"), []byte("\r\n"))
	open(t, crlf, ids[0])
}

func FuzzParseHeader(f *testing.F) {
	cs, _ := custodians(f, 2)
	files, _, _ := Split(secret, 2, fp, cs, time.Now())
	f.Add(files[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err == nil {
			if err := h.validate(); err != nil {
				t.Fatalf("ParseHeader accepted an invalid header: %v", err)
			}
		}
	})
}

// TestHostileWorkFactorRefused: a passphrase share whose age stanza asks
// for more scrypt work than MaxWorkFactor is refused before scrypt runs.
func TestHostileWorkFactorRefused(t *testing.T) {
	c, err := Passphrase("custodian pass", 10)
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := Split(secret, 2, fp, []Custodian{c, c}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the stanza's work factor from 10 to 30 (the header MAC no
	// longer matches, but the cap is checked first).
	head, body, _ := bytes.Cut(files[0], []byte("\n\n"))
	raw, err := io.ReadAll(armor.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := bytes.Cut(raw[bytes.Index(raw, []byte("-> scrypt ")):], []byte("\n"))
	if !bytes.HasSuffix(line, []byte(" 10")) {
		t.Fatalf("unexpected stanza %q", line)
	}
	raw = bytes.Replace(raw, line, append(bytes.TrimSuffix(line, []byte("10")), "30"...), 1)
	var out bytes.Buffer
	out.Write(head)
	out.WriteString("\n\n")
	w := armor.NewWriter(&out)
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	id, _ := PassphraseIdentity("custodian pass")
	if _, err := Open(out.Bytes(), []age.Identity{id}); err == nil || !strings.Contains(err.Error(), "work factor") {
		t.Fatalf("a share over the work-factor cap: %v", err)
	}
	if _, err := Passphrase("custodian pass", MaxWorkFactor+1); err == nil {
		t.Error("sealing over the cap accepted")
	}
}
