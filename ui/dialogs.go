package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/input"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

// Grace period of dialogs: confirmation keys (y, n, Enter, esc, …) are
// swallowed until input has been quiet for graceQuiet after the dialog
// opened, and at most for graceMax, so keys typed for the list cannot
// answer a prompt that just appeared. Text typed into a dialog's input is
// never swallowed, and ends the grace period: the operator is typing to
// the dialog.
const (
	graceQuiet = 425 * time.Millisecond
	graceMax   = 1500 * time.Millisecond
)

// minReason is the shortest accepted reason for going against the verdict.
const minReason = 8

// dialog is one entry of the dialog stack. A dialog never holds the root
// model or the backend: it reads keys and returns an Action that the root
// carries out (crush's internal/ui/dialog); it draws from a dialogView.
type dialog interface {
	// id names the kind of dialog (the root asks the quit dialog only once).
	id() string
	// HandleMsg handles a key press that survived the grace period, or a
	// message the root forwards (an unlock result, a spinner tick), and
	// says what the root must do.
	HandleMsg(msg tea.Msg) Action
	// lines is the content (without frame) for an inner width.
	lines(v dialogView, w int) []string
	// help lists the keys that work in the dialog.
	help() []key.Binding
	// hot draws the dialog with the alarm frame.
	hot() bool
	// typing reports that the dialog reads text now: text keys then go
	// to it even inside the grace period.
	typing() bool
	// decision is the decision the dialog is about (nil: none).
	decision() *app.Decision
	// wipe clears what the dialog holds when it closes.
	wipe()
}

// dialogView is what a dialog draws with, handed over by the root at each
// frame: styles, the clock, the actions held and the unlock back-off.
type dialogView struct {
	st      styles.Styles
	now     time.Time
	item    func(id string) (*app.Item, bool)
	backoff time.Duration // how long before the next unlock try is allowed
}

// openDialog is a dialog with its grace-period state.
type openDialog struct {
	d         dialog
	openedAt  time.Time
	lastKey   time.Time // the last key swallowed
	graceOver bool
	dropped   int    // keys swallowed by the grace period (the dialog says so)
	gone      string // set when the dialog's action went away ("expired", …)
}

// swallow reports whether a key arriving at now must be dropped by the
// grace period, and counts it.
func (o *openDialog) swallow(now time.Time, msg tea.KeyPressMsg) bool {
	if o.graceOver {
		return false
	}
	last := o.openedAt
	if o.lastKey.After(last) {
		last = o.lastKey
	}
	if !now.Before(o.openedAt.Add(graceMax)) || now.Sub(last) >= graceQuiet || (o.d.typing() && textKey(msg)) {
		o.graceOver = true
		return false
	}
	o.lastKey = now
	o.dropped++
	return true
}

// textKey reports whether a key edits a text input (printable text,
// backspace) rather than answering a prompt.
func textKey(msg tea.KeyPressMsg) bool {
	k := msg.Key()
	if k.Code == tea.KeyBackspace {
		return true
	}
	return k.Text != "" && k.Mod&(tea.ModCtrl|tea.ModAlt|tea.ModSuper) == 0
}

