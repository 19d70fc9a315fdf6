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
}

// Recovery tells what Open repaired.
type Recovery struct {
	Cut   TornTail // the bytes cut from the end
	Entry Entry    // the recovery entry appended
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
	rep, err := Verify(path, VerifyOptions{Anchor: anchor, ExpectedPublicKey: opts.ExpectedPublicKey, onEntry: opts.entryHook(), sealOnly: true})
	if err != nil {
		return nil, nil, err
	}
	if rep.Problem != nil {
		return nil, nil, rep.Problem
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{path: path, f: f, lock: fl, anchors: opts.Anchors, now: opts.Now,
		jid: rep.jid, pk: rep.pk, seq: rep.LastSeq, head: rep.head, size: rep.Bytes, lines: int(rep.Entries)} //nolint:gosec // G115: Entries counts lines Verify read, each at least one byte of a file in memory
	if j.now == nil {
		j.now = time.Now
	}
	var rec *Recovery
	if t := rep.TornTail; t != nil {
		if err := f.Truncate(t.Offset); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
		e, err := j.append(KindRecovery, RecoveryBody{Offset: t.Offset, Length: t.Length, SHA256: t.SHA256}, nil, false)
		if err != nil {
			_ = f.Close()
			return nil, nil, err
		}
		rec = &Recovery{Cut: *t, Entry: e}
	} else if anchor == nil || anchor.Seq < j.seq {
		if err := j.saveAnchor(); err != nil {
			_ = f.Close()
			return nil, nil, err
		}
	}
	return j, rec, nil
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
	b, err := json.Marshal(mk())
	if err != nil {
		return Entry{}, fmt.Errorf("encode %s body: %w", kind, err)
	}
	if len(b) < 2 || b[0] != '{' {
		return Entry{}, fmt.Errorf("%s body must be a JSON object", kind)
	}
	var seq uint64
	var prev [32]byte
	if j.lines > 0 {
		seq, prev = j.seq+1, j.head
	}
	ts := formatTS(j.now())
	var sig *qbls.Signature
	if sign {
		if s.PublicKey() != j.pk {
			return Entry{}, errors.New("the signer's key is not the journal's key")
		}
		d := digest(j.jid, seq, prev, sha256.Sum256(b), kind, ts)
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
	if err := j.saveAnchor(); err != nil {
		return e, err
	}
	return e, nil
}

func (j *Journal) saveAnchor() error {
	if j.anchors == nil {
		return nil
	}
	a := Anchor{JournalID: hex.EncodeToString(j.jid[:]), Seq: j.seq, Head: hex.EncodeToString(j.head[:])}
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
	if uerr := j.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}
