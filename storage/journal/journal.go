// Package journal is qapprove's signed, tamper-evident audit journal.
//
// The journal is a file of JSON lines, one writer at a time (journal.lock).
// Every line carries the SHA-256 of the exact bytes of the line before it;
// line 1 is a signed genesis naming a random journal ID and the approver's
// BLS public key. Decisions, unlocks and checkpoints are signed with that
// key over a domain-separated digest of (journal ID, seq, prev, body hash,
// kind, time), so every signature seals the whole history before it.
// Unsigned events (failed unlocks, locks, outcomes while locked, recovery)
// are sealed by the next signature. After each fsync the anchor
// {journal_id, seq, head} is saved outside the file, so truncation and
// rollback are caught. See docs/JOURNAL.md for the format and threat model.
package journal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
)

// Options configures Open and Create.
type Options struct {
	// Anchors stores the anchor after every append; nil disables rollback
	// protection (tests only).
	Anchors AnchorStore
	// ExpectedPublicKey, when set, must equal the genesis public key.
	ExpectedPublicKey *qbls.PublicKey
	// Profile is written into the genesis by Create.
	Profile string
	// Now replaces time.Now (tests).
	Now func() time.Time
	// OnEntry, when set, is called by Open for every intact line in order,
	// with its kind and body (the body aliases a buffer: copy what is
	// kept), so a caller can index the history in the same pass.
	OnEntry func(kind Kind, body []byte)
	// OnEntryAt is OnEntry with the line's time (ts), for indexes by time.
	OnEntryAt func(kind Kind, ts time.Time, body []byte)
}

// entryHook adapts OnEntry and OnEntryAt to what Verify calls.
func (o Options) entryHook() func(kind Kind, ts, body []byte) {
	if o.OnEntry == nil && o.OnEntryAt == nil {
		return nil
	}
	return func(kind Kind, ts, body []byte) {
		if o.OnEntry != nil {
			o.OnEntry(kind, body)
		}
		if o.OnEntryAt != nil {
			t, _ := time.Parse(time.RFC3339Nano, string(ts))
			o.OnEntryAt(kind, t, body)
		}
	}
}

// Journal is an open journal with its writer lock held.
type Journal struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	lock    *flock.Flock
	anchors AnchorStore
	now     func() time.Time
	jid     [16]byte
	pk      qbls.PublicKey
	seq     uint64   // seq of the last line
	head    [32]byte // hash of the last line
	size    int64    // bytes of complete lines
	lines   int
	broken  error // set when a failed write left the file in doubt

	stored  *Anchor        // the anchor found by Open; its MAC is checked by the first signed append
	sealed  Anchor         // the anchor's sealed part (SealedSeq, SealedHead, MAC), kept across unsigned appends
	key     *[32]byte      // the anchor MAC key, derived by the first signed append
	keyErr  error          // the stored anchor failed its MAC check: signed appends are refused
	pending *AcceptedLines // the unsigned tail found by Open, accepted by the first signed append
}

// Recovery tells what Open repaired.
type Recovery struct {
	Cut      TornTail       // the bytes cut from the end (zero when none)
	Entry    Entry          // the (first) recovery entry appended
	Accepted *AcceptedLines // unsigned lines beyond the anchor, accepted (nil when none)
}

// ErrInUse is returned (wrapped) when another process holds the journal.
var ErrInUse = errors.New("journal is in use")

// ErrAnchorNotSaved is returned (wrapped) with a durable entry when the
// anchor could not be saved; callers must not send the decision.
var ErrAnchorNotSaved = errors.New("journal anchor not saved")

// LockPath is the lock file that guards the journal at path.
func LockPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".lock"
}

// lockJournal takes the writer lock and writes our PID into it.
func lockJournal(path string) (*flock.Flock, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { //nolint:gosec // G302: a directory needs its x bit; 0o700 is owner-only
		return nil, fmt.Errorf("journal folder: %w", err)
	}
	lp := LockPath(path)
	fl := flock.New(lp, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock journal: %w", err)
	}
	if !ok {
		pid := "another process"
		if b, err := storage.ReadFileBounded(lp, 31); err == nil { // 32 bytes at most
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
				pid = "PID " + strconv.Itoa(n)
			}
		}
		return nil, fmt.Errorf("%w by %s (%s)", ErrInUse, pid, lp)
	}
	if err := os.WriteFile(lp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("lock journal: %w", err)
	}
	return fl, nil
}

// Create writes a new journal at path with a genesis signed by s. It fails
// when a journal already exists there.
func Create(path string, s Signer, opts Options) (*Journal, error) {
	fl, err := lockJournal(path)
	if err != nil {
		return nil, err
	}
	j, err := create(path, s, opts, fl)
	if err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return j, nil
}

