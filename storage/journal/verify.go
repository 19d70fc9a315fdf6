package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// Reason is one word naming what is wrong with a journal.
type Reason string

// Reasons reported by Verify and Open.
const (
	Modified     Reason = "modified"      // a line's bytes changed
	Deleted      Reason = "deleted"       // lines are missing in the middle (or the genesis)
	Reordered    Reason = "reordered"     // genuine lines are out of order
	Inserted     Reason = "inserted"      // a line that is not part of the chain
	Truncated    Reason = "truncated"     // the file ends before the anchor
	RolledBack   Reason = "rolled back"   // the line at the anchor differs, or another journal
	BadSignature Reason = "bad signature" // a signature does not verify (or is missing)
	ForeignKey   Reason = "foreign key"   // the genesis key is not the expected key
	Corrupt      Reason = "corrupt"       // a line cannot be parsed
	Unanchored   Reason = "unanchored"    // lines past the genesis but no anchor stored
	ForgedAnchor Reason = "forged anchor" // the anchor's MAC does not verify, or it has none
	Unsealed     Reason = "unsealed"      // unsigned entries after the last signed one (verify without --allow-unsealed)
)

// TamperError names the first bad line of a journal.
type TamperError struct {
	Line   int    `json:"line"`   // 1-based line number
	Seq    int64  `json:"seq"`    // seq of that line, -1 when unknown
	Reason Reason `json:"reason"` // one word
	Detail string `json:"detail"` // a sentence for humans
}

// seqOf is seq as a TamperError reports it: -1 (unknown) when a hostile
// line carries a seq beyond int64.
func seqOf(seq uint64) int64 {
	if seq > math.MaxInt64 {
		return -1
	}
	return int64(seq)
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("journal line %d: %s: %s", e.Line, e.Reason, e.Detail)
}

// Checkpoint locates the last checkpoint of a journal.
type Checkpoint struct {
	Line int       `json:"line"`
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
}

// TornTail describes bytes after the last newline: a write interrupted by a
// crash. Open cuts them (when they are beyond the anchor) and journals it.
type TornTail struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

// Report is the result of Verify.
type Report struct {
	Path             string      `json:"path"`
	Intact           bool        `json:"intact"`
	Entries          uint64      `json:"entries"`   // complete, valid lines checked
	Decisions        uint64      `json:"decisions"` // decision entries
	Signatures       uint64      `json:"signatures"`
	JournalID        string      `json:"journal_id,omitempty"`
	PublicKey        string      `json:"public_key,omitempty"`
	LastSeq          uint64      `json:"last_seq"`
	Head             string      `json:"head,omitempty"` // hash of the last line
	LastCheckpoint   *Checkpoint `json:"last_checkpoint,omitempty"`
	Unsealed         uint64      `json:"unsealed"` // entries after the last signed one
	FirstUnsealed    int         `json:"first_unsealed_line,omitempty"`
	AnchorMACChecked bool        `json:"anchor_mac_checked"` // the anchor's MAC was checked (VerifyOptions.Signer)
	// SkippedSignatures are signatures up to the VerifiedMark, not checked
	// again; MarkIgnored says why a mark given was not used.
	SkippedSignatures uint64        `json:"skipped_signatures,omitempty"`
	MarkIgnored       string        `json:"mark_ignored,omitempty"`
	Anchor            *Anchor       `json:"anchor,omitempty"`
	TornTail          *TornTail     `json:"torn_tail,omitempty"`
	Problem           *TamperError  `json:"problem,omitempty"`
	Bytes             int64         `json:"bytes"`              // size of the complete lines
	ChainDuration     time.Duration `json:"chain_duration"`     // wall clock: read, hash, parse, links, anchor
	SignatureDuration time.Duration `json:"signature_duration"` // wall clock until every signature was checked

	genesis       GenesisBody
	jid           [16]byte
	pk            qbls.PublicKey
	head          [32]byte
	unsealedSeq   uint64 // seq of the first unsealed line
	lastSignedSeq uint64
	full          bool // every signature was checked (or vouched for by a valid mark)
}

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// Anchor, when set, is the stored lower bound to check the file against.
	Anchor *Anchor
	// ExpectedPublicKey, when set, must equal the genesis public key.
	ExpectedPublicKey *qbls.PublicKey
	// Workers is the number of parsing and signature goroutines (0: GOMAXPROCS).
	Workers int
	// RequireAnchor makes a missing Anchor a problem (Unanchored) for a
	// journal with more than its genesis: Create saves the anchor before
	// any second line exists, so only deletion leaves none.
	RequireAnchor bool
	// Signer, when set (the key is unlocked), checks the Anchor's MAC.
	Signer Signer
	// Verified, when set and signed by the journal key, skips the signature
	// checks up to its seq (the chain is still checked in full); the line
	// at its seq must still hash to its head.
	Verified *VerifiedMark
	// Progress, when set, is called after each chunk of the file has been
	// checked, with the bytes done and the file size (from the goroutine
	// running Verify; keep it cheap).
	Progress func(done, total int64)

	sealOnly bool                             // Open: check only the genesis and last signatures
	onEntry  func(kind Kind, ts, body []byte) // Open: every accepted line, in order
	noSigs   bool                             // benchmarks: skip signatures entirely
	oneByOne bool                             // tests: check signatures one by one, never in a batch
}

