package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
)

// Replayed is one journaled decision whose verdict was derived again.
type Replayed struct {
	Line     int       `json:"line"`
	TS       time.Time `json:"ts"`
	ActionID string    `json:"action_id"`
	Decision string    `json:"decision"`
	// Journaled is the verdict and rules the journal recorded; Now is what
	// the recorded rules give today on the recorded input ("" when it
	// could not be replayed, and Problem says why).
	Journaled      string   `json:"journaled"`
	JournaledRules []string `json:"journaled_rules"`
	Now            string   `json:"now,omitempty"`
	NowRules       []string `json:"now_rules,omitempty"`
	RulesSHA256    string   `json:"rules_sha256,omitempty"`
	Engine         string   `json:"engine,omitempty"` // the engine version recorded
	Problem        string   `json:"problem,omitempty"`
}

// Differs reports whether the replay gives another verdict or other
// rules than the journal recorded.
func (r Replayed) Differs() bool {
	return r.Problem == "" && (r.Now != r.Journaled || !slices.Equal(r.NowRules, r.JournaledRules))
}

// ReplayReport is the outcome of Replay: every decision since the cut-off
// that differs or could not be replayed, and the counts.
type ReplayReport struct {
	Decisions  int        `json:"decisions"`  // decisions at or after since
	Same       int        `json:"same"`       // replayed to the same verdict and rules
	Differ     int        `json:"differ"`     // replayed to another verdict or other rules
	Unreplayed int        `json:"unreplayed"` // no input or rules recorded, rules not kept, …
	Entries    []Replayed `json:"entries"`    // the differing and unreplayed decisions, in journal order
}

// Replay re-derives the verdict of every decision in profile's journal
// journaled at or after since, with the rules file recorded (kept by hash
// in the data folder) on the input recorded, and the velocity index as
// the journal stood before it (rebuilt as the journal is read). It does
// not verify the journal's signatures: run `journal verify` for that.
func Replay(paths storage.Paths, profile string, since time.Time) (*ReplayReport, error) {
	f, err := os.Open(paths.JournalFile(profile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for profile %s", journal.ErrNoJournal, profile)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &ReplayReport{}
	h := newHistory()
	rules := map[string]*governance.RuleSet{}
	ruleErr := map[string]error{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), journal.MaxLineBytes+1)
	for n := 1; sc.Scan(); n++ {
		e, err := journal.ParseLine(sc.Bytes())
		if err != nil {
			return rep, fmt.Errorf("journal line %d: %v", n, err)
		}
		if e.Kind == journal.KindDecision && !e.TS.Before(since) {
			r := replayOne(paths, profile, e, h, rules, ruleErr)
			r.Line = n
			rep.Decisions++
			switch {
			case r.Problem != "":
				rep.Unreplayed++
			case r.Differs():
				rep.Differ++
			default:
				rep.Same++
				continue
			}
			rep.Entries = append(rep.Entries, r)
		}
		h.onEntry(e.Kind, e.TS, e.Body)
	}
	return rep, sc.Err()
}

// replayOne replays one decision entry against the history before it.
func replayOne(paths storage.Paths, profile string, e journal.Entry, h *history,
	rules map[string]*governance.RuleSet, ruleErr map[string]error) Replayed {
	var d journal.DecisionBody
	r := Replayed{TS: e.TS}
	if err := json.Unmarshal(e.Body, &d); err != nil {
		r.Problem = "the decision body cannot be read"
		return r
	}
	r.ActionID, r.Decision, r.Journaled, r.JournaledRules = d.ActionID, d.Decision, d.Verdict, d.Rules
	r.RulesSHA256, r.Engine = d.RulesSHA256, d.Engine
	if r.JournaledRules == nil {
		r.JournaledRules = []string{}
	}
	switch {
	case d.RulesSHA256 == "":
		r.Problem = "no rules hash recorded (journaled before replayable verdicts)"
		return r
	case len(d.Input) == 0:
		r.Problem = "no input recorded (journaled before replayable verdicts, or larger than 64 KiB)"
		return r
	}
	rs, ok := rules[d.RulesSHA256]
	if !ok && ruleErr[d.RulesSHA256] == nil {
		var err error
		if rs, err = LoadStoredRules(paths, profile, d.RulesSHA256); err != nil {
			ruleErr[d.RulesSHA256] = err
		} else {
			rules[d.RulesSHA256] = rs
		}
	}
	if err := ruleErr[d.RulesSHA256]; err != nil {
		r.Problem = err.Error()
		return r
	}
	var in governance.Input
	if err := json.Unmarshal(d.Input, &in); err != nil {
		r.Problem = "the recorded input cannot be read: " + clipErr(err)
		return r
	}
	in.History = h.vel
	gv := rs.Evaluate(in)
	r.Now, r.NowRules = gv.Level.String(), ruleNames(gv)
	if d.Engine != governance.EngineVersion {
		r.Engine = fmt.Sprintf("%s (replayed with %s)", d.Engine, governance.EngineVersion)
	}
	return r
}
