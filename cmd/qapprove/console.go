package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/engine"
)

func init() {
	register(command{name: "", summary: "open the console for the active profile", run: runConsole})
	register(command{name: "pending", usage: "[--json] [--cached] [--passphrase-file F]", summary: "pending actions with verdicts", run: runPending})
	register(command{name: "approve", usage: "ID [--reason TEXT] [--yes] [--passphrase-file F]", summary: "approve one action without the TUI", run: func(env *Env, args []string) int { return runDecide(env, args, true) }})
	register(command{name: "reject", usage: "ID [--reason TEXT] [--yes] [--passphrase-file F]", summary: "reject one action without the TUI", run: func(env *Env, args []string) int { return runDecide(env, args, false) }})
}

// openEngine opens the engine for the active profile, turning the usual
// set-up problems into one clear line and the right exit code.
func openEngine(env *Env) (*engine.Engine, int) {
	e, err := engine.Open(engine.Options{Paths: env.Paths(), Profile: env.Profile, Keystore: env.Keystore, Version: version})
	if err != nil {
		return nil, engineError(env, err)
	}
	return e, exitOK
}

// engineError prints why the engine could not open, with the exit code.
func engineError(env *Env, err error) int {
	switch {
	case errors.Is(err, engine.ErrNoProfile), errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrUnavailable), errors.Is(err, engine.ErrRebindNeeded):
		return env.Errf(exitUsage, "%v", err)
	}
	return env.Errf(exitFail, "%v", err)
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func runConsole(env *Env, args []string) int {
	if len(args) > 0 {
		return env.Errf(exitUsage, "unknown command %q (see qapprove --help)", strings.Join(args, " "))
	}
	e, err := engine.Open(consoleOptions(env))
	if err != nil && (errors.Is(err, engine.ErrNoProfile) || errors.Is(err, secrets.ErrNotFound)) && onboard != nil {
		// No key yet: run the registration wizard, then open the console.
		if code := onboard(env); code != exitOK {
			return code
		}
		e, err = engine.Open(consoleOptions(env))
	}
	if err != nil {
		return engineError(env, err)
	}
	return runConsoleOn(env, e)
}

// consoleOptions are the engine options of a long-lived console session:
// the engine tunes the collector unless GOGC or GOMEMLIMIT is set
// (docs/BENCHMARKS.md).
func consoleOptions(env *Env) engine.Options {
	return engine.Options{Paths: env.Paths(), Profile: env.Profile, Keystore: env.Keystore, Version: version,
		ManageMemory: os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == ""}
}

// onboard, when set, registers a key for a profile that has none (the
// wizard); it returns exitOK when the console can open.
var onboard func(env *Env) int

// runConsoleOn runs the TUI on an opened engine and closes it afterwards.
func runConsoleOn(env *Env, e *engine.Engine) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	opts := ui.Options{Context: ctx, ExtraScreens: consoleExtraScreens(env)}
	err := ui.Run(ctx, e, opts)
	writeHeapProfile()
	if cerr := e.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return env.Errf(exitFail, "%v", err)
	}
	return exitOK
}

// consoleExtraScreens are the tabs after the pending list.
var consoleExtraScreens = func(env *Env) []func(*ui.Context) ui.Screen { return nil }

// unlockForScript unlocks e with a passphrase from a file or the terminal.
func unlockForScript(env *Env, e *engine.Engine, file string) int {
	for attempt := 0; attempt < 3; attempt++ {
		if wait := e.UnlockBackoff(); wait > 0 {
			if file != "" {
				return env.Errf(exitFail, "too many wrong passphrases: wait %s", wait.Round(time.Second))
			}
			time.Sleep(wait)
		}
		p, err := readPassphrase(env, file, "Passphrase for profile "+env.Profile+": ")
		if err != nil {
			return env.Errf(exitUsage, "%v", err)
		}
		err = e.Unlock(p)
		clear(p)
		if err == nil {
			return exitOK
		}
		if !errors.Is(err, secrets.ErrWrongPassphrase) || file != "" {
			return env.Errf(exitFail, "%v", err)
		}
		fmt.Fprintln(env.Stderr, "wrong passphrase")
	}
	return env.Errf(exitFail, "wrong passphrase")
}