// ErrNoJournal is returned (wrapped) when the journal file does not exist.
var ErrNoJournal = errors.New("no journal")

// Verify checks a journal file: format of every line, the hash chain,
// the genesis, every signature (in parallel, on a separate clock), the
// expected public key and the anchor. It streams the file, so memory does
// not grow with its size. A tampered journal gives a Report with Problem
// set and a nil error; the error is for files that cannot be read.
func Verify(path string, opts VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoJournal, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	c := newChecker(opts)
	c.rep.Path = path
	if !opts.sealOnly && !opts.noSigs {
		c.startSigWorkers()
	}
	var reader io.Reader = f
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
		if opts.Progress != nil {
			reader = &progressReader{r: f, total: size, fn: opts.Progress}
		}
	}
	var jid *[16]byte
	if !opts.sealOnly && !opts.noSigs {
		jid = peekJID(f)
	}
	err = scanFile(reader, size, opts.Workers, jid, c.visit)
	if err != nil && !errors.Is(err, errOverlong) {
		c.stopSigWorkers()
		return nil, fmt.Errorf("read journal: %w", err)
	}
	if errors.Is(err, errOverlong) && c.problem == nil {
		c.fail(c.line+1, -1, Corrupt, "line is longer than the 1 MiB limit")
	}
	c.finish()
	c.rep.ChainDuration = time.Since(start)
	c.stopSigWorkers()
	c.rep.SignatureDuration = time.Since(start)
	c.mergeProblems()
	c.rep.full = !opts.sealOnly && !opts.noSigs
	return &c.rep, nil
}

// histLen is how many accepted lines the checker remembers to explain a
// broken link; windowLen is how far it reads ahead after one.
const (
	histLen   = 8
	windowLen = 4096
)

// link is the chain view of one line.
type link struct {
	line   int
	seq    uint64
	prev   [32]byte
	hash   [32]byte
	signed bool
	digest [32]byte
	sig    [qbls.SignatureSize]byte
}

type checker struct {
	opts    VerifyOptions
	rep     Report
	line    int
	hist    []link // ring of the last accepted lines
	histPos int    // next slot of the ring
	window  []link // lines read after the first anomaly
	problem *TamperError
	// seal mode: the last signed line and what its digest needs
	lastSig     link
	hasLastSig  bool
	lastSigKind Kind
	lastSigTS   []byte
	lastSigBody []byte
	// anchorMismatch is the line at the anchor's seq when its hash differs;
	// whether that is a rollback or an edit depends on what follows.
	anchorMismatch *link
	// sealedMismatch is the line at the anchor's sealed seq when its hash
	// differs from the anchor's sealed head.
	sealedMismatch *link
	// mark is the valid VerifiedMark in use, markHead its head.
	mark     *VerifiedMark
	markHead [32]byte

	sigs     *batchQueue
	batch    []sigJob
	sigWG    sync.WaitGroup
	sigMu    sync.Mutex
	sigBad   *TamperError
	stopOnce sync.Once
}

