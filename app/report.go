// report.go: the access review (`qapprove audit report`) computed over
// journal entries, from the local journal or a team store.

package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/qapprove/qapprove/storage/journal"
)

// AccessCounts are the events of an access review in one period.
type AccessCounts struct {
	Unlocks        int   `json:"unlocks"`
	FailedUnlocks  int   `json:"failed_unlocks"`
	FailedAttempts []int `json:"failed_attempts,omitempty"` // attempt numbers of the failed unlocks, in order
	KeyExports     int   `json:"key_exports"`
	KeyImports     int   `json:"key_imports"`
	Registrations  int   `json:"registrations"`
	Approvals      int   `json:"approvals"`
	Rejections     int   `json:"rejections"`
	Overrides      int   `json:"overrides"` // decisions against the rules' verdict, with a reason
	Refusals       int   `json:"refusals"`  // decisions the API refused (outcome refused)
	Abandoned      int   `json:"abandoned"` // decisions started and not completed (cancelled, refused by a local check)
	Reanchors      int   `json:"reanchors"`
	Recoveries     int   `json:"recoveries"` // torn tails cut and unsigned lines accepted without being vouched for
}

// events is the number of events counted.
func (c *AccessCounts) events() int {
	return c.Unlocks + c.FailedUnlocks + c.KeyExports + c.KeyImports + c.Registrations + c.Approvals +
		c.Rejections + c.Overrides + c.Refusals + c.Abandoned + c.Reanchors + c.Recoveries
}

// AccessRow is one day (UTC, YYYY-MM-DD) of one profile.
type AccessRow struct {
	Day     string `json:"day"`
	Profile string `json:"profile"`
	AccessCounts
}

// AccessEvent is one entry worth reading on its own in a review: a failed
// unlock, an override, a refusal, a registration, a key export or import,
// a re-anchoring or a recovery.
type AccessEvent struct {
	Time    time.Time    `json:"time"`
	Profile string       `json:"profile"`
	Line    int          `json:"line"`
	Kind    journal.Kind `json:"kind"`
	Detail  string       `json:"detail"`
}

// AccessReview is the access review of one or more journals since a time.
type AccessReview struct {
	Since  time.Time     `json:"since"`
	Rows   []AccessRow   `json:"rows"` // by day, then profile
	Totals AccessCounts  `json:"totals"`
	Events []AccessEvent `json:"events"`
}

// AccessReportBuilder accumulates entries of one or more journals into an
// AccessReview. Feed each journal's entries in order with Add (the team
// store feeds many profiles); Report gives the result.
type AccessReportBuilder struct {
	since  time.Time
	rows   map[[2]string]*AccessCounts
	totals AccessCounts
	events []AccessEvent
}

// NewAccessReportBuilder starts a review of the entries at or after since.
func NewAccessReportBuilder(since time.Time) *AccessReportBuilder {
	return &AccessReportBuilder{since: since, rows: map[[2]string]*AccessCounts{}}
}

// AccessReport reviews one journal's entries (oldest first) for profile;
// when profile is "" it is taken from the genesis entry. It stops at the
// first error of entries.
func AccessReport(entries iter.Seq2[journal.Entry, error], profile string, since time.Time) (AccessReview, error) {
	b := NewAccessReportBuilder(since)
	for e, err := range entries {
		if err != nil {
			return b.Report(), err
		}
		if e.Kind == journal.KindGenesis && profile == "" {
			var g journal.GenesisBody
			if json.Unmarshal(e.Body, &g) == nil {
				profile = g.Profile
			}
		}
		if err := b.Add(profile, e); err != nil {
			return b.Report(), err
		}
	}
	return b.Report(), nil
}

// Add counts one entry of profile's journal. An entry before the start of
// the review is skipped; a body of the wrong shape is an error.
func (b *AccessReportBuilder) Add(profile string, e journal.Entry) error {
	if e.TS.Before(b.since) {
		return nil
	}
	key := [2]string{e.TS.UTC().Format(time.DateOnly), profile}
	row := b.rows[key]
	if row == nil {
		row = &AccessCounts{}
		b.rows[key] = row
	}
	detail, err := count(e, row, &b.totals)
	if err != nil {
		return fmt.Errorf("journal line %d (%s): %w", e.Line, e.Kind, err)
	}
	if detail != "" {
		b.events = append(b.events, AccessEvent{Time: e.TS.UTC(), Profile: profile, Line: e.Line, Kind: e.Kind, Detail: detail})
	}
	return nil
}

