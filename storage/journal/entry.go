package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// Version is the value of the "v" field of every line.
const Version = 1

// DomainTag starts every signed digest, so a journal signature can never be
// replayed as an approval signature or the reverse.
const DomainTag = "qapprove/journal/v1\n"

// MaxLineBytes bounds one line (without its newline); longer lines are
// rejected as corrupt by readers and refused by writers.
const MaxLineBytes = 1 << 20

// Kind is the kind of a journal entry.
type Kind string

// Kinds of entries.
const (
	KindGenesis       Kind = "genesis"        // signed; first line
	KindUnlock        Kind = "unlock"         // signed: the key was unlocked
	KindUnlockFailed  Kind = "unlock-failed"  // unsigned: a wrong passphrase
	KindLock          Kind = "lock"           // unsigned: the key was locked
	KindDecision      Kind = "decision"       // signed: approve or reject
	KindOutcome       Kind = "outcome"        // signed when unlocked, else unsigned
	KindKeyRegistered Kind = "key-registered" // signed: keys registered with Qredo
	KindCheckpoint    Kind = "checkpoint"     // signed: at every lock and exit
	KindRecovery      Kind = "recovery"       // unsigned: a torn tail was cut
	KindAbandoned     Kind = "abandoned"      // unsigned: a decision started and not completed (cancelled, refused)
	KindRebound       Kind = "rebound"        // signed: the profile was bound to another API base URL
	KindBackupDrill   Kind = "backup-drill"   // a disaster-recovery drill: signed by the restored key when passed, unsigned when failed
	KindRewrapped     Kind = "rewrapped"      // signed: the key bundle was moved to another wrap (none, KMS, PKCS#11)
	KindReanchored    Kind = "re-anchored"    // signed: the anchor was replaced by an explicit command
	KindKeyExported   Kind = "key-exported"   // unsigned (no unlock needed): an encrypted backup of the key was written
	KindKeyImported   Kind = "key-imported"   // signed: a backup was imported into the profile
)

// mustSign lists the kinds that are invalid without a signature.
var mustSign = map[Kind]bool{
	KindGenesis: true, KindUnlock: true, KindDecision: true,
	KindKeyRegistered: true, KindCheckpoint: true, KindRebound: true,
	KindRewrapped: true, KindReanchored: true,
}

// RequiresSignature reports whether entries of kind must be signed.
func RequiresSignature(kind Kind) bool { return mustSign[kind] }