type sigJob struct {
	line   int
	seq    uint64
	digest [32]byte
	sig    [qbls.SignatureSize]byte
}

func newChecker(opts VerifyOptions) *checker {
	c := &checker{opts: opts, rep: Report{Anchor: opts.Anchor}}
	return c
}

func (c *checker) fail(line int, seq int64, r Reason, format string, a ...any) {
	if c.problem == nil || line < c.problem.Line {
		c.problem = &TamperError{Line: line, Seq: seq, Reason: r, Detail: fmt.Sprintf(format, a...)}
	}
}

// visit receives every line in order; it returns false once the verdict is
// known.
func (c *checker) visit(r *lineRec) bool {
	if c.window != nil {
		if r.err != nil || r.torn {
			c.classify()
			return false
		}
		c.window = append(c.window, link{line: c.line + 1, seq: r.p.seq, prev: r.p.prev, hash: r.hash})
		c.line++
		if len(c.window) >= windowLen {
			c.classify()
			return false
		}
		return true
	}
	if r.torn {
		c.rep.TornTail = &TornTail{Offset: r.off, Length: int64(len(r.line)), SHA256: hex.EncodeToString(r.hash[:])}
		return false
	}
	c.line++
	ln := c.line
	if r.err != nil {
		c.fail(ln, -1, Corrupt, "%v", r.err)
		return false
	}
	p := &r.p
	l := link{line: ln, seq: p.seq, prev: p.prev, hash: r.hash, signed: p.hasSig, sig: p.sig}
	if ln == 1 {
		if !c.genesis(r, &l) {
			return false
		}
	} else {
		last := c.histAt(len(c.hist) - 1)
		if p.seq != last.seq+1 || p.prev != last.hash {
			if p.hasSig {
				l.digest = c.lineDigest(r)
			}
			c.window = append(c.window[:0:0], l)
			return true
		}
		if p.kind == KindGenesis {
			c.fail(ln, seqOf(p.seq), Inserted, "a second genesis entry in the middle of the journal")
			return false
		}
		if !knownKind(p.kind) {
			c.fail(ln, seqOf(p.seq), Corrupt, "unknown entry kind %q", p.kind)
			return false
		}
		if p.hasSig {
			c.signed(&l, r)
		} else if RequiresSignature(p.kind) {
			c.fail(ln, seqOf(p.seq), BadSignature, "%s entry (seq %d) is not signed", p.kind, p.seq)
			return false
		}
	}
	c.accept(r, &l)
	if a := c.opts.Anchor; a != nil && p.seq == a.Seq && hex.EncodeToString(r.hash[:]) != a.Head {
		c.anchorMismatch = &link{line: ln, seq: p.seq}
	}
	if a := c.opts.Anchor; a != nil && a.SealedHead != "" && p.seq == a.SealedSeq && hex.EncodeToString(r.hash[:]) != a.SealedHead {
		c.sealedMismatch = &link{line: ln, seq: p.seq}
	}
	if m := c.mark; m != nil && p.seq == m.Seq && r.hash != c.markHead {
		c.fail(ln, seqOf(p.seq), RolledBack, "the line at seq %d is not the one verified on %s: the journal was rewritten since", p.seq, m.Time)
		return false
	}
	if m := c.anchorMismatch; m != nil && ln > m.line {
		c.fail(m.line, seqOf(m.seq), RolledBack, "the line at seq %d does not match the anchor stored in the keystore and other lines follow it: the journal was rolled back and rewritten", m.seq)
		return false
	}
	return true
}

func knownKind(k Kind) bool { return slices.Contains(knownKinds, k) }

