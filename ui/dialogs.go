package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/ui/input"
)

// Grace period of dialogs: keys are swallowed until input has been quiet
// for graceQuiet after the dialog opened, and at most for graceMax, so keys
// typed for the list cannot answer a prompt that just appeared.
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
}

// openDialog is a dialog with the times its grace period is measured from.
type openDialog struct {
	d        dialog
	openedAt time.Time
	lastKey  time.Time
}

// inGrace reports whether a key arriving at now must be swallowed, and
// records it.
func (o *openDialog) inGrace(now time.Time) bool {
	if !now.Before(o.openedAt.Add(graceMax)) {
		return false
	}
	last := o.openedAt
	if o.lastKey.After(last) {
		last = o.lastKey
	}
	if now.Sub(last) < graceQuiet {
		o.lastKey = now
		return true
	}
	return false
}

// summary repeats what matters about an action for a decision dialog.
func summary(m *Model, it *Item, w int) []string {
	a := it.Action
	out := []string{"Action   " + clean(a.ID)}
	if p := a.Payload; p != nil {
		if tx := p.Transaction; tx != nil {
			out = append(out, "Amount   "+amountText(tx))
			net := clean(tx.Network.Name) + " (chain " + clean(tx.Network.ChainID) + ")"
			if !tx.Network.Testnet {
				net += " MAINNET"
			}
			out = append(out, "Network  "+net)
			wl := "✓ whitelisted " + clean(tx.ToName)
			if !tx.Whitelisted {
				wl = "✗ NOT whitelisted"
			}
			for i, l := range hardWrap(clean(tx.To), max(8, w-9)) {
				if i == 0 {
					out = append(out, "To       "+l)
				} else {
					out = append(out, "         "+l)
				}
			}
			out = append(out, "         "+wl)
		}
		if ku := p.KeyUpdate; ku != nil {
			out = append(out, "Key      API key update for "+clean(ku.APIKeyID))
		}
		out = append(out, fmt.Sprintf("Policy   %s (%d of %d)", clean(p.PolicyName), p.Policy.Threshold, len(p.Policy.Members)))
	}
	lvl := level(it.Verdict)
	out = append(out, "Verdict  "+badgeStyle(m.ctx.Styles, lvl)(strings.ToUpper(lvl)))
	out = append(out, "Expires  in "+countdown(a.Expires.Sub(m.ctx.Now())))
	return out
}

func verb(approve bool) string {
	if approve {
		return "approve"
	}
	return "reject"
}

// confirmDialog asks for `y`; Enter alone never confirms.
type confirmDialog struct {
	id       string
	approve  bool
	verdict  string
	override string
	hint     string
}

func (d *confirmDialog) hot() bool { return d.override != "" }

func (d *confirmDialog) help(m *Model) []key.Binding {
	return []key.Binding{m.ctx.Keys.Confirm, m.ctx.Keys.Cancel}
}

func (d *confirmDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.ctx.Keys
	switch {
	case key.Matches(msg, k.Confirm):
		m.popDialog()
		return m.proceed(Decision{ActionID: d.id, Approve: d.approve, Override: d.override, Verdict: d.verdict})
	case key.Matches(msg, k.Cancel):
		m.popDialog()
		m.note("Cancelled: nothing was signed.")
	case msg.Key().Code == tea.KeyEnter:
		d.hint = "Enter does not confirm: press y to " + verb(d.approve) + ", n or esc to cancel."
	}
	return nil
}

func (d *confirmDialog) lines(m *Model, w int) []string {
	it, ok := m.pending.Item(d.id)
	if !ok {
		return []string{"This action is gone."}
	}
	st := m.ctx.Styles
	title := strings.ToUpper(verb(d.approve)) + " this action?"
	out := []string{st.Title.Render(title), ""}
	out = append(out, summary(m, it, w)...)
	if d.override != "" {
		out = append(out, "", st.Warn.Render("Against the verdict. Reason (journaled):"))
		for _, l := range hardWrapWords(clean(d.override), w-2) {
			out = append(out, "  "+l)
		}
	}
	out = append(out, "", fmt.Sprintf("Press y to %s and sign, n or esc to cancel.", verb(d.approve)))
	if d.hint != "" {
		out = append(out, st.Warn.Render(d.hint))
	}
	return out
}

// overrideDialog asks for a typed reason before going against the verdict.
type overrideDialog struct {
	id      string
	approve bool
	verdict string
	field   input.Field
	err     string
}

func (d *overrideDialog) hot() bool { return true }

func (d *overrideDialog) help(m *Model) []key.Binding {
	return []key.Binding{m.ctx.Keys.Submit, key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

func (d *overrideDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Key().Code {
	case tea.KeyEscape:
		m.popDialog()
		m.note("Cancelled: nothing was signed.")
		return nil
	case tea.KeyEnter:
		reason := strings.TrimSpace(d.field.Text())
		if len([]rune(reason)) < minReason {
			d.err = fmt.Sprintf("Give a reason of at least %d characters.", minReason)
			return nil
		}
		m.popDialog()
		m.pushDialog(&confirmDialog{id: d.id, approve: d.approve, verdict: d.verdict, override: reason})
		return nil
	}
	if d.field.Update(msg) {
		d.err = ""
	}
	return nil
}

func (d *overrideDialog) lines(m *Model, w int) []string {
	it, ok := m.pending.Item(d.id)
	if !ok {
		return []string{"This action is gone."}
	}
	st := m.ctx.Styles
	lvl := level(it.Verdict)
	out := []string{
		st.Bad.Render(fmt.Sprintf("You are about to %s an action whose verdict is %s.", verb(d.approve), strings.ToUpper(lvl))),
		"",
	}
	out = append(out, summary(m, it, w)...)
	out = append(out, "", "Why? The reason is journaled with your decision:", "> "+d.field.View(w-2))
	if d.err != "" {
		out = append(out, st.Error.Render(d.err))
	}
	return out
}

// passphraseDialog unlocks the key: masked input kept in bytes and wiped,
// the KDF runs in a Cmd with a spinner, wrong passphrases back off.
type passphraseDialog struct {
	field input.Field
	busy  bool
	spin  spinner.Model
	err   string
	then  *Decision // the decision to send once unlocked (nil: just unlock)
}

func newPassphraseDialog(then *Decision) *passphraseDialog {
	return &passphraseDialog{field: input.Field{Mask: true, Limit: 1024}, spin: spinner.New(spinner.WithSpinner(spinner.Line)), then: then}
}

func (d *passphraseDialog) hot() bool { return false }

func (d *passphraseDialog) help(m *Model) []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
}

func (d *passphraseDialog) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Key().Code {
	case tea.KeyEscape:
		d.field.Wipe()
		m.popDialog()
		m.note("Cancelled: the key stays locked, nothing was signed.")
		return nil
	case tea.KeyEnter:
		if d.busy {
			return nil
		}
		if d.field.Len() == 0 {
			d.err = "Type the passphrase first."
			return nil
		}
		if wait := m.ctx.Backend.UnlockBackoff(); wait > 0 {
			d.err = "Too many wrong passphrases: wait " + waitText(wait) + "."
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
	if !d.busy && d.field.Update(msg) {
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
		out = append(out, st.Error.Render(d.err))
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

func (quitDialog) hot() bool { return true }

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
