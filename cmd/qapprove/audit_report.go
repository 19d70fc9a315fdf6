package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink"
)

// auditReportOptions are the flags of `qapprove audit report`.
type auditReportOptions struct {
	since  string
	format string
	store  string           // --store: DSN, or "config" ([sinks.postgres])
	now    func() time.Time // tests
}

func newAuditReportCmd(c *cli) *cobra.Command {
	o := auditReportOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "access review from the journal: unlocks, failed unlocks, key exports/imports, registrations, decisions, overrides, refusals",
		Long: `Report prints the access review of the profile's journal, per day (UTC) and
profile: unlocks, failed unlocks with their attempt numbers, key exports
and imports, registrations, approvals, rejections, overrides, refusals,
abandoned decisions, re-anchorings and recoveries, then the entries worth
reading one by one. --since takes days (90d), a Go duration (36h) or a date
(2026-01-31). The journal is verified first: when it is not intact the
report is still printed, with a warning and exit 1. With --store it reviews
every approver's journal in the team store instead (each verified first,
as "audit verify" does), one row per day and profile.`,
		Example:           "  qapprove audit report\n  qapprove audit report --since 30d --format csv > review.csv\n  qapprove audit report --store config --since 90d",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runAuditReport(c.env, o) }),
	}
	cmd.Flags().StringVar(&o.since, "since", "90d", "review entries from `WHEN` on: 90d, 36h or 2026-01-31")
	cmd.Flags().StringVar(&o.format, "format", "text", "`FORMAT`: text, json or csv")
	cmd.Flags().StringVar(&o.store, "store", "", "review the team store at `DSN` (\"config\": [sinks.postgres]) instead of the local journal")
	c.completeFlag(cmd, "format", "text", "json", "csv")
	return cmd
}

// parseSince reads --since: days (90d), a duration back from now (36h), a
// date or an RFC 3339 time; "" is the beginning.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 100*366 {
			return time.Time{}, fmt.Errorf("--since %q: a number of days, like 90d", s)
		}
		return now.AddDate(0, 0, -n), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use days (90d), a duration (36h) or a date (2026-01-31)", s)
}

func runAuditReport(env *Env, o auditReportOptions) int {
	if o.format != "text" && o.format != "json" && o.format != "csv" {
		return env.Errf(exitUsage, "--format must be text, json or csv, not %q", o.format)
	}
	since, err := parseSince(o.since, o.now())
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if o.store != "" {
		return runStoreReport(env, o, since)
	}
	path, _, rep, code := verifyActiveJournal(env, "read", nil, nil)
	if rep == nil {
		return code
	}
	review, err := app.AccessReport(journal.ReadEntries(path), env.Profile, since)
	if errors.Is(err, journal.ErrNoJournal) {
		return env.Errf(exitUsage, "%v", err)
	}
	if err != nil {
		return env.Errf(exitFail, "audit report: %v", err)
	}
	if code = writeReview(env, o.format, review); code != exitOK {
		return code
	}
	if p := rep.Problem; p != nil {
		return env.Errf(exitFail, "warning: the journal is not intact (%s at line %d: %s): this review may be incomplete", p.Reason, p.Line, p.Detail)
	}
	return exitOK
}

// runStoreReport is `audit report --store`: every journal in the team
// store, verified first, reviewed together.
func runStoreReport(env *Env, o auditReportOptions, since time.Time) int {
	ctx, cancel := signalContext(30 * time.Minute)
	defer cancel()
	dsn := o.store
	if dsn == "config" {
		dsn = ""
	}
	st, err := openStore(ctx, env, dsn)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	defer st.Close()
	audit, err := sink.Audit(ctx, st, "")
	if err != nil {
		return env.Errf(exitUsage, "audit: %v", err)
	}
	b := app.NewAccessReportBuilder(since)
	for _, j := range audit.Journals {
		profile := j.Profile
		if profile == "" {
			profile = j.JournalID
		}
		err := st.Lines(ctx, j.JournalID, 0, func(_ uint64, _ string, line []byte) error {
			e, err := journal.ParseLine(line)
			if err != nil {
				return nil // counted as a problem by the audit above
			}
			return b.Add(profile, e)
		})
		if err != nil {
			return env.Errf(exitUsage, "read journal %s from the store: %v", j.JournalID, err)
		}
	}
	if code := writeReview(env, o.format, b.Report()); code != exitOK {
		return code
	}
	code := exitOK
	for _, j := range audit.Journals {
		if p := j.Problem; p != nil {
			code = env.Errf(exitFail, "warning: journal %s (%s) in the store is not intact (%s at line %d: %s): this review may be incomplete",
				j.JournalID, j.Profile, p.Reason, p.Line, p.Detail)
		}
	}
	return code
}

// writeReview prints review in format (text, json or csv).
func writeReview(env *Env, format string, review app.AccessReview) int {
	switch format {
	case "json":
		return writeJSON(env, review)
	case "csv":
		return writeReviewCSV(env, review)
	default:
		return writeReviewText(env, review)
	}
}

// reviewColumns are the count columns of the text and CSV reports.
var reviewColumns = []string{"unlocks", "failed_unlocks", "failed_attempts", "key_exports", "key_imports", "registrations",
	"approvals", "rejections", "overrides", "refusals", "abandoned", "reanchors", "recoveries"}

func reviewCells(c app.AccessCounts) []string {
	attempts := make([]string, len(c.FailedAttempts))
	for i, a := range c.FailedAttempts {
		attempts[i] = strconv.Itoa(a)
	}
	n := strconv.Itoa
	return []string{n(c.Unlocks), n(c.FailedUnlocks), strings.Join(attempts, ";"), n(c.KeyExports), n(c.KeyImports),
		n(c.Registrations), n(c.Approvals), n(c.Rejections), n(c.Overrides), n(c.Refusals), n(c.Abandoned),
		n(c.Reanchors), n(c.Recoveries)}
}

func writeReviewCSV(env *Env, r app.AccessReview) int {
	w := csv.NewWriter(env.Stdout)
	_ = w.Write(append([]string{"day", "profile"}, reviewColumns...)) // errors stick in w: checked below
	for _, row := range r.Rows {
		_ = w.Write(append([]string{row.Day, csvCell(row.Profile)}, reviewCells(row.AccessCounts)...))
	}
	_ = w.Write(append([]string{"total", ""}, reviewCells(r.Totals)...))
	w.Flush()
	if err := w.Error(); err != nil {
		return env.Errf(exitFail, "write CSV: %v", err)
	}
	return exitOK
}

// csvCell defuses a spreadsheet formula in text that came from a file.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeReviewText(env *Env, r app.AccessReview) int {
	fmt.Fprintf(env.Stdout, "access review since %s (UTC days)\n\n", r.Since.Format(time.RFC3339))
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\tprofile\tunlocks\tfailed\tattempts\texports\timports\tregistered\tapproved\trejected\toverrides\trefused\tabandoned\tre-anchored\trecoveries\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", row.Day, row.Profile, strings.Join(reviewCells(row.AccessCounts), "\t"))
	}
	fmt.Fprintf(tw, "total\t\t%s\t\n", strings.Join(reviewCells(r.Totals), "\t"))
	if err := tw.Flush(); err != nil {
		return env.Errf(exitFail, "write: %v", err)
	}
	if len(r.Events) > 0 {
		fmt.Fprintln(env.Stdout, "\nevents:")
	}
	for _, e := range r.Events {
		fmt.Fprintf(env.Stdout, "%s  %s  line %d  %s  %s\n", e.Time.Format(time.RFC3339), e.Profile, e.Line, e.Kind, e.Detail)
	}
	return exitOK
}