// genesis checks line 1.
func (c *checker) genesis(r *lineRec, l *link) bool {
	p := &r.p
	if p.kind != KindGenesis {
		if p.seq > 0 {
			c.fail(1, seqOf(p.seq), Deleted, "the journal starts at seq %d: the genesis and the entries before are missing", p.seq)
		} else {
			c.fail(1, 0, Modified, "line 1 is a %q entry, not the genesis", p.kind)
		}
		return false
	}
	if p.seq != 0 || p.prev != ([32]byte{}) {
		c.fail(1, seqOf(p.seq), Modified, "the genesis must have seq 0 and a zero prev")
		return false
	}
	g, jid, pk, err := parseGenesis(p.body)
	if err != nil {
		c.fail(1, 0, Corrupt, "%v", err)
		return false
	}
	c.rep.genesis, c.rep.jid, c.rep.pk = g, jid, pk
	c.rep.JournalID, c.rep.PublicKey = g.JournalID, g.PublicKey
	if e := c.opts.ExpectedPublicKey; e != nil && *e != pk {
		c.fail(1, 0, ForeignKey, "the journal is signed by key %s, not by this profile's key %s", qbls.Fingerprint(pk), qbls.Fingerprint(*e))
		return false
	}
	if !p.hasSig {
		c.fail(1, 0, BadSignature, "the genesis is not signed")
		return false
	}
	l.digest = digest(jid, 0, p.prev, sha256.Sum256(p.body), p.kind, p.ts)
	if !qbls.Verify(pk, l.digest[:], qbls.Signature(p.sig)) {
		c.fail(1, 0, BadSignature, "the genesis signature does not verify with its public key")
		return false
	}
	if a := c.opts.Anchor; a != nil && a.JournalID != g.JournalID {
		c.fail(1, 0, RolledBack, "this file is journal %s but the keystore anchors journal %s: the journal was replaced", g.JournalID, a.JournalID)
		return false
	}
	c.useMark(g.JournalID, pk)
	c.rep.Signatures++
	return true
}

// useMark adopts the VerifiedMark given when it is this journal's and
// signed by its key.
func (c *checker) useMark(jid string, pk qbls.PublicKey) {
	m := c.opts.Verified
	switch {
	case m == nil:
	case m.JournalID != jid:
		c.rep.MarkIgnored = "the verified mark is for another journal"
	case !decodeHexInto(c.markHead[:], []byte(m.Head)) || !m.valid(pk):
		c.rep.MarkIgnored = "the verified mark's signature does not verify with the journal's key"
	default:
		c.mark = m
	}
}

// signed schedules or remembers the signature check of l (line r).
func (c *checker) signed(l *link, r *lineRec) {
	c.rep.Signatures++
	c.rep.Unsealed, c.rep.FirstUnsealed = 0, 0
	c.rep.lastSignedSeq = l.seq
	switch {
	case c.opts.noSigs:
	case c.opts.sealOnly:
		// Only the last signature is checked: keep what its digest needs
		// (r's buffer is reused) and digest it at the end.
		c.lastSig = *l
		c.lastSigKind = r.p.kind
		c.lastSigTS = append(c.lastSigTS[:0], r.p.ts...)
		c.lastSigBody = append(c.lastSigBody[:0], r.p.body...)
		c.hasLastSig = true
	case c.mark != nil && l.seq <= c.mark.Seq:
		c.rep.SkippedSignatures++
	case c.sigs != nil:
		c.batch = append(c.batch, sigJob{line: l.line, seq: l.seq, digest: c.lineDigest(r), sig: l.sig})
		if len(c.batch) == sigBatch {
			c.sigs.push(c.batch)
			c.batch = make([]sigJob, 0, sigBatch)
		}
	}
}

// lineDigest is the signed digest of the signed line r.
func (c *checker) lineDigest(r *lineRec) [32]byte {
	if r.hasDigest {
		return r.digest
	}
	return digest(c.rep.jid, r.p.seq, r.p.prev, sha256.Sum256(r.p.body), r.p.kind, r.p.ts)
}

// peekJID reads the journal ID from the genesis at the start of f, so the
// parse workers can digest signed lines; nil when line 1 is not a
// readable genesis (the checker then reports why).
func peekJID(f *os.File) *[16]byte {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0) // a short read leaves the line without its newline: nil below
	i := bytes.IndexByte(buf[:n], '\n')
	if i < 0 {
		return nil
	}
	p, err := parseLine(buf[:i])
	if err != nil || p.kind != KindGenesis {
		return nil
	}
	_, jid, _, err := parseGenesis(p.body)
	if err != nil {
		return nil
	}
	return &jid
}

