package sink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/qapprove/qapprove/storage/journal"
)

// JournalAudit is the verdict on one journal held by the store.
type JournalAudit struct {
	JournalID  string               `json:"journal_id"`
	Profile    string               `json:"profile,omitempty"`
	PublicKey  string               `json:"public_key,omitempty"`
	Entries    uint64               `json:"entries"`
	LastSeq    uint64               `json:"last_seq"`
	Decisions  uint64               `json:"decisions"`
	Signatures uint64               `json:"signatures"`
	Unsealed   uint64               `json:"unsealed"`
	Intact     bool                 `json:"intact"`
	Problem    *journal.TamperError `json:"problem,omitempty"`
}

// StoredDecision is one decision as a journal in the store records it.
type StoredDecision struct {
	JournalID     string `json:"journal_id"`
	Profile       string `json:"profile,omitempty"`
	Seq           uint64 `json:"seq"`
	Decision      string `json:"decision"`
	MessageSHA256 string `json:"message_sha256"`
}

// SplitView is an action for which approvers' journals record different
// messages: they were shown (and signed) different bytes for one action.
type SplitView struct {
	ActionID  string           `json:"action_id"`
	Decisions []StoredDecision `json:"decisions"`
}

// AuditReport is the result of Audit.
type AuditReport struct {
	Journals   []JournalAudit `json:"journals"`
	SplitViews []SplitView    `json:"split_views"`
	OK         bool           `json:"ok"`
}

