package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink"
)

func journalShipCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ship",
		Short: "ship the journal's pending entries to the sinks of config.toml, once",
		Long: `Ship sends every journal entry not yet shipped to the sinks that the [sinks]
table of config.toml names (a SIEM over syslog/TLS, the team store on
PostgreSQL), in order, and reports how far each got. The console does the
same in the background. The journal is verified first; each sink keeps a
cursor, so an entry is never sent to the team store twice and a sink that
was down gets everything it missed. Exit 0 when every sink is up to date,
1 when one could not be reached or refused the entries, 2 when it could
not run (no sinks configured, no journal).`,
		Example:           "  qapprove journal ship\n  qapprove --profile desk journal ship --json",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalShip(c.env, asJSON) }),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each sink's status as JSON")
	return cmd
}

// shipJSON is the --json output of journal ship.
type shipJSON struct {
	JournalEntries uint64        `json:"journal_entries"`
	Sinks          []sink.Status `json:"sinks"`
}

func runJournalShip(env *Env, asJSON bool) int {
	paths := env.Paths()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if !cfg.Sinks.Configured() {
		return env.Errf(exitUsage, "config.toml names no sink: add [sinks.syslog] or [sinks.postgres] (see docs/JOURNAL.md)")
	}
	path := paths.JournalFile(env.Profile)
	if code, ok := journalReadable(env, path); !ok {
		return code
	}
	targets, err := sink.FromConfig(cfg.Sinks, paths)
	if err != nil {
		return env.Errf(exitUsage, "config.toml [sinks]: %v", err)
	}
	rep, err := journal.Verify(path, journal.VerifyOptions{})
	if err != nil {
		return env.Errf(exitUsage, "cannot read the journal: %v", err)
	}
	if p := rep.Problem; p != nil {
		return env.Errf(exitFail, "nothing shipped: the journal is %s at line %d: %s", p.Reason, p.Line, p.Detail)
	}
	sh := sink.NewShipper(path, paths.SinkDir(env.Profile), targets)
	defer sh.Close()
	if err := sh.LoadCursors(); err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	total := rep.Entries
	if !asJSON {
		for _, s := range sh.Statuses() {
			fmt.Fprintf(env.Stdout, "%s: %d of %d entries shipped, %d pending\n", s.Name, s.Shipped, total, total-min(s.Shipped, total))
		}
	}
	ctx, cancel := signalContext(10 * time.Minute)
	defer cancel()
	progress := func(p sink.Progress) {
		if !asJSON {
			fmt.Fprintf(env.Stdout, "%s: sent %d, %d of %d shipped\n", p.Sink, p.Sent, p.Shipped, total)
		}
	}
	sts, err := sh.Ship(ctx, progress)
	if errors.Is(err, sink.ErrBusy) {
		return env.Errf(exitFail, "%v: try again when the console of profile %s is idle", err, env.Profile)
	}
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	return reportShip(env, sts, total, asJSON)
}

// reportShip prints where each sink stands and returns the exit code.
func reportShip(env *Env, sts []sink.Status, total uint64, asJSON bool) int {
	code := exitOK
	for _, s := range sts {
		if s.Err != "" {
			code = exitFail
		}
	}
	if asJSON {
		if c := writeJSON(env, shipJSON{JournalEntries: total, Sinks: sts}); c != exitOK {
			return c
		}
		return code
	}
	for _, s := range sts {
		switch {
		case s.Conflict:
			env.Errf(exitFail, "%s: STOPPED at %d of %d: %s", s.Name, s.Shipped, total, s.Err)
		case s.Err != "":
			env.Errf(exitFail, "%s: %d entries still pending (they stay in the journal and go out on the next run): %s", s.Name, total-min(s.Shipped, total), s.Err)
		default:
			fmt.Fprintf(env.Stdout, "%s: up to date (%d %s)\n", s.Name, s.Shipped, plural(s.Shipped, "entry", "entries"))
		}
	}
	return code
}