// pendingJSON is one action in `qapprove pending --json`.
type pendingJSON struct {
	ID          string             `json:"id"`
	Type        int                `json:"type"`
	Expires     time.Time          `json:"expires"`
	Network     string             `json:"network,omitempty"`
	ChainID     string             `json:"chain_id,omitempty"`
	Asset       string             `json:"asset,omitempty"`
	Amount      string             `json:"amount,omitempty"`
	From        string             `json:"from,omitempty"`
	To          string             `json:"to,omitempty"`
	Whitelisted bool               `json:"whitelisted"`
	Policy      string             `json:"policy,omitempty"`
	Threshold   int                `json:"threshold"`
	Approvals   int                `json:"approvals"`
	Members     int                `json:"members"`
	Verdict     governance.Verdict `json:"verdict"`
	PayloadErr  string             `json:"payload_error,omitempty"`
}

func runPending(env *Env, args []string) int {
	fs := newFlags("pending")
	asJSON := fs.Bool("json", false, "JSON output")
	cached := fs.Bool("cached", false, "show the cached list without unlocking")
	passFile := fs.String("passphrase-file", "", "read the passphrase from this file")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) > 0 {
		return env.Errf(exitUsage, "usage: qapprove pending [--json] [--cached] [--passphrase-file F]")
	}
	e, code := openEngine(env)
	if e == nil {
		return code
	}
	defer e.Close()
	e.Prepare()
	if !*cached {
		if code := unlockForScript(env, e, *passFile); code != exitOK {
			return code
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := e.Client().Token(ctx); err != nil {
			return env.Errf(exitFail, "%v", err)
		}
		if err := e.Refresh(ctx); err != nil {
			return env.Errf(exitFail, "%v", err)
		}
	}
	now := time.Now()
	actions := e.Actions()
	if *asJSON {
		out := make([]pendingJSON, 0, len(actions))
		for _, a := range actions {
			out = append(out, toPendingJSON(a, engine.Evaluate(e.Rules(), a, now)))
		}
		return writeJSON(env, out)
	}
	if len(actions) == 0 {
		fmt.Fprintln(env.Stdout, "no pending actions")
		return exitOK
	}
	for _, a := range actions {
		fmt.Fprintln(env.Stdout, pendingLine(a, engine.Evaluate(e.Rules(), a, now), now))
	}
	return exitOK
}

func toPendingJSON(a *client.Action, gv governance.Verdict) pendingJSON {
	p := pendingJSON{ID: a.ID, Type: a.Type, Expires: a.Expires.UTC(), Verdict: gv, PayloadErr: a.PayloadErr()}
	if a.Payload != nil {
		pol := a.Payload.Policy
		p.Policy, p.Threshold, p.Approvals, p.Members = pol.Name, pol.Threshold, a.Payload.Approvals, len(pol.Members)
		if p.Policy == "" {
			p.Policy = a.Payload.PolicyName
		}
		if t := a.Payload.Transaction; t != nil {
			p.Network, p.ChainID, p.Asset = t.Network.Name, t.Network.ChainID, t.Asset.Symbol
			p.Amount = client.FormatAmount(t.Amount, t.Asset.Decimals)
			p.From, p.To, p.Whitelisted = t.From, t.To, t.Whitelisted
		}
	}
	return p
}

// pendingLine is one action in `qapprove pending`.
func pendingLine(a *client.Action, gv governance.Verdict, now time.Time) string {
	p := toPendingJSON(a, gv)
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %-7s", a.ID, strings.ToUpper(gv.Level.String()))
	if a.Payload != nil && a.Payload.Transaction != nil {
		wl := "not whitelisted"
		if p.Whitelisted {
			wl = "whitelisted"
		}
		fmt.Fprintf(&b, " %s %s on %s (%s) to %s [%s]", p.Amount, p.Asset, p.Network, p.ChainID, p.To, wl)
	} else if a.Payload != nil && a.Payload.KeyUpdate != nil {
		fmt.Fprintf(&b, " key update for %s", a.Payload.KeyUpdate.APIKeyID)
	} else {
		fmt.Fprintf(&b, " (payload unreadable: %s)", a.PayloadErr())
	}
	fmt.Fprintf(&b, " policy %q %d/%d, expires in %s", p.Policy, p.Approvals, p.Threshold, a.Expires.Sub(now).Round(time.Second))
	for _, w := range gv.Warnings {
		fmt.Fprintf(&b, " WARNING: %s", w)
	}
	return b.String()
}

