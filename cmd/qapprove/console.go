package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/ui"
)

// pendingOptions are the flags of `qapprove pending`.
type pendingOptions struct {
	json, cached bool
	passFile     string
}

func pendingCmd(c *cli) *cobra.Command {
	var o pendingOptions
	cmd := &cobra.Command{
		Use:   "pending",
		Short: "pending actions with verdicts, one per line or JSON",
		Long: `Pending unlocks the key, signs in, and prints the actions that wait for your
decision, each with its governance verdict, the rules that produced it and
policy-hygiene warnings (1-of-1 and N-of-N thresholds). Without a list
endpoint the actions come from the feed, merged with the cache.

--cached prints the last list seen, without unlocking or using the network.
--json rows carry the exact rule input document, which "qapprove rules test
--actions" replays.`,
		Example: `  qapprove pending
  qapprove pending --json --passphrase-file ~/.qapprove-pass > pending.json
  qapprove pending --cached`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runPending(c.env, o) }),
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.BoolVar(&o.cached, "cached", false, "show the cached list without unlocking")
	f.StringVar(&o.passFile, "passphrase-file", "", "read the passphrase from `FILE` (default: ask on the terminal)")
	return cmd
}

// decideOptions are the flags of `qapprove approve|reject`.
type decideOptions struct {
	reason, confirm, passFile string
	yes                       bool
}

func decideCmd(c *cli, approve bool) *cobra.Command {
	verb := map[bool]string{true: "approve", false: "reject"}[approve]
	var o decideOptions
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: verb + " one action without the TUI",
		Long: `Decide one action without the console: re-read the action from the API (refused
when it is no longer pending or has expired), print what it is and its verdict,
ask for confirmation, then sign, journal and send. Going against the verdict
needs --reason (journaled); a reject takes an optional --reason.

For a mainnet action, an amount above the profile's strong_confirm_above, or
when a rule asks for it, an approval needs the last 4 characters of the
destination typed (or --yes --confirm XXXX). The passphrase comes from the
terminal or --passphrase-file.`,
		Example: "  qapprove " + verb + " 2VvsjKTf31cnRwMqApprvDemo1\n" +
			"  qapprove " + verb + " 2VvsjKTf31cnRwMqApprvDemo1 --yes --reason 'agreed with the desk' --passphrase-file ~/.qapprove-pass",
		Args:              argsBetween(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func(args []string) int { return runDecide(c.env, args[0], o, approve) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.reason, "reason", "", "the reason, journaled: `TEXT` (required when going against the verdict)")
	f.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	f.StringVar(&o.confirm, "confirm", "", "with --yes: the last 4 `CHARS` of the destination, when the strong confirmation is required")
	f.StringVar(&o.passFile, "passphrase-file", "", "read the passphrase from `FILE` (default: ask on the terminal)")
	c.completeFlag(cmd, "reason")
	c.completeFlag(cmd, "confirm")
	return cmd
}

// openEngine opens the engine for the active profile, turning the usual
// set-up problems into one clear line and the right exit code.
func openEngine(env *Env) (*app.Engine, int) {
	e, err := app.Open(app.Options{Paths: env.Paths(), Profile: env.Profile, Keystore: env.Keystore, Version: version, KDF: env.KDF, WrapPIN: terminalPIN(env)})
	if err != nil {
		return nil, engineError(env, err)
	}
	return e, exitOK
}

// engineError prints why the engine could not open, with the exit code.
func engineError(env *Env, err error) int {
	switch {
	case errors.Is(err, app.ErrNoProfile), errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrUnavailable), errors.Is(err, app.ErrRebindNeeded):
		return env.Errf(exitUsage, "%v", err)
	}
	return env.Errf(exitFail, "%v", err)
}

