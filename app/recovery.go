package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/shares"
)

// DrillInterval is how old the last passed backup drill may grow before
// `keys show` warns.
const DrillInterval = 90 * 24 * time.Hour

// ErrDrillFailed is wrapped by Drill.Run and Drill.Fail when the drill ran
// and failed (the failure is journaled).
var ErrDrillFailed = errors.New("backup drill failed")

// ShareExport splits the profile's encrypted backup among custodians.
type ShareExport struct {
	Backend    secrets.Backend
	Profile    string
	Dir        string // the share files go here (created 0700 when missing)
	Threshold  int
	Custodians []shares.Custodian // share i is for Custodians[i-1]
	Force      bool               // replace existing share files
	Now        func() time.Time   // nil: time.Now
}

// ShareFileName is the name of share i of n of profile.
func ShareFileName(profile string, i, n int) string {
	return fmt.Sprintf("qapprove-%s-share-%d-of-%d.txt", profile, i, n)
}

// ExportShares splits the stored bundle (still sealed under its
// passphrase) into one share file per custodian, each 0600 in x.Dir, and
// returns their paths and headers. Without Force it refuses when any of
// the files exists; when a write fails, the files it wrote are removed.
func ExportShares(x ShareExport) ([]string, []shares.Header, error) {
	if x.Dir == "" {
		return nil, nil, errors.New("name a folder for the share files")
	}
	b, err := secrets.LoadBundle(x.Backend, x.Profile)
	if err != nil {
		return nil, nil, err
	}
	data, err := b.Marshal()
	if err != nil {
		return nil, nil, err
	}
	pk, err := b.BLSPublic()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	files, heads, err := shares.Split(data, x.Threshold, qbls.Fingerprint(pk), x.Custodians, now())
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(x.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot create %s: %w", x.Dir, err)
	}
	paths := make([]string, len(files))
	for i := range files {
		paths[i] = filepath.Join(x.Dir, ShareFileName(x.Profile, i+1, len(files)))
		if _, err := os.Lstat(paths[i]); err == nil && !x.Force {
			return nil, nil, fmt.Errorf("%s already exists: choose another folder (or --force)", paths[i])
		}
	}
	for i, f := range files {
		if err := writeNew(paths[i], f, x.Force, "share file"); err != nil {
			for _, p := range paths[:i] {
				_ = os.Remove(p) // best effort: a partial set is useless
			}
			return nil, nil, err
		}
	}
	return paths, heads, nil
}

// ShareFile is a share file read from disk, with the identities that may
// open it (age X25519 identities, or an *age.ScryptIdentity for a
// passphrase share).
type ShareFile struct {
	Name       string
	Data       []byte
	Identities []age.Identity
}

