package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/ui/journalview"
)

func journalCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "journal viewer (TUI)",
		Long: `Journal opens the viewer of the profile's audit journal: every decision,
refusal, unlock and lock, signed and hash-chained, verified as it is shown
against the profile's key and the keychain anchor. Press ? for its keys; e
exports the listed entries. "journal verify" and "journal export" are the
same checks and export for scripts.`,
		Example:           "  qapprove journal\n  qapprove journal verify --json\n  qapprove journal export --format csv > journal.csv",
		Args:              commandArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalViewer(c.env) }),
	}
	cmd.AddCommand(journalVerifyCmd(c), journalExportCmd(c), journalShipCmd(c), journalReanchorCmd(c))
	return cmd
}

// runJournalViewer opens the journal viewer of the active profile. When the
// keystore holds the profile's bundle, the journal is verified against its
// BLS public key and the stored anchor.
func runJournalViewer(env *Env) int {
	opts := journalViewerOptions(env)
	if code, ok := journalReadable(env, opts.Path); !ok {
		return code
	}
	c := journalview.NewContext(false)
	v := journalview.New(c, opts)
	defer v.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := journalview.Run(ctx, c, v); err != nil && !errors.Is(err, context.Canceled) {
		return env.Errf(exitFail, "journal viewer: %v", err)
	}
	return exitOK
}

// journalReadable prints one clear line and exit 2 when the journal of the
// profile is missing or cannot be read.
func journalReadable(env *Env, path string) (int, bool) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return env.Errf(exitUsage, "profile %s has no journal yet (%s): it is created when a key is registered (qapprove keys register)", env.Profile, path), false
	case err != nil:
		return env.Errf(exitUsage, "cannot read the journal %s: %v", path, errors.Unwrap(err)), false
	case !st.Mode().IsRegular():
		return env.Errf(exitUsage, "the journal %s is not a regular file", path), false
	}
	return exitOK, true
}