func create(path string, s Signer, opts Options, fl *flock.Flock) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("a journal already exists at %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	j := &Journal{path: path, f: f, lock: fl, anchors: opts.Anchors, now: opts.Now, pk: s.PublicKey()}
	if j.now == nil {
		j.now = time.Now
	}
	if _, err := rand.Read(j.jid[:]); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	now := j.now()
	g := GenesisBody{JournalID: hex.EncodeToString(j.jid[:]), PublicKey: hex.EncodeToString(j.pk[:]),
		Profile: opts.Profile, Created: now.UTC().Format(time.RFC3339)}
	if _, err := j.append(KindGenesis, g, s, true); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	storage.SyncDir(filepath.Dir(path))
	return j, nil
}

// Open takes the writer lock, checks the journal (chain, genesis, the last
// signature, the expected key and the anchor), cuts a torn tail beyond the
// anchor and journals the cut. A tampered journal gives a *TamperError.
func Open(path string, opts Options) (*Journal, *Recovery, error) {
	fl, err := lockJournal(path)
	if err != nil {
		return nil, nil, err
	}
	j, rec, err := open(path, opts, fl)
	if err != nil {
		_ = fl.Unlock()
		return nil, nil, err
	}
	return j, rec, nil
}

func open(path string, opts Options, fl *flock.Flock) (*Journal, *Recovery, error) {
	var anchor *Anchor
	if opts.Anchors != nil {
		a, err := opts.Anchors.Load()
		if err != nil {
			return nil, nil, err
		}
		anchor = a
	}
	rep, err := Verify(path, VerifyOptions{Anchor: anchor, ExpectedPublicKey: opts.ExpectedPublicKey, onEntry: opts.entryHook(),
		sealOnly: true, RequireAnchor: opts.Anchors != nil})
	if err != nil {
		return nil, nil, err
	}
	if rep.Problem != nil {
		return nil, nil, rep.Problem
	}
	j, err := fromReport(path, rep, opts, fl)
	if err != nil {
		return nil, nil, err
	}
	j.stored = anchor
	if anchor != nil {
		j.sealed = Anchor{SealedSeq: anchor.SealedSeq, SealedHead: anchor.SealedHead, MAC: anchor.MAC}
	}
	rec, err := j.repair(rep, anchor)
	if err != nil {
		_ = j.f.Close()
		return nil, nil, err
	}
	return j, rec, nil
}

// fromReport opens the verified journal file for appending.
func fromReport(path string, rep *Report, opts Options, fl *flock.Flock) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{path: path, f: f, lock: fl, anchors: opts.Anchors, now: opts.Now,
		jid: rep.jid, pk: rep.pk, seq: rep.LastSeq, head: rep.head, size: rep.Bytes, lines: int(rep.Entries)} //nolint:gosec // G115: Entries counts lines Verify read, each at least one byte of a file in memory
	if j.now == nil {
		j.now = time.Now
	}
	if rep.Unsealed > 0 {
		j.pending = &AcceptedLines{FromSeq: rep.unsealedSeq, ToSeq: rep.LastSeq, Head: hex.EncodeToString(rep.head[:]), Why: AcceptedUnsealed}
	}
	return j, nil
}