// ShareHeaders reads the clear headers of files and checks, before any
// decryption, that they are of one set, each index once, and enough.
func ShareHeaders(files []ShareFile) ([]shares.Header, error) {
	heads := make([]shares.Header, len(files))
	for i, f := range files {
		h, err := shares.ParseHeader(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		heads[i] = h
	}
	if len(heads) == 0 {
		return nil, fmt.Errorf("%w: none given", shares.ErrTooFew)
	}
	first := heads[0]
	seen := map[int]string{}
	for i, h := range heads {
		if h.Set != first.Set || h.Threshold != first.Threshold || h.Total != first.Total || h.Fingerprint != first.Fingerprint {
			return nil, fmt.Errorf("%w: %s is of set %s (key %s), %s of set %s (key %s)",
				shares.ErrDifferentSets, files[0].Name, first.Set, first.Fingerprint, files[i].Name, h.Set, h.Fingerprint)
		}
		if other, ok := seen[h.Index]; ok {
			return nil, fmt.Errorf("%w: %s and %s are both share %d", shares.ErrDuplicate, other, files[i].Name, h.Index)
		}
		seen[h.Index] = files[i].Name
	}
	if len(heads) < first.Threshold {
		return nil, fmt.Errorf("%w: %d given, any %d of the %d shares of set %s are needed",
			shares.ErrTooFew, len(heads), first.Threshold, first.Total, first.Set)
	}
	return heads, nil
}

// RecombineShares opens each share file with its identities and
// recombines the backup they hold (the bundle, still sealed under its
// passphrase). The header returned is the set's.
func RecombineShares(files []ShareFile) ([]byte, shares.Header, error) {
	heads, err := ShareHeaders(files)
	if err != nil {
		return nil, shares.Header{}, err
	}
	opened := make([]*shares.Share, 0, len(files))
	defer func() {
		for _, s := range opened {
			s.Zero()
		}
	}()
	for _, f := range files {
		s, err := shares.Open(f.Data, f.Identities)
		if errors.Is(err, shares.ErrWrongIdentity) {
			return nil, shares.Header{}, fmt.Errorf("%s: %w (it is sealed for %s)", f.Name, err, heads[len(opened)].SealedFor)
		}
		if err != nil {
			return nil, shares.Header{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		opened = append(opened, s)
	}
	data, err := shares.Combine(opened)
	if err != nil {
		return nil, shares.Header{}, err
	}
	return data, heads[0], nil
}

// Drill restores a backup in memory only, checks it against the
// profile's keys and journals the result. It reads the profile's public
// keys from the keystore and writes nothing there but the journal anchor
// every append updates.
type Drill struct {
	Paths   storage.Paths
	Backend secrets.Backend
	Profile string
	KDF     secrets.KDF
	Now     func() time.Time // nil: time.Now
	// Unwrap opens the KMS or PKCS#11 wrap of a wrapped backup (nil: a
	// wrapped backup fails the drill). It returns the passphrase-sealed
	// bundle inside.
	Unwrap func(*secrets.Bundle) (*secrets.Bundle, error)
}

// DrillSource is what a drill restored from.
type DrillSource struct {
	Shares bool          // false: a backup file
	Set    shares.Header // the share set (when Shares)
	Count  int           // share files given
}

func (s DrillSource) body(result, reason, fingerprint string) journal.BackupDrillBody {
	b := journal.BackupDrillBody{Result: result, Source: "backup", Fingerprint: fingerprint, Reason: reason}
	if s.Shares {
		b.Source, b.Set, b.Shares, b.Threshold, b.Total = "shares", s.Set.Set, s.Count, s.Set.Threshold, s.Set.Total
	}
	return b
}

// Run opens backup (a bundle as `keys export` writes it) with passphrase
// in memory, checks that its BLS and EC public keys are the profile's,
// wipes it and journals the result: passed (signed by the restored key)
// or failed (unsigned, with the reason). A failed drill returns an error
// wrapping ErrDrillFailed; other errors mean it could not run or be
// journaled. It returns the restored key's fingerprint.
func (d Drill) Run(backup []byte, src DrillSource, passphrase []byte) (string, error) {
	pk, j, err := d.open()
	if err != nil {
		return "", err
	}
	defer j.Close()
	fail := func(reason, fp string) (string, error) {
		if _, err := j.Append(journal.KindBackupDrill, src.body(journal.DrillFailed, reason, fp)); err != nil {
			return fp, fmt.Errorf("%w: %s; and it could not be journaled: %v", ErrDrillFailed, reason, err)
		}
		return fp, fmt.Errorf("%w: %s", ErrDrillFailed, reason)
	}
	b, err := secrets.ParseBundle(bytes.TrimSpace(backup))
	if err != nil {
		return fail("the backup is not a qapprove key bundle", "")
	}
	bpk, err := b.BLSPublic()
	if err != nil {
		return fail("the backup's public key is unreadable", "")
	}
	fp := qbls.Fingerprint(bpk)
	if bpk != pk.bls || b.ECPublicKey != pk.ec {
		return fail(fmt.Sprintf("the backup holds another key (%s), not the profile's (%s)", fp, qbls.Fingerprint(pk.bls)), fp)
	}
	if b.Wrapped() {
		if d.Unwrap == nil {
			return fail("the backup is wrapped ("+b.DescribeWrap()+") and this drill cannot open wraps", fp)
		}
		inner, err := d.Unwrap(b)
		if err != nil {
			return fail("the backup's wrap did not open: "+err.Error(), fp)
		}
		b = inner
	}
	s, err := d.KDF.Open(b, passphrase)
	switch {
	case errors.Is(err, secrets.ErrWrongPassphrase):
		return fail("the passphrase does not open the backup", fp)
	case err != nil:
		return fail("the backup cannot be opened: "+err.Error(), fp)
	}
	defer s.Zero()
	_, err = j.AppendSigned(journal.KindBackupDrill, src.body(journal.DrillPassed, "", fp), &KeySigner{Key: &s.BLS})
	if err != nil {
		return fp, fmt.Errorf("the drill passed but could not be journaled: %w", err)
	}
	return fp, nil
}

// Fail journals a drill that failed before a backup was at hand (share
// files that do not open or recombine) and returns an error wrapping
// ErrDrillFailed and cause.
func (d Drill) Fail(src DrillSource, cause error) error {
	_, j, err := d.open()
	if err != nil {
		return fmt.Errorf("%w: %w; and it could not be journaled: %v", ErrDrillFailed, cause, err)
	}
	defer j.Close()
	if _, err := j.Append(journal.KindBackupDrill, src.body(journal.DrillFailed, cause.Error(), "")); err != nil {
		return fmt.Errorf("%w: %w; and it could not be journaled: %v", ErrDrillFailed, cause, err)
	}
	return fmt.Errorf("%w: %w", ErrDrillFailed, cause)
}

type profileKeys struct {
	bls qbls.PublicKey
	ec  string // hex, as the bundle stores it
}

// open reads the profile's public keys and opens its journal.
func (d Drill) open() (profileKeys, *journal.Journal, error) {
	b, err := secrets.LoadBundle(d.Backend, d.Profile)
	if err != nil {
		return profileKeys{}, nil, fmt.Errorf("the drill checks a backup against the profile's key: %w", err)
	}
	pk, err := b.BLSPublic()
	if err != nil {
		return profileKeys{}, nil, err
	}
	path := d.Paths.JournalFile(d.Profile)
	if _, err := os.Stat(path); err != nil {
		return profileKeys{}, nil, fmt.Errorf("profile %s has no audit journal to record the drill (%s)", d.Profile, path)
	}
	j, _, err := journal.Open(path, journal.Options{Anchors: Anchors(d.Backend, d.Profile), ExpectedPublicKey: &pk,
		Profile: d.Profile, Now: d.Now})
	if err != nil {
		return profileKeys{}, nil, fmt.Errorf("audit journal: %w", err)
	}
	return profileKeys{bls: pk, ec: b.ECPublicKey}, j, nil
}

// DrillStatus is what `keys show` says about backup drills.
type DrillStatus struct {
	Last       time.Time // the last drill, passed or failed (zero: never)
	LastResult string    // journal.DrillPassed or journal.DrillFailed
	LastPassed time.Time // the last passed drill (zero: never)
}

// Overdue reports whether a drill is due at now: the last passed drill is
// older than DrillInterval or, with none, the key was created longer ago
// than that.
func (s DrillStatus) Overdue(keyCreated, now time.Time) bool {
	since := s.LastPassed
	if since.IsZero() {
		since = keyCreated
	}
	return now.Sub(since) > DrillInterval
}