// accept records a good line.
func (c *checker) accept(r *lineRec, l *link) {
	p := &r.p
	c.rep.Entries++
	c.rep.LastSeq = p.seq
	c.rep.head = r.hash
	c.rep.Bytes = r.off + int64(len(r.line)) + 1
	if !p.hasSig {
		if c.rep.Unsealed == 0 {
			c.rep.FirstUnsealed, c.rep.unsealedSeq = l.line, p.seq
		}
		c.rep.Unsealed++
	}
	if c.opts.onEntry != nil {
		c.opts.onEntry(p.kind, p.ts, p.body)
	}
	switch p.kind {
	case KindDecision:
		c.rep.Decisions++
	case KindCheckpoint:
		t, _ := time.Parse(time.RFC3339Nano, string(p.ts))
		c.rep.LastCheckpoint = &Checkpoint{Line: l.line, Seq: p.seq, Time: t}
	}
	// c.hist is a ring of the last histLen lines; lastHist and histAt read it.
	if len(c.hist) < histLen {
		c.hist = append(c.hist, *l)
	} else {
		c.hist[c.histPos] = *l
	}
	c.histPos = (c.histPos + 1) % histLen
}

// histAt returns the i-th remembered line, 0 being the oldest.
func (c *checker) histAt(i int) link {
	if len(c.hist) < histLen {
		return c.hist[i]
	}
	return c.hist[(c.histPos+i)%histLen]
}

// finish runs the end-of-file checks.
func (c *checker) finish() {
	if c.window != nil {
		c.classify()
	}
	if c.problem != nil {
		return
	}
	if c.line == 0 && c.rep.TornTail == nil {
		c.fail(1, -1, Corrupt, "the journal is empty")
		return
	}
	if c.line == 0 {
		c.fail(1, -1, Corrupt, "the journal has no complete line")
		return
	}
	if a := c.opts.Anchor; a != nil && c.rep.LastSeq < a.Seq {
		c.fail(c.line+1, seqOf(c.rep.LastSeq+1), Truncated,
			"the file ends at seq %d but the keystore anchor records seq %d: %d entries were cut from the end (truncated or rolled back to an older copy)",
			c.rep.LastSeq, a.Seq, a.Seq-c.rep.LastSeq)
		return
	}
	if m := c.anchorMismatch; m != nil {
		c.fail(m.line, seqOf(m.seq), Modified, "the last line (seq %d) does not match the anchor stored in the keystore: it was modified", m.seq)
		return
	}
	if m := c.mark; m != nil && c.rep.LastSeq < m.Seq {
		c.fail(c.line+1, seqOf(c.rep.LastSeq+1), Truncated, "the file ends at seq %d but it was verified up to seq %d on %s: entries were cut from the end", c.rep.LastSeq, m.Seq, m.Time)
		return
	}
	if !c.anchorChecks() {
		return
	}
	c.rep.Head = hex.EncodeToString(c.rep.head[:])
	if c.opts.sealOnly && c.hasLastSig {
		l := &c.lastSig
		d := digest(c.rep.jid, l.seq, l.prev, sha256.Sum256(c.lastSigBody), c.lastSigKind, c.lastSigTS)
		if !qbls.Verify(c.rep.pk, d[:], qbls.Signature(l.sig)) {
			c.fail(l.line, seqOf(l.seq), BadSignature, "the signature of seq %d does not verify with the journal's public key", l.seq)
		}
	}
}