// summary repeats what matters about an action for a decision dialog:
// what moves where, the policy, the verdict and the rule behind it, how
// the message relates to the details, and the expiry.
func summary(v dialogView, it *app.Item, w int) []string {
	st := v.st
	a := it.Action
	out := []string{"Action   " + clean(a.ID)}
	if p := a.Payload; p != nil {
		if tx := p.Transaction; tx != nil {
			out = append(out, "Amount   "+amountText(tx))
			if val := it.Verdict.Value; val != nil {
				vt := valueText(val, v.now)
				if valueTrouble(val) {
					vt = st.Warn.Render(vt)
				}
				out = append(out, labelled("Value    ", vt, w)...)
			}
			if n := tx.Network; n != nil {
				net := netLabel(n)
				if n.Name != "" && n.ChainID != "" {
					net += " (chain " + clean(n.ChainID) + ")"
				}
				if n.Name != "" && !n.Testnet {
					net += " MAINNET"
				}
				out = append(out, "Network  "+net)
			}
			out = append(out, labelled("To       ", destText(tx), w)...)
			switch {
			case tx.To == "":
			case tx.Whitelisted:
				out = append(out, "         ✓ whitelisted "+clean(tx.ToName))
			default:
				out = append(out, "         ✗ NOT whitelisted")
			}
			if c := it.Verdict.Call; c != nil {
				ct := callSummary(c, tx)
				if !c.Known || c.Unlimited || (c.Approved && c.Function == "setApprovalForAll") || recipientMismatch(c, tx) != "" {
					ct = st.Bad.Render(ct)
				}
				out = append(out, labelled("Call     ", ct, w)...)
			}
		}
		if ku := p.KeyUpdate; ku != nil {
			out = append(out, "Key      API key update for "+clean(ku.APIKeyID))
		}
		out = append(out, labelled("Policy   ", policyText(p), w)...)
	} else if perr := a.PayloadErr(); perr != "" {
		out = append(out, labelled("Payload  ", "not decoded: "+clean(perr), w)...)
	}
	lvl := level(it.Verdict)
	out = append(out, "Verdict  "+badgeStyle(st, lvl)(strings.ToUpper(string(lvl))))
	rule := "no rule fired (review by default)"
	if r := decidingRule(it.Verdict); r != nil {
		rule = clean(r.Name) + ": " + clean(r.Reason)
	}
	out = append(out, labelled("Rule     ", rule, w)...)
	bt, bad := bindingText(a.Binding)
	if bad {
		bt = st.Bad.Render(bt)
	}
	out = append(out, labelled("Message  ", bt, w)...)
	return append(out, "Expires  "+expiresText(a, v.now))
}

// destText is the destination of a transfer as shown ("not in the payload").
func destText(tx *client.Transaction) string {
	if tx.To == "" {
		return "not in the payload"
	}
	return clean(tx.To)
}

// labelled wraps text under a 9-cell label, in full.
func labelled(label, text string, w int) []string {
	var out []string
	for i, l := range hardWrapWords(text, max(8, w-9)) {
		if i == 0 {
			out = append(out, label+l)
		} else {
			out = append(out, "         "+l)
		}
	}
	return out
}

func verb(approve bool) string {
	if approve {
		return "approve"
	}
	return "reject"
}

// Dialog kinds (dialog.id).
const (
	idConfirm    = "confirm"
	idReason     = "reason"
	idPassphrase = "passphrase"
	idQuit       = "quit"
)

// cancelNote is the footer note of a cancelled decision.
const cancelNote = "Cancelled: nothing was signed."

// confirmDialog asks for `y` (Enter alone never confirms), or for a
// strong confirmation: the last 4 characters of the destination typed.
type confirmDialog struct {
	keys   keys.KeyMap
	d      app.Decision
	strong string // why the strong confirmation is needed ("": y)
	want   string // what must be typed for it
	field  input.Field
	hint   string
}

// newConfirmDialog is the confirmation of d on it: strong for an
// approval whose verdict asks for it.
func newConfirmDialog(km keys.KeyMap, d app.Decision, it app.Item) *confirmDialog {
	c := &confirmDialog{keys: km, d: d, field: input.Field{Limit: 64}}
	if sc := it.Verdict.StrongConfirm; sc != "" && d.Approve {
		c.strong = sc
		target := clean(destination(it.Action))
		if target == "" {
			target = clean(it.Action.ID)
		}
		c.want = lastChars(target, 4)
	}
	return c
}

func (c *confirmDialog) id() string              { return idConfirm }
func (c *confirmDialog) hot() bool               { return c.d.Override != "" }
func (c *confirmDialog) typing() bool            { return c.strong != "" }
func (c *confirmDialog) decision() *app.Decision { return &c.d }
func (c *confirmDialog) wipe()                   { c.field.Wipe() }

func (c *confirmDialog) help() []key.Binding {
	if c.strong != "" {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm typed")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
	}
	return []key.Binding{c.keys.Confirm, c.keys.Cancel}
}

