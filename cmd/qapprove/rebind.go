package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
)

// rebindOptions are the flags of `qapprove keys rebind`.
type rebindOptions struct {
	passFile string
	yes      bool
}

func keysRebindCmd(c *cli) *cobra.Command {
	var o rebindOptions
	cmd := &cobra.Command{
		Use:   "rebind",
		Short: "bind the profile's key to the API base URL config.toml now gives (deliberately; journaled)",
		Long: `Rebind points the profile's registered key at the API base URL that config.toml
now gives. The console refuses a config.toml whose URL differs from the one
recorded in the keystore at registration; rebind is the one deliberate way
to change it. It shows both URLs, asks you to type "rebind" (or --yes),
unlocks the key and journals the change.`,
		Example:           "  qapprove --profile desk keys rebind",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runKeysRebind(c.env, o) }),
	}
	cmd.Flags().StringVar(&o.passFile, "passphrase-file", "", "read the passphrase from `FILE` (default: ask on the terminal)")
	cmd.Flags().BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	return cmd
}

// runKeysRebind is the one deliberate way to point a registered key at
// another API base URL: the console refuses a config.toml that differs
// from the URL recorded in the keystore at registration.
func runKeysRebind(env *Env, o rebindOptions) int {
	opts := consoleOptions(env)
	opts.Rebinding = true
	e, err := app.Open(opts)
	if err != nil {
		return engineError(env, err)
	}
	defer e.Close()
	bound, now := e.BoundURL(), e.Info().APIBase
	if bound == now {
		return env.Errf(exitFail, "profile %s is already bound to %s: nothing to rebind", env.Profile, now)
	}
	fmt.Fprintf(env.Stdout, "profile  %s\nbound to %s\nconfig   %s\n", env.Profile, bound, now)
	if !o.yes {
		ok, err := confirm("Type \"rebind\" to sign with this key for the new URL from now on: ", "rebind")
		if err != nil {
			return env.Errf(exitUsage, "%v (or pass --yes)", err)
		}
		if !ok {
			return env.Errf(exitFail, "not confirmed: the key stays bound to %s", bound)
		}
	}
	if code := unlockForScript(env, e, o.passFile); code != exitOK {
		return code
	}
	from, to, err := e.Rebind()
	if err != nil {
		if errors.Is(err, app.ErrRebindNeeded) {
			return env.Errf(exitUsage, "%v", err)
		}
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "rebound profile %s from %s to %s (journaled)\n", env.Profile, from, to)
	return exitOK
}