func runConsole(env *Env) int {
	pin, wipe := consolePIN(env)
	defer wipe()
	opts := consoleOptions(env)
	opts.WrapPIN = pin
	e, err := app.Open(opts)
	if err != nil && (errors.Is(err, app.ErrNoProfile) || errors.Is(err, secrets.ErrNotFound)) && onboard != nil {
		// No key yet: run the registration wizard, then open the console.
		if code := onboard(env); code != exitOK {
			return code
		}
		e, err = app.Open(consoleOptions(env))
	}
	if err != nil {
		return engineError(env, err)
	}
	return runConsoleOn(env, e)
}

// consoleOptions are the engine options of a console session.
func consoleOptions(env *Env) app.Options {
	return app.Options{Paths: env.Paths(), Profile: env.Profile, Keystore: env.Keystore, Version: version, KDF: env.KDF}
}

// consoleMemoryLimit is the soft memory limit of a long-lived console:
// the collector works harder as the heap nears it, so a console holding
// 100,000 actions stays under its 150 MB target (docs/BENCHMARKS.md).
const consoleMemoryLimit = 120 << 20

// limitConsoleMemory sets the console's memory limit once, unless the
// operator tunes the collector with GOMEMLIMIT or GOGC.
func limitConsoleMemory() {
	if os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == "" {
		debug.SetMemoryLimit(consoleMemoryLimit)
	}
}

// onboard, when set, registers a key for a profile that has none (the
// wizard); it returns exitOK when the console can open.
var onboard func(env *Env) int

// runConsoleOn runs the TUI on an opened engine and closes it afterwards.
func runConsoleOn(env *Env, e *app.Engine) int {
	limitConsoleMemory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	opts := ui.Options{Context: ctx, ExtraScreens: consoleExtraScreens(env)}
	p := ui.NewProgram(ctx, e, opts)
	stop := forwardSignals(p)
	stopCPU := startCPUProfile()
	err := p.Run()
	stopCPU()
	stop()
	writeHeapProfile()
	if cerr := e.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return env.Errf(exitFail, "%v", err)
	}
	return exitOK
}

// forwardSignals asks the console to lock the key and quit on SIGINT,
// SIGTERM or SIGHUP (the terminal went away); a second signal kills it
// (Run's deferred lock and the engine's Close still lock). stop ends the
// forwarding.
func forwardSignals(p *ui.Program) (stop func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			p.Send(ui.InterruptMsg{})
		case <-done:
			return
		}
		select {
		case <-sig:
			p.Kill()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}

// consoleExtraScreens are the tabs after the pending list.
var consoleExtraScreens = func(_ *Env) []func(*ui.Context) ui.Screen { return nil }