// Report returns the review so far.
func (b *AccessReportBuilder) Report() AccessReview {
	r := AccessReview{Since: b.since.UTC(), Totals: b.totals, Events: slices.Clone(b.events), Rows: make([]AccessRow, 0, len(b.rows))}
	for k, c := range b.rows {
		if c.events() == 0 {
			continue // a day with only unlisted kinds (locks, accepted outcomes, checkpoints)
		}
		r.Rows = append(r.Rows, AccessRow{Day: k[0], Profile: k[1], AccessCounts: *c})
	}
	slices.SortFunc(r.Rows, func(x, y AccessRow) int {
		if c := strings.Compare(x.Day, y.Day); c != 0 {
			return c
		}
		return strings.Compare(x.Profile, y.Profile)
	})
	if r.Events == nil {
		r.Events = []AccessEvent{}
	}
	return r
}

// count adds e to row and totals and returns the detail of an event worth
// listing ("" for none).
func count(e journal.Entry, row, tot *AccessCounts) (string, error) {
	both := func(f func(c *AccessCounts)) { f(row); f(tot) }
	switch e.Kind {
	case journal.KindUnlock:
		both(func(c *AccessCounts) { c.Unlocks++ })
	case journal.KindUnlockFailed:
		var b journal.UnlockFailedBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.FailedUnlocks++; c.FailedAttempts = append(c.FailedAttempts, b.Attempt) })
		return fmt.Sprintf("wrong passphrase, attempt %d, back-off %s", b.Attempt, b.Backoff), nil
	case journal.KindKeyExported:
		var b journal.KeyBackupBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.KeyExports++ })
		return fmt.Sprintf("key %s exported to %q", b.Fingerprint, b.File), nil
	case journal.KindKeyImported:
		var b journal.KeyBackupBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.KeyImports++ })
		return fmt.Sprintf("key %s imported from %q", b.Fingerprint, b.File), nil
	case journal.KindKeyRegistered:
		var b journal.KeyRegisteredBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.Registrations++ })
		return fmt.Sprintf("keys registered for API key %s (%s)", b.APIKeyID, b.Status), nil
	case journal.KindDecision:
		return countDecision(e, both)
	case journal.KindOutcome:
		var b journal.OutcomeBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		if b.Result == journal.OutcomeRefused {
			both(func(c *AccessCounts) { c.Refusals++ })
			return fmt.Sprintf("action %s refused by the API: %s", b.ActionID, b.Error), nil
		}
	case journal.KindAbandoned:
		var b journal.AbandonedBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.Abandoned++ })
		return fmt.Sprintf("%s of action %s not completed: %s", b.Decision, b.ActionID, b.Why), nil
	case journal.KindCheckpoint:
		var b journal.CheckpointBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		if b.Reason == "imported" { // a journal started by `keys import`
			both(func(c *AccessCounts) { c.KeyImports++ })
			return "journal started by a key import", nil
		}
	case journal.KindReanchored:
		var b journal.ReanchoredBody
		if err := decode(e, &b); err != nil {
			return "", err
		}
		both(func(c *AccessCounts) { c.Reanchors++ })
		return fmt.Sprintf("journal re-anchored (previous anchor: %s): %s", orNone(b.Problem), b.Why), nil
	case journal.KindRecovery:
		return countRecovery(e, both)
	}
	return "", nil
}

func countDecision(e journal.Entry, both func(func(c *AccessCounts))) (string, error) {
	var b journal.DecisionBody
	if err := decode(e, &b); err != nil {
		return "", err
	}
	if b.Decision == "approve" {
		both(func(c *AccessCounts) { c.Approvals++ })
	} else {
		both(func(c *AccessCounts) { c.Rejections++ })
	}
	if b.Override == "" {
		return "", nil
	}
	both(func(c *AccessCounts) { c.Overrides++ })
	return fmt.Sprintf("%s of action %s against the %s verdict: %s", b.Decision, b.ActionID, b.Verdict, b.Override), nil
}

func countRecovery(e journal.Entry, both func(func(c *AccessCounts))) (string, error) {
	var b journal.RecoveryBody
	if err := decode(e, &b); err != nil {
		return "", err
	}
	both(func(c *AccessCounts) { c.Recoveries++ })
	if a := b.Accepts; a != nil {
		return fmt.Sprintf("accepted seq %d to %d (%s)", a.FromSeq, a.ToSeq, a.Why), nil
	}
	return fmt.Sprintf("cut %d bytes of an interrupted write", b.Length), nil
}

func orNone(s string) string {
	if s == "" {
		return "fine"
	}
	return s
}

// decode reads e's body into v.
func decode(e journal.Entry, v any) error {
	if err := json.Unmarshal(e.Body, v); err != nil {
		return errors.New("the body does not have the shape of its kind")
	}
	return nil
}