// cancelled is the action of a decision cancelled in this dialog.
func (c *confirmDialog) cancelled() Action {
	return ActionCancel{Decision: c.d, Why: "cancelled in the confirmation dialog", Note: cancelNote}
}

// HandleMsg implements dialog.
func (c *confirmDialog) HandleMsg(msg tea.Msg) Action {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return ActionNone{}
	}
	if c.strong != "" {
		return c.strongKey(k)
	}
	switch {
	case key.Matches(k, c.keys.Confirm):
		return ActionConfirm{Decision: c.d}
	case key.Matches(k, c.keys.Cancel):
		return c.cancelled()
	case k.Key().Code == tea.KeyEnter:
		c.hint = "Enter does not confirm: press y to " + verb(c.d.Approve) + ", n or esc to cancel."
	}
	return ActionNone{}
}

// strongKey reads the typed confirmation; a wrong one does not confirm,
// says so and is journaled.
func (c *confirmDialog) strongKey(msg tea.KeyPressMsg) Action {
	switch msg.Key().Code {
	case tea.KeyEscape:
		return c.cancelled()
	case tea.KeyEnter:
		typed := c.field.Text()
		if typed == "" {
			c.hint = "Type the last 4 characters first (Enter alone never confirms)."
			return ActionNone{}
		}
		c.field.Wipe()
		if typed != c.want {
			c.hint = "“" + clean(typed) + "” does not match the last 4 characters: not confirmed. Look again and retype them."
			return ActionAbandon{Decision: c.d, Why: "wrong typed confirmation"}
		}
		d := c.d
		d.Confirmation = app.ConfirmTyped
		return ActionConfirm{Decision: d}
	}
	if c.field.Update(msg) {
		c.hint = ""
	}
	return ActionNone{}
}

func (c *confirmDialog) lines(v dialogView, w int) []string {
	it, ok := v.item(c.d.ActionID)
	if !ok {
		return []string{"This action is no longer listed: nothing will be signed."}
	}
	st := v.st
	title := strings.ToUpper(verb(c.d.Approve)) + " this action?"
	out := []string{st.Title.Render(title), ""}
	out = append(out, summary(v, it, w)...)
	if c.d.Override != "" {
		out = append(out, "", st.Warn.Render("Against the verdict. Reason (journaled):"))
		for _, l := range hardWrapWords(clean(c.d.Override), w-2) {
			out = append(out, "  "+l)
		}
	} else if c.d.Reason != "" {
		out = append(out, "", "Reason (journaled):")
		for _, l := range hardWrapWords(clean(c.d.Reason), w-2) {
			out = append(out, "  "+l)
		}
	}
	out = append(out, "")
	if c.strong != "" {
		out = append(out, st.Warn.Render("Strong confirmation: ")+clean(c.strong)+".")
		what := "destination"
		if destination(it.Action) == "" {
			what = "action ID"
		}
		out = append(out, hardWrapWords(fmt.Sprintf("Type the last 4 characters of the %s (case-sensitive), then Enter; esc cancels.", what), w)...)
		out = append(out, "> "+c.field.View(12))
	} else {
		out = append(out, fmt.Sprintf("Press y to %s and sign, n or esc to cancel.", verb(c.d.Approve)))
	}
	for _, l := range hardWrapWords(c.hint, w) {
		if c.hint != "" {
			out = append(out, st.Warn.Render(l))
		}
	}
	return out
}

// reasonDialog asks for a reason: required (at least minReason
// characters) before going against the verdict, optional on a reject.
// Enter goes on to the confirmation.
type reasonDialog struct {
	d        app.Decision
	required bool
	field    input.Field
	err      string
}

func newReasonDialog(d app.Decision, required bool) *reasonDialog {
	return &reasonDialog{d: d, required: required, field: input.Field{Limit: 500}}
}

func (r *reasonDialog) id() string              { return idReason }
func (r *reasonDialog) hot() bool               { return r.required }
func (r *reasonDialog) typing() bool            { return true }
func (r *reasonDialog) decision() *app.Decision { return &r.d }
func (r *reasonDialog) wipe()                   { r.field.Wipe() }