// anchorChecks runs the end-of-file checks of the anchor's sealed part,
// its MAC, and its absence; false when one failed.
func (c *checker) anchorChecks() bool {
	a := c.opts.Anchor
	if a == nil {
		if c.opts.RequireAnchor && c.line > 1 {
			c.fail(c.line, seqOf(c.rep.LastSeq), Unanchored,
				"the journal has %d entries but no anchor is stored in the keystore: the anchor was deleted (re-anchor only with `qapprove journal re-anchor`)", c.line)
			return false
		}
		return true
	}
	if a.SealedHead != "" && c.rep.LastSeq < a.SealedSeq {
		c.fail(c.line+1, seqOf(c.rep.LastSeq+1), Truncated,
			"the file ends at seq %d but the anchor's sealed part records a signed line at seq %d: entries were cut from the end", c.rep.LastSeq, a.SealedSeq)
		return false
	}
	if m := c.sealedMismatch; m != nil {
		c.fail(m.line, seqOf(m.seq), RolledBack, "the line at seq %d does not match the anchor's sealed head: the journal was rolled back and rewritten", m.seq)
		return false
	}
	if s := c.opts.Signer; s != nil {
		c.rep.AnchorMACChecked = true
		if err := CheckAnchor(a, s); err != nil {
			var te *TamperError
			if errors.As(err, &te) {
				te.Line = c.line
				c.problem = te
			} else {
				c.fail(c.line, -1, ForgedAnchor, "%v", err)
			}
			return false
		}
	}
	return true
}

// classify explains the first broken link, at c.window[0].
func (c *checker) classify() {
	w := c.window
	c.window = nil
	x := w[0]
	hist := make([]link, len(c.hist))
	for i := range hist {
		hist[i] = c.histAt(i)
	}
	last := hist[len(hist)-1]
	want, prevHash := last.seq+1, last.hash
	L := x.line
	count := func(seq uint64) int {
		n := 0
		for _, h := range hist {
			if h.seq == seq {
				n++
			}
		}
		for _, y := range w {
			if y.seq == seq {
				n++
			}
		}
		return n
	}
	// A genuine line out of place: its seq is unique and its predecessor, or
	// the line that should be here, shows up later.
	if x.seq != want && count(x.seq) == 1 {
		for _, y := range w[1:] {
			if (y.seq+1 == x.seq && y.hash == x.prev) || (y.seq == want && y.prev == prevHash) {
				c.fail(L, seqOf(x.seq), Reordered, "seq %d appears where seq %d belongs: lines were moved", x.seq, want)
				return
			}
		}
	}
	// Forged lines that chain perfectly, then the genuine line links back
	// over them.
	for m := 1; m < len(hist); m++ {
		h := hist[len(hist)-1-m]
		if x.prev == h.hash && x.seq == h.seq+1 {
			first := hist[len(hist)-m]
			c.fail(first.line, seqOf(first.seq), Inserted, "%d line(s) from here are not part of the chain: line %d links to line %d", m, L, h.line)
			return
		}
	}
	// Forged lines here, then the genuine line that belongs here.
	for m := 1; m < len(w) && m <= histLen; m++ {
		if w[m].seq == want && w[m].prev == prevHash {
			c.fail(L, seqOf(x.seq), Inserted, "%d line(s) from here are not part of the chain: line %d links to line %d", m, w[m].line, last.line)
			return
		}
	}
	if x.prev == prevHash {
		c.fail(L, seqOf(x.seq), Modified, "seq %d should be %d: the line was modified", x.seq, want)
		return
	}
	if x.seq > want {
		missing := false
		for s := want; s < x.seq && s < want+windowLen; s++ {
			if count(s) > 0 {
				missing = true
				break
			}
		}
		if !missing {
			c.fail(L, seqOf(x.seq), Deleted, "entries seq %d to %d are missing before this line", want, x.seq-1)
			return
		}
	}
	if x.seq == want {
		// Either line L-1 changed (its hash no longer matches) or the prev
		// field of line L did. A valid signature on L vouches for its prev.
		if x.signed && !c.lineSigOK(x) {
			c.fail(L, seqOf(x.seq), Modified, "the prev field of this line was modified")
			return
		}
		c.fail(last.line, seqOf(last.seq), Modified, "line %d (seq %d) does not hash to the prev recorded by line %d: it was modified", last.line, last.seq, L)
		return
	}
	c.fail(L, seqOf(x.seq), Modified, "seq %d and its link do not fit after seq %d: the line was modified", x.seq, last.seq)
}

// lineSigOK verifies a window line's signature when the line is signed.
func (c *checker) lineSigOK(l link) bool {
	return l.signed && qbls.Verify(c.rep.pk, l.digest[:], qbls.Signature(l.sig))
}

// progressReader reports how much of the file has been read. Reading runs
// at most a few chunks ahead of checking, so this is the checked share
// within a few MiB.
type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}
