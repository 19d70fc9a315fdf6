package main

import (
	"errors"
	"fmt"

	"github.com/qapprove/qapprove/ui/engine"
)

func init() {
	register(command{name: "keys rebind", usage: "[--passphrase-file F] [--yes]", summary: "bind the profile's key to the API base URL config.toml now gives (deliberately; journaled)", run: runKeysRebind})
}

// runKeysRebind is the one deliberate way to point a registered key at
// another API base URL: the console refuses a config.toml that differs
// from the URL recorded in the keystore at registration.
func runKeysRebind(env *Env, args []string) int {
	fs := newFlags("keys rebind")
	passFile := fs.String("passphrase-file", "", "read the passphrase from this file")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) > 0 {
		return env.Errf(exitUsage, "usage: qapprove keys rebind [--passphrase-file F] [--yes]")
	}
	opts := consoleOptions(env)
	opts.ManageMemory, opts.Rebinding = false, true
	e, err := engine.Open(opts)
	if err != nil {
		return engineError(env, err)
	}
	defer e.Close()
	bound, now := e.BoundURL(), e.Info().APIBase
	if bound == now {
		return env.Errf(exitFail, "profile %s is already bound to %s: nothing to rebind", env.Profile, now)
	}
	fmt.Fprintf(env.Stdout, "profile  %s\nbound to %s\nconfig   %s\n", env.Profile, bound, now)
	if !*yes {
		ok, err := confirm("Type \"rebind\" to sign with this key for the new URL from now on: ", "rebind")
		if err != nil {
			return env.Errf(exitUsage, "%v (or pass --yes)", err)
		}
		if !ok {
			return env.Errf(exitFail, "not confirmed: the key stays bound to %s", bound)
		}
	}
	if code := unlockForScript(env, e, *passFile); code != exitOK {
		return code
	}
	from, to, err := e.Rebind()
	if err != nil {
		if errors.Is(err, engine.ErrRebindNeeded) {
			return env.Errf(exitUsage, "%v", err)
		}
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "rebound profile %s from %s to %s (journaled)\n", env.Profile, from, to)
	return exitOK
}