func runDecide(env *Env, args []string, approve bool) int {
	verb := map[bool]string{true: "approve", false: "reject"}[approve]
	fs := newFlags(verb)
	reason := fs.String("reason", "", "why, when going against the verdict (journaled)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	passFile := fs.String("passphrase-file", "", "read the passphrase from this file")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 1 {
		return env.Errf(exitUsage, "usage: qapprove %s ID [--reason TEXT] [--yes] [--passphrase-file F]", verb)
	}
	id := pos[0]
	if !client.ValidID(id) {
		return env.Errf(exitUsage, "%q is not a valid action ID", id)
	}
	if len(*reason) > 1000 {
		return env.Errf(exitUsage, "--reason is longer than 1000 characters")
	}
	e, code := openEngine(env)
	if e == nil {
		return code
	}
	defer e.Close()
	e.Prepare()
	if ok, why := e.SelftestOK(); !ok {
		return env.Errf(exitFail, "%s", why)
	}
	if code := unlockForScript(env, e, *passFile); code != exitOK {
		return code
	}
	ctx, cancel := signalContext(60 * time.Second)
	defer cancel()
	a, err := e.Client().GetAction(ctx, id)
	if err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	now := time.Now()
	if _, err := a.MessageToSign(now); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	gv := engine.Evaluate(e.Rules(), a, now)
	fmt.Fprintln(env.Stdout, describeAction(a, gv))
	if engine.Against(verb, gv.Level.String()) && strings.TrimSpace(*reason) == "" {
		return env.Errf(exitFail, "to %s an action whose verdict is %s, give the reason with --reason TEXT (it is journaled)", verb, gv.Level)
	}
	if !*yes {
		ok, err := confirm(fmt.Sprintf("Type %q to %s action %s: ", verb, verb, a.ID), verb)
		if err != nil {
			return env.Errf(exitUsage, "%v (or pass --yes)", err)
		}
		if !ok {
			return env.Errf(exitFail, "not confirmed: nothing was signed")
		}
	}
	out, err := e.Decide(ctx, ui.Decision{ActionID: a.ID, Approve: approve, Override: strings.TrimSpace(*reason), Verdict: gv.Level.String()})
	if err != nil {
		return env.Errf(exitFail, "%s: %s", out.Result, out.Err)
	}
	fmt.Fprintf(env.Stdout, "%sd %s: %s\n", verb, a.ID, out.Result)
	return exitOK
}

// describeAction is what a confirmation repeats: what, where, verdict.
func describeAction(a *client.Action, gv governance.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "action   %s\n", a.ID)
	if a.Payload != nil && a.Payload.Transaction != nil {
		t := a.Payload.Transaction
		wl := "NOT whitelisted"
		if t.Whitelisted {
			wl = "whitelisted"
		}
		fmt.Fprintf(&b, "amount   %s %s\n", client.FormatAmount(t.Amount, t.Asset.Decimals), t.Asset.Symbol)
		fmt.Fprintf(&b, "to       %s (%s)\n", t.To, wl)
		fmt.Fprintf(&b, "network  %s (chain %s)\n", t.Network.Name, t.Network.ChainID)
	} else if a.PayloadErr() != "" {
		fmt.Fprintf(&b, "payload  unreadable: %s\n", a.PayloadErr())
	}
	fmt.Fprintf(&b, "verdict  %s", strings.ToUpper(gv.Level.String()))
	for _, m := range gv.Matched {
		fmt.Fprintf(&b, "\n  - %s (%s): %s", m.Rule, m.Verdict, m.Reason)
	}
	for _, w := range gv.Warnings {
		fmt.Fprintf(&b, "\n  ! %s", w)
	}
	return b.String()
}

// confirm asks on the terminal and reports whether the answer was word.
func confirm(prompt, word string) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, errors.New("no terminal to confirm on")
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	buf := make([]byte, 64)
	n, _ := tty.Read(buf)
	return strings.TrimSpace(string(buf[:n])) == word, nil
}

// signalContext is a context with a timeout that SIGINT/SIGTERM cancel.
func signalContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	return ctx, func() { stop(); cancel() }
}

// writeHeapProfile writes a heap profile to $QAPPROVE_HEAPPROFILE when set:
// a diagnostic for the memory benchmark of docs/BENCHMARKS.md.
func writeHeapProfile() {
	path := os.Getenv("QAPPROVE_HEAPPROFILE")
	if path == "" {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		pprof.WriteHeapProfile(f)
		f.Close()
	}
}