func (r *reasonDialog) help() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

// HandleMsg implements dialog.
func (r *reasonDialog) HandleMsg(msg tea.Msg) Action {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return ActionNone{}
	}
	switch k.Key().Code {
	case tea.KeyEscape:
		return ActionCancel{Decision: r.d, Why: "cancelled in the reason dialog", Note: cancelNote}
	case tea.KeyEnter:
		reason := strings.TrimSpace(r.field.Text())
		if r.required && len([]rune(reason)) < minReason {
			r.err = fmt.Sprintf("Give a reason of at least %d characters.", minReason)
			return ActionAbandon{Decision: r.d, Why: "no reason given for going against the verdict"}
		}
		d := r.d
		if r.required {
			d.Override = reason
		}
		if !d.Approve {
			d.Reason = reason
		}
		return ActionContinue{Decision: d}
	}
	if r.field.Update(k) {
		r.err = ""
	}
	return ActionNone{}
}

func (r *reasonDialog) lines(v dialogView, w int) []string {
	it, ok := v.item(r.d.ActionID)
	if !ok {
		return []string{"This action is no longer listed: nothing will be signed."}
	}
	st := v.st
	var out []string
	if r.required {
		lvl := level(it.Verdict)
		out = append(out, st.Bad.Render(fmt.Sprintf("You are about to %s an action whose verdict is %s.", verb(r.d.Approve), strings.ToUpper(string(lvl)))), "")
	} else {
		out = append(out, st.Title.Render(strings.ToUpper(verb(r.d.Approve))+" this action?"), "")
	}
	out = append(out, summary(v, it, w)...)
	if r.required {
		out = append(out, "", "Why? The reason is journaled with your decision:")
	} else {
		out = append(out, "", "Reason (optional, journaled with the rejection), then Enter:")
	}
	out = append(out, "> "+r.field.View(w-2))
	if r.err != "" {
		out = append(out, st.Error.Render(r.err))
	}
	return out
}

// Messages the root sends to the dialog that asked for an unlock.
type (
	// unlockStartedMsg: the unlock runs (the dialog shows its spinner).
	unlockStartedMsg struct{}
	// unlockRefusedMsg: the back-off forbids a try now; the passphrase
	// was wiped unused.
	unlockRefusedMsg struct{ wait time.Duration }
	// unlockDoneMsg is the result of Backend.Unlock; wait is the back-off
	// after it (set by the root before it forwards the message).
	unlockDoneMsg struct {
		err  error
		wait time.Duration
	}
)

// passphraseDialog unlocks the key: masked input kept in bytes and wiped,
// the KDF runs in a Cmd with a spinner, wrong passphrases back off. A try
// that is refused clears the field, so text typed during a back-off is
// never glued onto the next try.
type passphraseDialog struct {
	field   input.Field
	busy    bool
	spin    spinner.Model
	err     string
	ignored int           // keys typed while the passphrase was being checked
	then    *app.Decision // the decision to send once unlocked (nil: just unlock)
}

func newPassphraseDialog(then *app.Decision) *passphraseDialog {
	return &passphraseDialog{field: input.Field{Mask: true, Limit: 1024}, spin: spinner.New(spinner.WithSpinner(spinner.Line)), then: then}
}

func (d *passphraseDialog) id() string              { return idPassphrase }
func (d *passphraseDialog) hot() bool               { return false }
func (d *passphraseDialog) typing() bool            { return !d.busy }
func (d *passphraseDialog) decision() *app.Decision { return d.then }
func (d *passphraseDialog) wipe()                   { d.field.Wipe() }

func (d *passphraseDialog) help() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

// HandleMsg implements dialog.
func (d *passphraseDialog) HandleMsg(msg tea.Msg) Action {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return d.key(msg)
	case spinner.TickMsg:
		if !d.busy {
			return ActionNone{}
		}
		var cmd tea.Cmd
		d.spin, cmd = d.spin.Update(msg)
		return ActionCmd{Cmd: cmd}
	case unlockStartedMsg:
		d.busy, d.err = true, ""
		return ActionCmd{Cmd: d.spin.Tick}
	case unlockRefusedMsg:
		d.field.Wipe()
		d.err = "Too many wrong passphrases: wait " + waitText(msg.wait) + ", then type the passphrase again (what you typed was cleared)."
	case unlockDoneMsg:
		return d.done(msg)
	}
	return ActionNone{}
}

