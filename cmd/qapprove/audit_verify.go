package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/sink"
)

// newAuditVerifyCmd is `qapprove audit verify`: every approver's journal
// in the team store, and split views between them.
func newAuditVerifyCmd(c *cli) *cobra.Command {
	var store string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "verify every approver's journal in the team store, and look for split views",
		Long: `Verify reads every journal the team store (PostgreSQL) holds and checks each
as "journal verify" checks a local one: the hash chain, the genesis and
every signature, with the approver's key from its genesis. It then flags
split views: two journals that record different message SHA-256 for the
same action ID, i.e. approvers who were shown and signed different bytes
for one action. The store is --store DSN, else [sinks.postgres] of
config.toml; a password comes from PGPASSWORD, ~/.pgpass or the config's
password_env or password_file, never the command line shown back. Exit 0
when every journal is intact and no split view is found, 1 otherwise,
2 when it could not run.`,
		Example: `  qapprove audit verify --store "postgres://auditor@db.example/qapprove?sslmode=verify-full"
  qapprove audit verify --json`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runAuditVerify(c.env, store, asJSON) }),
	}
	cmd.Flags().StringVar(&store, "store", "", "team store `DSN` (postgres://…); default: [sinks.postgres] of config.toml")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as a JSON object")
	return cmd
}

// openStore connects to the team store named by dsn, or by config.toml.
func openStore(ctx context.Context, env *Env, dsn string) (*sink.Store, error) {
	password := ""
	if dsn == "" {
		paths := env.Paths()
		cfg, err := storage.LoadConfig(paths.ConfigFile())
		if err != nil {
			return nil, err
		}
		p := cfg.Sinks.Postgres
		if p == nil {
			return nil, errors.New("no team store: give --store DSN or set [sinks.postgres] in config.toml")
		}
		if password, err = p.Password(paths); err != nil {
			return nil, err
		}
		dsn = p.DSN
	}
	return sink.OpenStore(ctx, dsn, password)
}

func runAuditVerify(env *Env, dsn string, asJSON bool) int {
	ctx, cancel := signalContext(30 * time.Minute)
	defer cancel()
	st, err := openStore(ctx, env, dsn)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	defer st.Close()
	rep, err := sink.Audit(ctx, st, "")
	if err != nil {
		return env.Errf(exitUsage, "audit: %v", err)
	}
	code := exitOK
	if !rep.OK {
		code = exitFail
	}
	if asJSON {
		if c := writeJSON(env, rep); c != exitOK {
			return c
		}
		return code
	}
	for _, j := range rep.Journals {
		who := j.JournalID
		if j.Profile != "" {
			who += " (profile " + j.Profile + ")"
		}
		if p := j.Problem; p != nil {
			env.Errf(exitFail, "journal %s: %s at line %d (seq %d): %s", who, p.Reason, p.Line, p.Seq, p.Detail)
			continue
		}
		fmt.Fprintf(env.Stdout, "journal %s: intact, %d %s, %d %s, %d %s\n", who,
			j.Entries, plural(j.Entries, "entry", "entries"), j.Decisions, plural(j.Decisions, "decision", "decisions"),
			j.Signatures, plural(j.Signatures, "signature", "signatures"))
	}
	for _, sv := range rep.SplitViews {
		msg := fmt.Sprintf("SPLIT VIEW on action %s:", sv.ActionID)
		for _, d := range sv.Decisions {
			who := d.JournalID
			if d.Profile != "" {
				who += " (" + d.Profile + ")"
			}
			msg += fmt.Sprintf(" journal %s seq %d %s message %s;", who, d.Seq, d.Decision, d.MessageSHA256)
		}
		env.Errf(exitFail, "%s", msg)
	}
	if len(rep.Journals) == 0 {
		fmt.Fprintln(env.Stdout, "the team store holds no journal yet")
	}
	return code
}

// againstStore compares the local journal at path with the team store
// (journal verify --against-store): the comparison, the exit code, and
// one line saying what was found.
func againstStore(env *Env, path, dsn string) (*sink.Comparison, int, string) {
	ctx, cancel := signalContext(10 * time.Minute)
	defer cancel()
	st, err := openStore(ctx, env, dsn)
	if err != nil {
		return nil, exitUsage, err.Error()
	}
	defer st.Close()
	c, err := sink.Compare(ctx, st, path)
	switch {
	case errors.Is(err, sink.ErrNotShipped):
		return c, exitFail, "team store: " + err.Error()
	case err != nil:
		return nil, exitUsage, "team store: " + err.Error()
	case c.RolledBack:
		return c, exitFail, "journal rolled back: " + c.Detail
	}
	msg := fmt.Sprintf("team store: in step (%d of %d %s shipped)", c.StoreEntries, c.LocalEntries, plural(c.LocalEntries, "entry", "entries"))
	if len(c.Others) > 0 {
		msg += fmt.Sprintf("; note: the store also holds %d other journal(s) signed by this key: %v", len(c.Others), c.Others)
	}
	return c, exitOK, msg
}