// validKind reports whether k is a plausible kind name: 1–32 of [a-z-].
func validKind(k string) bool {
	if len(k) == 0 || len(k) > 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// Signer signs journal digests with the approver key without exposing it.
type Signer interface {
	PublicKey() qbls.PublicKey
	Sign(msg []byte) (qbls.Signature, error)
}

// Entry is one journal line as written or read.
type Entry struct {
	Line int             // 1-based line number in the file
	Seq  uint64          // 0 for genesis, then +1 per line
	TS   time.Time       // UTC time of the append
	Kind Kind            // one of the Kind constants
	Prev string          // hex SHA-256 of the previous line; 64 zeros for genesis
	Body json.RawMessage // body bytes exactly as in the line
	Sig  string          // hex signature, "" when unsigned
	Hash string          // hex SHA-256 of this line (the next line's Prev)
}

// GenesisBody is the body of line 1.
type GenesisBody struct {
	JournalID string `json:"journal_id"` // 16 random bytes, hex
	PublicKey string `json:"public_key"` // approver BLS public key, hex
	Profile   string `json:"profile"`
	Created   string `json:"created"` // RFC 3339 UTC
}

// DecisionSummary is an optional human summary of the decided action.
type DecisionSummary struct {
	Amount  string `json:"amount,omitempty"`
	Asset   string `json:"asset,omitempty"`
	To      string `json:"to,omitempty"`
	Network string `json:"network,omitempty"`
	ChainID string `json:"chain_id,omitempty"` // the network's chain ID, for the velocity index
}

// PriceUsed is the price a decision's verdict valued the amount at.
type PriceUsed struct {
	Asset    string `json:"asset"`
	Price    string `json:"price"`    // of one whole unit, decimal
	Currency string `json:"currency"` // "USD"
	Source   string `json:"source"`   // "table prices.toml", "http https://…"
	AsOf     string `json:"as_of"`    // RFC 3339
	Value    string `json:"value"`    // the amount's value, to cents
	Stale    bool   `json:"stale,omitempty"`
}

// DecisionBody records an approve or reject before it is sent.
type DecisionBody struct {
	ActionID      string   `json:"action_id"`
	Decision      string   `json:"decision"`       // "approve" or "reject"
	MessageSHA256 string   `json:"message_sha256"` // hex SHA-256 of the message signed for Qredo
	Verdict       string   `json:"verdict"`        // governance verdict: approve, review, reject
	Rules         []string `json:"rules"`          // names of the rules that fired
	Override      string   `json:"override,omitempty"`
	Reason        string   `json:"reason,omitempty"` // the optional reason given for a reject
	// Confirmation is how the operator confirmed: "key" (y), "typed"
	// (the last characters of the destination), "flag" (--yes).
	Confirmation string `json:"confirmation,omitempty"`
	// Binding says whether the signed message was checked against the
	// details shown: "bound", or "unbound" (a digest qapprove cannot check).
	Binding string           `json:"binding,omitempty"`
	Summary *DecisionSummary `json:"summary,omitempty"`
	// RulesSHA256 is the hex SHA-256 of the rules file that gave Verdict
	// (kept by hash in the data folder), Engine the rules engine version,
	// Input the document the rules saw (left out when over 64 KiB) and
	// Price the price used: `qapprove rules replay` re-derives the
	// verdict from them.
	RulesSHA256 string          `json:"rules_sha256,omitempty"`
	Engine      string          `json:"engine,omitempty"`
	Input       json.RawMessage `json:"input,omitempty"`
	Price       *PriceUsed      `json:"price,omitempty"`
}

// AgainstVerdict reports whether decision goes against verdict, in which
// case a DecisionBody needs an Override reason: approving anything the
// rules did not approve (review or reject), or rejecting an approve.
func AgainstVerdict(decision, verdict string) bool {
	if decision == "approve" {
		return verdict != "approve"
	}
	return verdict == "approve"
}

// Validate checks a decision body before it is signed.
func (d DecisionBody) Validate() error {
	switch {
	case d.ActionID == "" || len(d.ActionID) > 256:
		return errors.New("decision needs an action ID (at most 256 bytes)")
	case d.Decision != "approve" && d.Decision != "reject":
		return fmt.Errorf("decision must be approve or reject, not %q", d.Decision)
	case !isHex(d.MessageSHA256, 32):
		return errors.New("decision needs the hex SHA-256 of the signed message")
	case d.Verdict != "approve" && d.Verdict != "review" && d.Verdict != "reject":
		return fmt.Errorf("verdict must be approve, review or reject, not %q", d.Verdict)
	case AgainstVerdict(d.Decision, d.Verdict) && strings.TrimSpace(d.Override) == "":
		return fmt.Errorf("decision %s goes against the verdict %s: an override reason is required", d.Decision, d.Verdict)
	}
	return nil
}

// Outcome results.
const (
	OutcomeAccepted = "accepted"
	OutcomeRefused  = "refused"
	OutcomeUnknown  = "unknown"
)

// OutcomeBody records what the server said about a sent decision.
type OutcomeBody struct {
	ActionID string `json:"action_id"`
	Result   string `json:"result"`          // accepted, refused or unknown
	Error    string `json:"error,omitempty"` // the server's error when refused or unknown
}

// AbandonedBody records a decision that was started and not completed:
// the operator cancelled it, did not confirm it, left out a required
// reason, or a local check refused it before anything was signed.
type AbandonedBody struct {
	ActionID string `json:"action_id"`
	Decision string `json:"decision"` // "approve" or "reject"
	Why      string `json:"why"`
}

// ReboundBody records a deliberate change of the API base URL a profile's
// key is bound to.
type ReboundBody struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Results of a backup drill.
const (
	DrillPassed = "passed"
	DrillFailed = "failed"
)

// BackupDrillBody records a disaster-recovery drill: a backup (or K share
// files) restored in memory only and checked against the profile's keys.
type BackupDrillBody struct {
	Result      string `json:"result"`                // passed or failed
	Source      string `json:"source"`                // "backup" or "shares"
	Set         string `json:"set,omitempty"`         // the share set's ID
	Shares      int    `json:"shares,omitempty"`      // share files given
	Threshold   int    `json:"threshold,omitempty"`   // shares the set needs
	Total       int    `json:"total,omitempty"`       // shares in the set
	Fingerprint string `json:"fingerprint,omitempty"` // BLS fingerprint of the restored key
	Reason      string `json:"reason,omitempty"`      // why it failed
}

// UnlockBody records a successful unlock.
type UnlockBody struct {
	Method string `json:"method,omitempty"` // e.g. "passphrase"
	WrapUse
}

// WrapUse names the KMS or token call of an unlock (all empty when the
// bundle is not wrapped).
type WrapUse struct {
	Wrap         string `json:"wrap,omitempty"`           // "kms" or "pkcs11"
	KMSKeyARN    string `json:"kms_key_arn,omitempty"`    // the KMS key
	KMSRequestID string `json:"kms_request_id,omitempty"` // the KMS request ID (CloudTrail)
	Token        string `json:"token,omitempty"`          // the PKCS#11 token label
	KeyLabel     string `json:"key_label,omitempty"`      // the token key's label
}

// UnlockFailedBody records a wrong passphrase and the back-off applied,
// or a wrap that refused the data key.
type UnlockFailedBody struct {
	Attempt int    `json:"attempt"`
	Backoff string `json:"backoff"` // Go duration, e.g. "4s"
	// WrapRefused is why the wrap refused (disabled, denied, context,
	// key-deleted, unreachable, token-absent, wrong-pin, config).
	WrapRefused string `json:"wrap_refused,omitempty"`
	WrapUse
}

// RewrappedBody records a move of the key bundle from one wrap to another
// ("none", "kms", "pkcs11"); From and To describe the keys.
type RewrappedBody struct {
	FromKind string `json:"from_kind"`
	From     string `json:"from"`
	ToKind   string `json:"to_kind"`
	To       string `json:"to"`
	WrapUse         // the call that made the new data key
}

// LockBody records why the key was locked.
type LockBody struct {
	Reason string `json:"reason"` // idle, absolute, key, exit, signal
}

// KeyRegisteredBody records the keys registered with Qredo.
type KeyRegisteredBody struct {
	APIKeyID     string `json:"api_key_id"`
	BLSPublicKey string `json:"bls_public_key"`
	ECPublicKey  string `json:"ec_public_key"`
	ActionID     string `json:"action_id,omitempty"`
	// Status is "registered", or "awaiting-admin" while the key update
	// still waits for approval under the Admin Policy.
	Status string `json:"status,omitempty"`
}

// RecoveryBody records bytes cut from a torn tail on open, or (Accepts)
// unsigned lines accepted without a signature or the anchor vouching for
// them.
type RecoveryBody struct {
	Offset  int64          `json:"offset,omitempty"` // file offset where the cut bytes started
	Length  int64          `json:"length,omitempty"`
	SHA256  string         `json:"sha256,omitempty"` // hex SHA-256 of the cut bytes
	Accepts *AcceptedLines `json:"accepts,omitempty"`
}

// Why values of AcceptedLines.
const (
	// AcceptedBeyondAnchor: unsigned lines the anchor did not reach when the
	// journal was opened (a crash between write and anchor, or lines added
	// by someone else). Written unsigned by Open.
	AcceptedBeyondAnchor = "beyond the anchor"
	// AcceptedUnsealed: unsigned lines found after the last signed line
	// when the journal was opened. Written signed by the first signed
	// append (the next unlock).
	AcceptedUnsealed = "unsigned since the last signed entry"
)

// AcceptedLines names the lines a recovery accepts: seq From to To, the
// hash of line To, and why they needed accepting.
type AcceptedLines struct {
	FromSeq uint64 `json:"from_seq"`
	ToSeq   uint64 `json:"to_seq"`
	Head    string `json:"head"`
	Why     string `json:"why"`
}

// KeyBackupBody records a key export or import: the BLS key's
// fingerprint and the backup file.
type KeyBackupBody struct {
	Fingerprint string `json:"fingerprint"`
	File        string `json:"file,omitempty"`
}

// ReanchoredBody records an explicit re-anchoring: what the keystore held
// before (Previous, nil when there was no readable anchor), what checking
// against it found (Problem, a Reason word or ""), and the operator's Why.
type ReanchoredBody struct {
	Previous *Anchor `json:"previous,omitempty"`
	Problem  string  `json:"problem,omitempty"`
	Why      string  `json:"why"`
}

// CheckpointBody seals everything before it.
type CheckpointBody struct {
	Entries uint64 `json:"entries"` // number of lines before this one
	Head    string `json:"head"`    // hex hash of the previous line (same as prev)
	Reason  string `json:"reason,omitempty"`
}

// digest is the 32-byte message signed for one line:
// SHA-256(DomainTag ‖ journal_id (16 bytes) ‖ seq (u64 BE) ‖ prev (32) ‖
// SHA-256(body bytes) ‖ len(kind) ‖ kind ‖ len(ts) ‖ ts).
func digest(jid [16]byte, seq uint64, prev [32]byte, bodyHash [32]byte, kind Kind, ts []byte) [32]byte {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte(DomainTag))
	h.Write(jid[:])
	binary.BigEndian.PutUint64(b[:], seq)
	h.Write(b[:])
	h.Write(prev[:])
	h.Write(bodyHash[:])
	h.Write([]byte{byte(len(kind))}) //nolint:gosec // G115: kind is one of the package Kind constants, all short
	h.Write([]byte(kind))
	h.Write([]byte{byte(len(ts))}) //nolint:gosec // G115: ts is an RFC 3339 time this package formats, under 40 bytes
	h.Write(ts)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// formatTS formats t the way lines carry it.
func formatTS(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// encodeLine builds the bytes of one line without its newline.
func encodeLine(seq uint64, ts string, kind Kind, prev [32]byte, body []byte, sig *qbls.Signature) []byte {
	b := make([]byte, 0, 128+len(body)+2*qbls.SignatureSize)
	b = append(b, `{"v":1,"seq":`...)
	b = fmt.Appendf(b, "%d", seq)
	b = append(b, `,"ts":"`...)
	b = append(b, ts...)
	b = append(b, `","kind":"`...)
	b = append(b, kind...)
	b = append(b, `","prev":"`...)
	b = hex.AppendEncode(b, prev[:])
	b = append(b, `","body":`...)
	b = append(b, body...)
	if sig != nil {
		b = append(b, `,"sig":"`...)
		b = hex.AppendEncode(b, sig[:])
		b = append(b, '"')
	}
	return append(b, '}')
}

func isHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