// unlockForScript unlocks e with a passphrase from a file or the terminal.
func unlockForScript(env *Env, e *app.Engine, file string) int {
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

// pendingJSON is one action in `qapprove pending --json`. Input is the
// exact document the rules saw, so `rules test --actions` can replay it.
type pendingJSON struct {
	ID          string             `json:"id"`
	Type        int                `json:"type"`
	Expires     *time.Time         `json:"expires,omitempty"` // absent when the API did not say
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
	Message     string             `json:"message"` // "bound", "unbound" or "mismatch"
	Verdict     governance.Verdict `json:"verdict"`
	PayloadErr  string             `json:"payload_error,omitempty"`
	Value       *valueJSON         `json:"value,omitempty"` // with a price source configured
	Input       governance.Input   `json:"input"`
}

// valueJSON is the fiat value of a transfer in `pending --json`.
type valueJSON struct {
	Amount   string    `json:"amount"` // "" when no price was found
	Currency string    `json:"currency,omitempty"`
	Asset    string    `json:"asset,omitempty"`
	Price    string    `json:"price,omitempty"`
	Source   string    `json:"source,omitempty"`
	AsOf     time.Time `json:"as_of,omitzero"`
	Stale    bool      `json:"stale"`
	Problem  string    `json:"problem,omitempty"` // why there is no usable value
}

func runPending(env *Env, o pendingOptions) int {
	e, code := openEngine(env)
	if e == nil {
		return code
	}
	defer e.Close()
	e.Prepare()
	feedOnly := false
	if !o.cached {
		if code := unlockForScript(env, e, o.passFile); code != exitOK {
			return code
		}
		ctx, cancel := signalContext(60 * time.Second)
		defer cancel()
		err := e.SignIn(ctx)
		if err != nil {
			return env.Errf(exitFail, "%v", err)
		}
		if feedOnly, err = e.LoadPending(ctx); err != nil {
			return env.Errf(exitFail, "%v", err)
		}
	}
	now := time.Now()
	actions := e.AssessPending(now)
	source := ""
	switch {
	case o.cached:
		source = "from the cache, as of " + asOf(e.AsOf(), now)
	case feedOnly:
		source = "from the feed (no list endpoint), merged with the cache"
	}
	if o.json {
		if source != "" {
			fmt.Fprintln(env.Stderr, "qapprove: pending actions "+source)
		}
		out := make([]pendingJSON, 0, len(actions))
		for _, as := range actions {
			out = append(out, toPendingJSON(as))
		}
		return writeJSON(env, out)
	}
	if source != "" {
		fmt.Fprintln(env.Stdout, "pending actions "+source)
	}
	if len(actions) == 0 {
		fmt.Fprintln(env.Stdout, "no pending actions")
		return exitOK
	}
	for _, as := range actions {
		fmt.Fprintln(env.Stdout, pendingLine(as.Action, toPendingJSON(as), now))
	}
	return exitOK
}

// asOf says when something was last known, and how long ago.
func asOf(t, now time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04"), now.Sub(t).Round(time.Second))
}

func toPendingJSON(as app.Assessment) pendingJSON {
	a := as.Action
	p := pendingJSON{ID: a.ID, Type: a.Type, Verdict: as.Verdict, PayloadErr: a.PayloadErr(), Message: bindingWord(a.Binding), Input: as.Input}
	if v := as.Value; v != nil {
		p.Value = &valueJSON{Amount: v.Amount, Currency: v.Currency, Asset: v.Asset, Price: v.Price, Source: v.Source,
			AsOf: v.AsOf.UTC(), Stale: v.Stale, Problem: v.Problem}
	}
	if a.ExpiryKnown() {
		t := a.Expires.UTC()
		p.Expires = &t
	}
	if a.Payload != nil {
		p.Policy, p.Approvals = a.Payload.PolicyName, a.Payload.Approvals
		if pol := a.Payload.Policy; pol != nil {
			p.Threshold, p.Members = pol.Threshold, len(pol.Members)
			if pol.Name != "" {
				p.Policy = pol.Name
			}
		}
		if t := a.Payload.Transaction; t != nil {
			if t.Network != nil {
				p.Network, p.ChainID = t.Network.Name, t.Network.ChainID
			}
			if t.Asset != nil {
				p.Asset, p.Amount = t.Asset.Symbol, client.FormatAmount(t.Amount, t.Asset.Decimals)
			}
			p.From, p.To, p.Whitelisted = t.From, t.To, t.Whitelisted
		}
	}
	return p
}

// bindingWord names a message binding for the command line.
func bindingWord(b client.Binding) string {
	switch b {
	case client.BindingBound:
		return "bound"
	case client.BindingMismatch:
		return "mismatch"
	}
	return "unbound"
}

// pendingLine is one action in `qapprove pending`.
func pendingLine(a *client.Action, p pendingJSON, now time.Time) string {
	gv := p.Verdict
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %-7s", a.ID, strings.ToUpper(gv.Level.String()))
	switch {
	case a.Payload != nil && a.Payload.Transaction != nil && a.PayloadUnderstood():
		wl := "not whitelisted"
		if p.Whitelisted {
			wl = "whitelisted"
		}
		fmt.Fprintf(&b, " %s %s on %s (%s) to %s [%s]", p.Amount, p.Asset, p.Network, p.ChainID, p.To, wl)
	case a.Payload != nil && a.Payload.KeyUpdate != nil && a.PayloadUnderstood():
		fmt.Fprintf(&b, " key update for %s", a.Payload.KeyUpdate.APIKeyID)
	case a.Payload != nil:
		fmt.Fprintf(&b, " (payload not understood: %s; chain %s)", a.Payload.Missing(), orUnknown(p.ChainID))
	case a.PayloadErr() != "":
		fmt.Fprintf(&b, " (payload unreadable: %s)", a.PayloadErr())
	default:
		b.WriteString(" (no details from the API)")
	}
	if p.Policy != "" || p.Threshold > 0 {
		fmt.Fprintf(&b, " policy %q %d/%d", p.Policy, p.Approvals, p.Threshold)
	}
	if a.ExpiryKnown() {
		fmt.Fprintf(&b, ", expires in %s", a.Expires.Sub(now).Round(time.Second))
	} else {
		b.WriteString(", expiry unknown")
	}
	if a.Binding == client.BindingMismatch {
		b.WriteString(" MESSAGE DOES NOT MATCH THE DETAILS")
	}
	for _, w := range gv.Warnings {
		fmt.Fprintf(&b, " WARNING: %s", w)
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func runDecide(env *Env, id string, o decideOptions, approve bool) int {
	verb := map[bool]string{true: "approve", false: "reject"}[approve]
	done := map[bool]string{true: "approved", false: "rejected"}[approve]
	if !client.ValidID(id) {
		return env.Errf(exitUsage, "%q is not a valid action ID", id)
	}
	if len(o.reason) > 1000 {
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
	if prior := e.Prior(id); prior != "" {
		return env.Errf(exitFail, "%s: nothing was signed", prior)
	}
	if code := unlockForScript(env, e, o.passFile); code != exitOK {
		return code
	}
	ctx, cancel := signalContext(60 * time.Second)
	defer cancel()
	if err := e.SignIn(ctx); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	a, err := e.Lookup(ctx, id)
	if err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	now := time.Now()
	if _, err := a.MessageToSign(now); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	as := e.Assess(a, now)
	gv, strong := as.Verdict, as.StrongConfirm
	fmt.Fprintln(env.Stdout, describeAction(a, gv))
	sum := sha256.Sum256(a.Messages[0])
	d := app.Decision{ActionID: a.ID, Approve: approve, Verdict: app.Level(gv.Level.String()), MessageSHA256: hex.EncodeToString(sum[:]), Confirmation: app.ConfirmFlag}
	if app.Against(verb, app.Level(gv.Level.String())) {
		d.Override = strings.TrimSpace(o.reason)
	} else if !approve {
		d.Reason = strings.TrimSpace(o.reason)
	}
	abandon := func(why string) int {
		if err := e.Abandon(d, why); err != nil {
			fmt.Fprintf(env.Stderr, "qapprove: journal: %v\n", err)
		}
		return env.Errf(exitFail, "%s: nothing was signed", why)
	}
	if a.Binding == client.BindingMismatch {
		return abandon("the message to sign does not match the details shown")
	}
	if app.Against(verb, app.Level(gv.Level.String())) && d.Override == "" {
		return abandon(fmt.Sprintf("to %s an action whose verdict is %s, give the reason with --reason TEXT (it is journaled)", verb, gv.Level))
	}
	needTyped := approve && strong != ""
	want := lastChars(a)
	switch {
	case o.yes && needTyped:
		if o.confirm != want {
			return abandon(fmt.Sprintf("action %s needs the strong confirmation (%s): pass --confirm with the last 4 characters of the destination", a.ID, strong))
		}
		d.Confirmation = app.ConfirmTyped
	case !o.yes:
		prompt, word := fmt.Sprintf("Type %q to %s action %s: ", verb, verb, a.ID), verb
		d.Confirmation = app.ConfirmKey
		if needTyped {
			prompt, word = fmt.Sprintf("Strong confirmation (%s): type the last 4 characters of the destination to %s action %s: ", strong, verb, a.ID), want
			d.Confirmation = app.ConfirmTyped
		}
		ok, err := confirm(prompt, word)
		if err != nil {
			return env.Errf(exitUsage, "%v (or pass --yes)", err)
		}
		if !ok {
			return abandon("not confirmed")
		}
	}
	out, err := e.Decide(ctx, d)
	if err != nil {
		return env.Errf(exitFail, "%s: %s", out.Result, out.Err)
	}
	fmt.Fprintf(env.Stdout, "%s %s: %s\n", done, a.ID, out.Result)
	return exitOK
}

// lastChars is what the strong confirmation asks to type: the last 4
// characters of the destination, or of the action ID when there is none.
func lastChars(a *client.Action) string {
	s := a.ID
	if a.Payload != nil && a.Payload.Transaction != nil && a.Payload.Transaction.To != "" {
		s = a.Payload.Transaction.To
	}
	if r := []rune(s); len(r) > 4 {
		return string(r[len(r)-4:])
	}
	return s
}

// describeAction is what a confirmation repeats: what, where, verdict,
// and whether the message is bound to these details.
func describeAction(a *client.Action, gv governance.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "action   %s\n", a.ID)
	if a.Payload != nil && a.Payload.Transaction != nil {
		t := a.Payload.Transaction
		wl := "NOT whitelisted"
		if t.Whitelisted {
			wl = "whitelisted"
		}
		if t.Asset != nil && t.Amount != "" {
			fmt.Fprintf(&b, "amount   %s %s\n", client.FormatAmount(t.Amount, t.Asset.Decimals), t.Asset.Symbol)
		}
		if t.To != "" {
			fmt.Fprintf(&b, "to       %s (%s)\n", t.To, wl)
		}
		if t.Network != nil {
			fmt.Fprintf(&b, "network  %s (chain %s)\n", orUnknown(t.Network.Name), orUnknown(t.Network.ChainID))
		}
	}
	switch {
	case a.Payload != nil && !a.PayloadUnderstood():
		fmt.Fprintf(&b, "payload  not understood: %s\n", a.Payload.Missing())
	case a.Payload == nil && a.PayloadErr() != "":
		fmt.Fprintf(&b, "payload  unreadable: %s\n", a.PayloadErr())
	case a.Payload == nil:
		b.WriteString("payload  none: the API gave only the message to sign\n")
	}
	if a.ExpiryKnown() {
		fmt.Fprintf(&b, "expires  %s\n", a.Expires.Local().Format("2006-01-02 15:04:05"))
	} else {
		b.WriteString("expires  unknown (the API did not say)\n")
	}
	switch a.Binding {
	case client.BindingBound:
		b.WriteString("message  checked against these details\n")
	case client.BindingMismatch:
		b.WriteString("message  DOES NOT MATCH these details: it will not be signed\n")
	default:
		b.WriteString("message  a digest qapprove cannot check against these details\n")
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

// startCPUProfile profiles the console's CPU to $QAPPROVE_CPUPROFILE when
// set, until the returned stop: a diagnostic for the console benchmark
// (scripts/bench-console.sh).
func startCPUProfile() (stop func()) {
	path := os.Getenv("QAPPROVE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return func() {}
	}
	if pprof.StartCPUProfile(f) != nil {
		_ = f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

// writeHeapProfile writes a heap profile to $QAPPROVE_HEAPPROFILE when set:
// a diagnostic for the memory benchmark of docs/BENCHMARKS.md.
func writeHeapProfile() {
	path := os.Getenv("QAPPROVE_HEAPPROFILE")
	if path == "" {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		// A best-effort diagnostic, silent on failure like the open above.
		_ = pprof.WriteHeapProfile(f)
		_ = f.Close()
	}
}