// repair cuts a torn tail (journaled), journals unsigned lines beyond the
// anchor as an unsigned recovery, and moves the anchor up to the file.
func (j *Journal) repair(rep *Report, anchor *Anchor) (*Recovery, error) {
	var rec *Recovery
	if t := rep.TornTail; t != nil {
		if err := j.f.Truncate(t.Offset); err != nil {
			return nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
		if err := j.f.Sync(); err != nil {
			return nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
		e, err := j.append(KindRecovery, RecoveryBody{Offset: t.Offset, Length: t.Length, SHA256: t.SHA256}, nil, false)
		if err != nil {
			return nil, err
		}
		rec = &Recovery{Cut: *t, Entry: e}
	}
	if anchor != nil && rep.Unsealed > 0 && anchor.Seq < rep.LastSeq {
		from := max(anchor.Seq+1, rep.unsealedSeq)
		acc := &AcceptedLines{FromSeq: from, ToSeq: rep.LastSeq, Head: hex.EncodeToString(rep.head[:]), Why: AcceptedBeyondAnchor}
		e, err := j.append(KindRecovery, RecoveryBody{Accepts: acc}, nil, false)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			rec = &Recovery{Entry: e}
		}
		rec.Accepted = acc
		return rec, nil
	}
	if rec == nil && (anchor == nil || anchor.Seq < j.seq) {
		if err := j.saveAnchor(false); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// Reanchor replaces the stored anchor of the journal at path: the only
// way to re-anchor a journal whose anchor is missing, forged or behind.
// The journal must verify in full (chain and every signature) without
// the old anchor; a signed re-anchored entry then names the previous
// anchor, what checking against it found, and why. s must be the
// journal's key (unlocked); opts.Anchors is required.
func Reanchor(path string, s Signer, opts Options, why string) (Entry, error) {
	if opts.Anchors == nil || s == nil {
		return Entry{}, errors.New("re-anchoring needs the anchor store and the unlocked key")
	}
	if strings.TrimSpace(why) == "" {
		return Entry{}, errors.New("re-anchoring needs a reason")
	}
	fl, err := lockJournal(path)
	if err != nil {
		return Entry{}, err
	}
	j, body, err := reanchorOpen(path, s, opts, why, fl)
	if err != nil {
		_ = fl.Unlock()
		return Entry{}, err
	}
	e, err := j.AppendSigned(KindReanchored, body, s)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	return e, err
}

func reanchorOpen(path string, s Signer, opts Options, why string, fl *flock.Flock) (*Journal, ReanchoredBody, error) {
	body := ReanchoredBody{Why: why}
	prev, err := opts.Anchors.Load()
	if err != nil {
		prev, body.Problem = nil, "unreadable anchor"
	}
	body.Previous = prev
	old, err := Verify(path, VerifyOptions{Anchor: prev, ExpectedPublicKey: opts.ExpectedPublicKey, RequireAnchor: true, Signer: s, sealOnly: true})
	if err != nil {
		return nil, body, err
	}
	if p := old.Problem; p != nil && body.Problem == "" {
		body.Problem = string(p.Reason)
	}
	rep, err := Verify(path, VerifyOptions{ExpectedPublicKey: opts.ExpectedPublicKey})
	if err != nil {
		return nil, body, err
	}
	if rep.Problem != nil {
		return nil, body, fmt.Errorf("not re-anchored: %w", rep.Problem)
	}
	if rep.TornTail != nil {
		return nil, body, errors.New("not re-anchored: the journal ends in an interrupted write; open it once (e.g. `qapprove pending`) to repair it")
	}
	if s.PublicKey() != rep.pk {
		return nil, body, errors.New("not re-anchored: the key is not the journal's key")
	}
	j, err := fromReport(path, rep, opts, fl)
	return j, body, err
}

// Append writes an unsigned event (failed unlock, lock, outcome while
// locked). It is sealed by the next signed entry.
func (j *Journal) Append(kind Kind, body any) (Entry, error) {
	if RequiresSignature(kind) {
		return Entry{}, fmt.Errorf("%s entries must be signed", kind)
	}
	return j.append(kind, body, nil, false)
}

// AppendSigned signs an entry with s and writes it. When it returns without
// error the entry is on disk (fsync'd) and anchored: only then may the
// caller send the decision it records.
func (j *Journal) AppendSigned(kind Kind, body any, s Signer) (Entry, error) {
	if kind == KindGenesis {
		return Entry{}, errors.New("only Create writes a genesis")
	}
	if s == nil {
		return Entry{}, errors.New("signed entry without a signer")
	}
	if d, ok := body.(DecisionBody); ok {
		if err := d.Validate(); err != nil {
			return Entry{}, err
		}
	}
	return j.append(kind, body, s, true)
}

// Checkpoint appends a signed checkpoint sealing every line before it; call
// it at every lock and before exit.
func (j *Journal) Checkpoint(s Signer, reason string) (Entry, error) {
	if s == nil {
		return Entry{}, errors.New("signed entry without a signer")
	}
	// The body names the lines before it: it is made under the same lock
	// as the append, so no other entry can come in between.
	return j.appendWith(KindCheckpoint, func() any {
		return CheckpointBody{Entries: uint64(j.lines), Head: hex.EncodeToString(j.head[:]), Reason: reason} //nolint:gosec // G115: a line count is never negative
	}, s, true)
}

func (j *Journal) append(kind Kind, body any, s Signer, sign bool) (Entry, error) {
	return j.appendWith(kind, func() any { return body }, s, sign)
}

// appendWith writes the entry whose body mk makes; mk runs with j.mu held.
func (j *Journal) appendWith(kind Kind, mk func() any, s Signer, sign bool) (Entry, error) {
	if !validKind(string(kind)) {
		return Entry{}, fmt.Errorf("invalid entry kind %q", kind)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return Entry{}, errors.New("journal is closed")
	}
	if j.broken != nil {
		return Entry{}, fmt.Errorf("journal is unusable after an earlier write error: %w", j.broken)
	}
	if sign {
		if s.PublicKey() != j.pk {
			return Entry{}, errors.New("the signer's key is not the journal's key")
		}
		if err := j.unlockAnchor(s); err != nil {
			return Entry{}, err
		}
	}
	b, err := json.Marshal(mk())
	if err != nil {
		return Entry{}, fmt.Errorf("encode %s body: %w", kind, err)
	}
	if len(b) < 2 || b[0] != '{' {
		return Entry{}, fmt.Errorf("%s body must be a JSON object", kind)
	}
	return j.write(kind, b, s, sign)
}

// unlockAnchor runs at the first signed append: it derives the anchor key,
// checks the MAC of the anchor Open found (a failure refuses every signed
// append), and accepts the unsigned tail Open found with a signed
// recovery naming it.
func (j *Journal) unlockAnchor(s Signer) error {
	if j.keyErr != nil {
		return j.keyErr
	}
	if j.key != nil {
		return nil
	}
	k := [32]byte{}
	if j.anchors != nil {
		var err error
		if k, err = AnchorKey(s, j.jid); err != nil {
			return err
		}
		if a := j.stored; a != nil && !a.checkMAC(k) {
			te := errAnchorMAC(a)
			te.Line = j.lines
			j.keyErr = te
			return te
		}
	}
	j.key = &k
	if p := j.pending; p != nil {
		j.pending = nil
		b, err := json.Marshal(RecoveryBody{Accepts: p})
		if err != nil {
			return err
		}
		if _, err := j.write(KindRecovery, b, s, true); err != nil {
			return err
		}
	}
	return nil
}

// write appends one line with body b (signed when sign) and saves the
// anchor; j.mu is held.
func (j *Journal) write(kind Kind, b []byte, s Signer, sign bool) (Entry, error) {
	var seq uint64
	var prev [32]byte
	if j.lines > 0 {
		seq, prev = j.seq+1, j.head
	}
	ts := formatTS(j.now())
	var sig *qbls.Signature
	if sign {
		d := digest(j.jid, seq, prev, sha256.Sum256(b), kind, []byte(ts))
		sg, err := s.Sign(d[:])
		if err != nil {
			return Entry{}, fmt.Errorf("sign %s entry: %w", kind, err)
		}
		sig = &sg
	}
	line := encodeLine(seq, ts, kind, prev, b, sig)
	if len(line) > MaxLineBytes {
		return Entry{}, fmt.Errorf("%s entry is larger than %d bytes", kind, MaxLineBytes)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		// Undo a partial write so the file stays a valid chain.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = err
		}
		return Entry{}, fmt.Errorf("write journal: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		j.broken = err // after a failed fsync the page cache cannot be trusted
		return Entry{}, fmt.Errorf("sync journal: %w", err)
	}
	j.lines++
	j.seq, j.head = seq, sha256.Sum256(line)
	j.size += int64(len(line) + 1)
	t, _ := time.Parse(time.RFC3339Nano, ts)
	e := Entry{Line: j.lines, Seq: seq, TS: t, Kind: kind, Prev: hex.EncodeToString(prev[:]),
		Body: b, Hash: hex.EncodeToString(j.head[:])}
	if sig != nil {
		e.Sig = hex.EncodeToString(sig[:])
	}
	if err := j.saveAnchor(sign); err != nil {
		return e, err
	}
	return e, nil
}

// saveAnchor stores the anchor for the current head; after a signed
// append (signed) its sealed part moves too, with a new MAC.
func (j *Journal) saveAnchor(signed bool) error {
	if j.anchors == nil {
		return nil
	}
	head := hex.EncodeToString(j.head[:])
	if signed && j.key != nil {
		j.sealed = Anchor{SealedSeq: j.seq, SealedHead: head, MAC: anchorMAC(*j.key, j.jid, j.seq, j.head)}
	}
	a := Anchor{JournalID: hex.EncodeToString(j.jid[:]), Seq: j.seq, Head: head,
		SealedSeq: j.sealed.SealedSeq, SealedHead: j.sealed.SealedHead, MAC: j.sealed.MAC}
	if err := j.anchors.Save(a); err != nil {
		return fmt.Errorf("%w: %v", ErrAnchorNotSaved, err)
	}
	return nil
}

// State is a snapshot of the journal's position.
type State struct {
	JournalID string
	PublicKey qbls.PublicKey
	Seq       uint64 // seq of the last line
	Head      string // hash of the last line
	Entries   int
}

// State returns where the journal stands.
func (j *Journal) State() State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return State{JournalID: hex.EncodeToString(j.jid[:]), PublicKey: j.pk, Seq: j.seq,
		Head: hex.EncodeToString(j.head[:]), Entries: j.lines}
}

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Close syncs and closes the file and releases the lock. Write a signed
// Checkpoint first when a signer is available.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	if j.key != nil {
		clear(j.key[:])
	}
	if uerr := j.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}