// Audit verifies every journal in the store (chain, genesis, every
// signature, with the same verifier as `journal verify`: each journal is
// copied into a private temp file under tmpDir first) and looks for split
// views across journals.
func Audit(ctx context.Context, st *Store, tmpDir string) (*AuditReport, error) {
	heads, err := st.Journals(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmpDir, "qapprove-audit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &AuditReport{OK: true, Journals: []JournalAudit{}, SplitViews: []SplitView{}}
	byAction := map[string][]StoredDecision{}
	for _, h := range heads {
		ja, decs, err := auditOne(ctx, st, h, filepath.Join(dir, h.JournalID+".jsonl"))
		if err != nil {
			return nil, err
		}
		rep.OK = rep.OK && ja.Intact
		rep.Journals = append(rep.Journals, ja)
		for id, d := range decs {
			byAction[id] = append(byAction[id], d...)
		}
	}
	rep.SplitViews = splitViews(byAction)
	rep.OK = rep.OK && len(rep.SplitViews) == 0
	return rep, nil
}

// auditOne copies one journal out of the store, verifies it and collects
// its decisions by action ID.
func auditOne(ctx context.Context, st *Store, h StoredHead, path string) (JournalAudit, map[string][]StoredDecision, error) {
	ja := JournalAudit{JournalID: h.JournalID, Entries: h.Entries, LastSeq: h.LastSeq}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ja, nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	decs := map[string][]StoredDecision{}
	var badHash *journal.TamperError
	line := 0
	err = st.Lines(ctx, h.JournalID, 0, func(seq uint64, hash string, b []byte) error {
		line++
		e, perr := journal.ParseLine(b)
		if p := storedProblem(line, seq, hash, b, e, perr); p != nil && badHash == nil {
			badHash = p
		}
		if perr == nil {
			collect(decs, h.JournalID, e, &ja)
		}
		_, _ = bw.Write(b)
		return bw.WriteByte('\n')
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ja, nil, err
	}
	vr, err := journal.Verify(path, journal.VerifyOptions{})
	if err != nil {
		return ja, nil, err
	}
	ja.Decisions, ja.Signatures, ja.Unsealed, ja.Problem = vr.Decisions, vr.Signatures, vr.Unsealed, vr.Problem
	if ja.Problem == nil {
		ja.Problem = badHash
	}
	ja.Intact = ja.Problem == nil
	for id := range decs {
		for i := range decs[id] {
			decs[id][i].Profile = ja.Profile
		}
	}
	return ja, decs, nil
}

// storedProblem checks one stored row against its own line: a line that
// holds a newline (it would read as two), whose seq is not the row's, or
// whose hash column is not its hash.
func storedProblem(line int, seq uint64, hash string, b []byte, e journal.Entry, perr error) *journal.TamperError {
	s := int64(seq) //nolint:gosec // G115: the schema keeps seq in bigint
	switch {
	case bytes.IndexByte(b, '\n') >= 0:
		return &journal.TamperError{Line: line, Seq: s, Reason: journal.Corrupt, Detail: "the stored line holds a newline"}
	case perr == nil && e.Seq != seq:
		return &journal.TamperError{Line: line, Seq: s, Reason: journal.Modified, Detail: fmt.Sprintf("the row of seq %d holds the line of seq %d", seq, e.Seq)}
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hash {
		return &journal.TamperError{Line: line, Seq: s, Reason: journal.Modified, Detail: "the stored hash column does not match the stored line"}
	}
	return nil
}

// collect notes the genesis's profile and key and each decision.
func collect(decs map[string][]StoredDecision, jid string, e journal.Entry, ja *JournalAudit) {
	switch e.Kind {
	case journal.KindGenesis:
		var g journal.GenesisBody
		if json.Unmarshal(e.Body, &g) == nil {
			ja.Profile, ja.PublicKey = g.Profile, g.PublicKey
		}
	case journal.KindDecision:
		var d journal.DecisionBody
		if json.Unmarshal(e.Body, &d) == nil && d.ActionID != "" {
			decs[d.ActionID] = append(decs[d.ActionID], StoredDecision{JournalID: jid, Seq: e.Seq, Decision: d.Decision, MessageSHA256: d.MessageSHA256})
		}
	}
}

// splitViews lists the actions whose decisions name more than one
// message SHA-256, sorted by action ID.
func splitViews(byAction map[string][]StoredDecision) []SplitView {
	out := []SplitView{}
	for id, ds := range byAction {
		seen := map[string]bool{}
		for _, d := range ds {
			seen[d.MessageSHA256] = true
		}
		if len(seen) > 1 {
			sort.Slice(ds, func(i, j int) bool {
				return ds[i].JournalID < ds[j].JournalID || (ds[i].JournalID == ds[j].JournalID && ds[i].Seq < ds[j].Seq)
			})
			out = append(out, SplitView{ActionID: id, Decisions: ds})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ActionID < out[j].ActionID })
	return out
}

// Comparison is a local journal checked against the team store.
type Comparison struct {
	JournalID    string `json:"journal_id"`
	LocalEntries uint64 `json:"local_entries"`
	StoreEntries uint64 `json:"store_entries"`
	// Ahead is how many stored lines lie beyond the local head: the local
	// journal (and its anchor) were rolled back.
	Ahead uint64 `json:"ahead"`
	// Mismatch is the first seq where the store holds a different line.
	Mismatch *uint64 `json:"mismatch_seq,omitempty"`
	// Others are other journals in the store signed by the same key (a
	// journal started again, e.g. after `keys import`, or replaced).
	Others     []string `json:"others,omitempty"`
	RolledBack bool     `json:"rolled_back"`
	Detail     string   `json:"detail,omitempty"`
}

// ErrNotShipped is returned (wrapped) when the store holds nothing of the
// local journal: there is nothing to compare against.
var ErrNotShipped = errors.New("the team store holds no line of this journal")

// Compare checks the local journal at path against the store: a stored
// line beyond the local head, or a different line at the same seq, is a
// rollback (or a fork) of the local journal and its anchor.
func Compare(ctx context.Context, st *Store, path string) (*Comparison, error) {
	local, jid, pk, err := localHashes(path)
	if err != nil {
		return nil, err
	}
	c := &Comparison{JournalID: jid, LocalEntries: uint64(len(local))}
	var last uint64
	err = st.Lines(ctx, jid, 0, func(seq uint64, hash string, _ []byte) error {
		c.StoreEntries++
		last = seq
		switch {
		case seq >= uint64(len(local)):
			c.Ahead++
		case local[seq] != hash && c.Mismatch == nil:
			s := seq
			c.Mismatch = &s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.Others, err = othersWithKey(ctx, st, jid, pk); err != nil {
		return nil, err
	}
	if c.StoreEntries == 0 {
		if len(c.Others) > 0 {
			return c, fmt.Errorf("%w (%s), but it holds %d other journal(s) signed by this key (%v): the local journal may have been replaced",
				ErrNotShipped, jid, len(c.Others), c.Others)
		}
		return c, fmt.Errorf("%w (%s): ship it first (qapprove journal ship)", ErrNotShipped, jid)
	}
	switch {
	case c.Mismatch != nil:
		c.RolledBack = true
		c.Detail = fmt.Sprintf("the team store holds a different line at seq %d: the local journal was rewritten after that line was shipped", *c.Mismatch)
	case c.Ahead > 0:
		c.RolledBack = true
		c.Detail = fmt.Sprintf("the team store holds %d more %s than the local journal (local head seq %d, shipped head seq %d): the local journal and its anchor were rolled back",
			c.Ahead, plural(c.Ahead, "line", "lines"), int64(c.LocalEntries)-1, last) //nolint:gosec // G115: a line count
	}
	return c, nil
}

// othersWithKey lists the journals in the store, other than jid, whose
// genesis names public key pk.
func othersWithKey(ctx context.Context, st *Store, jid, pk string) ([]string, error) {
	gen, err := st.Genesis(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for other, line := range gen {
		if other == jid {
			continue
		}
		if e, err := journal.ParseLine(line); err == nil {
			var g journal.GenesisBody
			if json.Unmarshal(e.Body, &g) == nil && g.PublicKey == pk {
				out = append(out, other)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// localHashes reads the complete lines of the journal at path and
// returns their hashes by seq, its journal ID and public key. It stops at
// the first line that does not continue the chain (Verify explains it).
func localHashes(path string) ([]string, string, string, error) {
	r, err := openLines(path, 0)
	if err != nil {
		return nil, "", "", err
	}
	defer r.close()
	var hashes []string
	var jid, pk string
	for {
		line, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", "", err
		}
		e, err := journal.ParseLine(line)
		if err != nil || e.Seq != uint64(len(hashes)) {
			break
		}
		if e.Seq == 0 {
			var g journal.GenesisBody
			if json.Unmarshal(e.Body, &g) != nil || e.Kind != journal.KindGenesis {
				return nil, "", "", errors.New("the journal's first line is not a genesis")
			}
			jid, pk = g.JournalID, g.PublicKey
		}
		hashes = append(hashes, e.Hash)
	}
	if jid == "" {
		return nil, "", "", errors.New("the journal has no genesis")
	}
	return hashes, jid, pk, nil
}