func (d *passphraseDialog) key(msg tea.KeyPressMsg) Action {
	switch msg.Key().Code {
	case tea.KeyEscape:
		d.field.Wipe()
		const note = "Cancelled: the key stays locked, nothing was signed."
		if d.then != nil {
			return ActionCancel{Decision: *d.then, Why: "cancelled at the passphrase: the key stayed locked", Note: note}
		}
		return ActionClose{Note: note}
	case tea.KeyEnter:
		if d.busy {
			d.ignored++
			return ActionNone{}
		}
		if d.field.Len() == 0 {
			d.err = "Type the passphrase first."
			return ActionNone{}
		}
		return ActionUnlock{Passphrase: d.field.Take()}
	}
	if d.busy {
		if textKey(msg) {
			d.ignored++
		}
		return ActionNone{}
	}
	if d.field.Update(msg) {
		d.err = ""
	}
	return ActionNone{}
}

// done takes the result of the unlock: a refusal is shown and the field
// cleared; success closes the dialog and sends the decision it waited for.
func (d *passphraseDialog) done(msg unlockDoneMsg) Action {
	d.busy = false
	if msg.err != nil {
		d.field.Wipe()
		d.err = clean(msg.err.Error())
		if msg.wait > 0 {
			d.err += " — wait " + waitText(msg.wait) + " before the next try."
		}
		if d.ignored > 0 {
			d.err += fmt.Sprintf(" %s typed while checking ignored: type the passphrase again.", keysText(d.ignored))
		}
		d.ignored = 0
		return ActionNone{}
	}
	if d.then == nil {
		return ActionClose{Note: "Key unlocked."}
	}
	return ActionConfirm{Decision: *d.then}
}

func (d *passphraseDialog) lines(v dialogView, w int) []string {
	st := v.st
	out := []string{st.Title.Render("Unlock the approver key"), ""}
	if d.then != nil {
		out = append(out, fmt.Sprintf("The key is locked. Unlock it to %s %s.", verb(d.then.Approve), clean(d.then.ActionID)), "")
	}
	out = append(out, "Passphrase: "+d.field.View(max(8, w-12)))
	switch {
	case d.busy:
		out = append(out, d.spin.View()+" Deriving the key…")
	case d.err != "":
		for _, l := range hardWrapWords(d.err, w) {
			out = append(out, st.Error.Render(l))
		}
	default:
		if v.backoff > 0 {
			out = append(out, st.Warn.Render("Wait "+waitText(v.backoff)+" before the next try."))
		} else {
			out = append(out, "")
		}
	}
	return out
}

// quitDialog asks before quitting while a decision is in flight.
type quitDialog struct{ keys keys.KeyMap }

func (quitDialog) id() string              { return idQuit }
func (quitDialog) hot() bool               { return true }
func (quitDialog) typing() bool            { return false }
func (quitDialog) decision() *app.Decision { return nil }
func (quitDialog) wipe()                   {}

func (q quitDialog) help() []key.Binding {
	return []key.Binding{q.keys.Confirm, q.keys.Cancel}
}

// HandleMsg implements dialog.
func (q quitDialog) HandleMsg(msg tea.Msg) Action {
	k, ok := msg.(tea.KeyPressMsg)
	switch {
	case !ok:
	case key.Matches(k, q.keys.Confirm):
		return ActionQuit{}
	case key.Matches(k, q.keys.Cancel):
		return ActionClose{}
	}
	return ActionNone{}
}

func (quitDialog) lines(v dialogView, _ int) []string {
	return []string{
		v.st.Warn.Render("A decision is being sent."),
		"",
		"If you quit now its outcome may stay unknown",
		"(the journal keeps what was signed).",
		"",
		"Quit anyway? y to quit, n or esc to stay.",
	}
}
