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

// dialog is one entry of the dialog stack.
type dialog interface {
	// key handles a key press that survived the grace period.
	key(m *Model, msg tea.KeyPressMsg) tea.Cmd
	// lines is the content (without frame) for an inner width.
	lines(m *Model, w int) []string
	// help lists the keys that work in the dialog.
	help(m *Model) []key.Binding
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
func summary(m *Model, it *app.Item, w int) []string {
	st := m.ctx.Styles
	a := it.Action
	out := []string{"Action   " + clean(a.ID)}
	if p := a.Payload; p != nil {
		if tx := p.Transaction; tx != nil {
			out = append(out, "Amount   "+amountText(tx))
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
	return append(out, "Expires  "+expiresText(a, m.ctx.Now()))
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

// confirmDialog asks for `y` (Enter alone never confirms), or for a
// strong confirmation: the last 4 characters of the destination typed.
type confirmDialog struct {
	d      app.Decision
	strong string // why the strong confirmation is needed ("": y)
	want   string // what must be typed for it
	field  input.Field
	hint   string
}

// newConfirmDialog is the confirmation of d on it: strong for an
// approval whose verdict asks for it.
func newConfirmDialog(d app.Decision, it app.Item) *confirmDialog {
	c := &confirmDialog{d: d, field: input.Field{Limit: 64}}
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

func (c *confirmDialog) hot() bool               { return c.d.Override != "" }
func (c *confirmDialog) typing() bool            { return c.strong != "" }
func (c *confirmDialog) decision() *app.Decision { return &c.d }
func (c *confirmDialog) wipe()                   { c.field.Wipe() }

func (c *confirmDialog) help(m *Model) []key.Binding {
	if c.strong != "" {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm typed")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
	}
	return []key.Binding{m.ctx.Keys.Confirm, m.ctx.Keys.Cancel}
}

func (c *confirmDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if c.strong != "" {
		return c.strongKey(m, msg)
	}
	k := m.ctx.Keys
	switch {
	case key.Matches(msg, k.Confirm):
		m.popDialog()
		return m.proceed(c.d)
	case key.Matches(msg, k.Cancel):
		return m.cancel(c.d, "cancelled in the confirmation dialog", "Cancelled: nothing was signed.")
	case msg.Key().Code == tea.KeyEnter:
		c.hint = "Enter does not confirm: press y to " + verb(c.d.Approve) + ", n or esc to cancel."
	}
	return nil
}

// strongKey reads the typed confirmation; a wrong one does not confirm,
// says so and is journaled.
func (c *confirmDialog) strongKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Key().Code {
	case tea.KeyEscape:
		return m.cancel(c.d, "cancelled in the confirmation dialog", "Cancelled: nothing was signed.")
	case tea.KeyEnter:
		typed := c.field.Text()
		if typed == "" {
			c.hint = "Type the last 4 characters first (Enter alone never confirms)."
			return nil
		}
		c.field.Wipe()
		if typed != c.want {
			c.hint = "“" + clean(typed) + "” does not match the last 4 characters: not confirmed. Look again and retype them."
			return m.abandon(c.d, "wrong typed confirmation")
		}
		d := c.d
		d.Confirmation = app.ConfirmTyped
		m.popDialog()
		return m.proceed(d)
	}
	if c.field.Update(msg) {
		c.hint = ""
	}
	return nil
}

func (c *confirmDialog) lines(m *Model, w int) []string {
	it, ok := m.pending.Item(c.d.ActionID)
	if !ok {
		return []string{"This action is no longer listed: nothing will be signed."}
	}
	st := m.ctx.Styles
	title := strings.ToUpper(verb(c.d.Approve)) + " this action?"
	out := []string{st.Title.Render(title), ""}
	out = append(out, summary(m, it, w)...)
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

func (r *reasonDialog) hot() bool               { return r.required }
func (r *reasonDialog) typing() bool            { return true }
func (r *reasonDialog) decision() *app.Decision { return &r.d }
func (r *reasonDialog) wipe()                   { r.field.Wipe() }

func (r *reasonDialog) help(m *Model) []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

func (r *reasonDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Key().Code {
	case tea.KeyEscape:
		return m.cancel(r.d, "cancelled in the reason dialog", "Cancelled: nothing was signed.")
	case tea.KeyEnter:
		reason := strings.TrimSpace(r.field.Text())
		if r.required && len([]rune(reason)) < minReason {
			r.err = fmt.Sprintf("Give a reason of at least %d characters.", minReason)
			return m.abandon(r.d, "no reason given for going against the verdict")
		}
		d := r.d
		if r.required {
			d.Override = reason
		}
		if !d.Approve {
			d.Reason = reason
		}
		it, ok := m.pending.Item(d.ActionID)
		m.popDialog()
		if !ok {
			m.errLine = "The action is gone (decided elsewhere or expired): nothing was signed."
			return m.abandon(d, "the action is gone")
		}
		m.pushDialog(newConfirmDialog(d, *it))
		return nil
	}
	if r.field.Update(msg) {
		r.err = ""
	}
	return nil
}

func (r *reasonDialog) lines(m *Model, w int) []string {
	it, ok := m.pending.Item(r.d.ActionID)
	if !ok {
		return []string{"This action is no longer listed: nothing will be signed."}
	}
	st := m.ctx.Styles
	var out []string
	if r.required {
		lvl := level(it.Verdict)
		out = append(out, st.Bad.Render(fmt.Sprintf("You are about to %s an action whose verdict is %s.", verb(r.d.Approve), strings.ToUpper(string(lvl)))), "")
	} else {
		out = append(out, st.Title.Render(strings.ToUpper(verb(r.d.Approve))+" this action?"), "")
	}
	out = append(out, summary(m, it, w)...)
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

func (d *passphraseDialog) hot() bool               { return false }
func (d *passphraseDialog) typing() bool            { return !d.busy }
func (d *passphraseDialog) decision() *app.Decision { return d.then }
func (d *passphraseDialog) wipe()                   { d.field.Wipe() }

func (d *passphraseDialog) help(m *Model) []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

func (d *passphraseDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Key().Code {
	case tea.KeyEscape:
		d.field.Wipe()
		m.popDialog()
		m.note("Cancelled: the key stays locked, nothing was signed.")
		if d.then != nil {
			return m.abandon(*d.then, "cancelled at the passphrase: the key stayed locked")
		}
		return nil
	case tea.KeyEnter:
		if d.busy {
			d.ignored++
			return nil
		}
		if d.field.Len() == 0 {
			d.err = "Type the passphrase first."
			return nil
		}
		if wait := m.ctx.Backend.UnlockBackoff(); wait > 0 {
			d.field.Wipe()
			d.err = "Too many wrong passphrases: wait " + waitText(wait) + ", then type the passphrase again (what you typed was cleared)."
			return nil
		}
		d.busy, d.err = true, ""
		pass := d.field.Take()
		b := m.ctx.Backend
		return tea.Batch(d.spin.Tick, func() tea.Msg {
			err := b.Unlock(pass)
			clear(pass)
			return unlockDoneMsg{err: err}
		})
	}
	if d.busy {
		if textKey(msg) {
			d.ignored++
		}
		return nil
	}
	if d.field.Update(msg) {
		d.err = ""
	}
	return nil
}

func (d *passphraseDialog) lines(m *Model, w int) []string {
	st := m.ctx.Styles
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
		if wait := m.ctx.Backend.UnlockBackoff(); wait > 0 {
			out = append(out, st.Warn.Render("Wait "+waitText(wait)+" before the next try."))
		} else {
			out = append(out, "")
		}
	}
	return out
}

// quitDialog asks before quitting while a decision is in flight.
type quitDialog struct{}

func (quitDialog) hot() bool               { return true }
func (quitDialog) typing() bool            { return false }
func (quitDialog) decision() *app.Decision { return nil }
func (quitDialog) wipe()                   {}

func (quitDialog) help(m *Model) []key.Binding {
	return []key.Binding{m.ctx.Keys.Confirm, m.ctx.Keys.Cancel}
}

func (quitDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.ctx.Keys.Confirm):
		return m.quit()
	case key.Matches(msg, m.ctx.Keys.Cancel):
		m.popDialog()
	}
	return nil
}

func (quitDialog) lines(m *Model, w int) []string {
	return []string{
		m.ctx.Styles.Warn.Render("A decision is being sent."),
		"",
		"If you quit now its outcome may stay unknown",
		"(the journal keeps what was signed).",
		"",
		"Quit anyway? y to quit, n or esc to stay.",
	}
}
