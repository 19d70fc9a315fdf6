package wizard

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/input"
	"github.com/qapprove/qapprove/ui/safetext"
)

var spinFrames = spinner.MiniDot.Frames

// explain is the one- or two-sentence explanation of each step.
var explain = []string{
	"Where your Qredo workspace lives and which API key this console uses. The secret is checked by signing in before going on; it is stored only encrypted.",
	"A new BLS key (signs approvals) and EC key were generated on this machine. Compare the fingerprints with what the Qredo web app shows after registration.",
	fmt.Sprintf("The passphrase encrypts the keys; you type it to unlock. At least %d characters and about %d bits: a few random words work well. There is NO recovery without the backup.", MinLength, MinBits),
	"The keys are encrypted (scrypt + AES) and saved, then read back and decrypted to prove the round trip.",
	"The public keys are sent to Qredo, and the key update it returns is approved with the new key. The audit journal starts here.",
	"Export the encrypted key to a file (for example on a USB stick) and keep it offline. It is only as safe as your passphrase.",
	"Your approver key is registered and ready.",
}

// View implements ui.Screen.
func (w *Wizard) View() string {
	st := w.ctx.Styles
	width := max(w.width, 20)
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	wrap := func(s string) []string { return strings.Split(ansi.Wordwrap(s, width-2, " "), "\n") }

	add(st.Title.Render(fmt.Sprintf("Register keys — step %d of 6: %s", min(w.step+1, 6), w.stepName())) + "  " +
		st.Muted.Render("profile "+w.opts.Profile))
	add(st.Muted.Render(progressBar(w.step)))
	add("")
	for _, l := range wrap(w.explain()) {
		add(l)
	}
	add("")
	if w.opts.Warning != "" && w.step <= StepStore {
		for _, l := range wrap("⚠ " + w.opts.Warning) {
			add(st.Warn.Render(l))
		}
		add("")
	}
	switch w.step {
	case StepProfile:
		labels := []string{"API base URL", "Workspace ID", "API key ID", "API secret"}
		fields := []*input.Field{&w.url, &w.ws, &w.kid, &w.sec}
		for i, f := range fields {
			add(w.field(labels[i], f, i == w.focus, width))
		}
	case StepKeys:
		add(w.keyLines(width)...)
	case StepPassphrase:
		if w.wrap.on {
			add(w.wrapLines(width)...)
			break
		}
		add(w.field("Passphrase", &w.pass[0], w.focus == 0, width))
		add(w.field("Again", &w.pass[1], w.focus == 1, width))
		s := Estimate(w.pass[0].Bytes())
		rating := fmt.Sprintf("Strength: %s (~%.0f bits, %d characters)", s.Label(), s.Bits, s.Length)
		if s.OK {
			add(st.Good.Render(rating))
		} else {
			add(st.Warn.Render(rating))
		}
		if len(s.Feedback) > 0 && s.Length > 0 {
			add(st.Muted.Render("  " + strings.Join(s.Feedback, "; ")))
		}
	case StepStore:
		add(st.Label.Render("Where:  ") + w.opts.Where)
		if k := w.reg.CurrentSettings().WrapKind; k != "" && k != "none" {
			add(st.Label.Render("Wrap:   ") + wrapChoiceNames[indexOf(wrapKinds, k)])
		}
	case StepRegister:
		add(st.Label.Render("API:    ") + w.reg.CurrentSettings().APIBaseURL)
		add(st.Label.Render("Key ID: ") + w.reg.CurrentSettings().APIKeyID)
	case StepBackup:
		add(w.field("Backup file", &w.bkp, true, width))
	case StepDone:
		add(w.keyLines(width)...)
		if w.backup != "" {
			add("", "Backup written to "+w.backup+" (0600). Keep it offline.")
		} else {
			add("", st.Warn.Render("No backup written: run `qapprove keys export FILE` before you rely on this key."))
		}
		add("")
		add(wrap("To split the backup among custodians (any K of N restore it): `qapprove keys export --shares N --threshold K --to age1… DIR`. Prove a backup with `qapprove keys drill`.")...)
	}
	add("")
	if w.busy != "" {
		el := max(w.now.Sub(w.busySince), 0)
		frame := spinFrames[int(el.Seconds())%len(spinFrames)]
		for _, l := range wrap(frame + " " + w.busy) {
			add(st.Note.Render(l))
		}
	}
	if w.note != "" {
		for _, l := range wrap("✓ " + w.note) {
			add(st.Good.Render(l))
		}
	}
	if w.errText != "" {
		for _, l := range wrap("✗ " + w.errText) {
			add(st.Error.Render(l))
		}
	}
	if w.failed {
		add("")
		for _, l := range wrap(w.failedHelp()) {
			add(l)
		}
	}
	return pad(out, width, w.height)
}

// explain is the text under the title; the last step says whether the key
// is registered or still awaiting the Admin Policy.
func (w *Wizard) explain() string {
	if w.step == StepPassphrase && w.wrap.on {
		return "Choose what else an unlock needs besides the passphrase. A KMS or HSM key wraps the encrypted key once more; it never signs. See docs/KEYS.md."
	}
	if w.step == StepDone && w.AwaitingAdmin() {
		return "Your approver key is " + RegistrationStatus("", w.ActionID()) + ": it can approve once an admin approves that action."
	}
	return explain[w.step]
}

// RegistrationStatus is how a key's registration reads everywhere (the
// wizard, the command line, keys show): awaiting is the key-update action
// still awaiting the Admin Policy ("" when none is).
func RegistrationStatus(registered, awaiting string) string {
	if awaiting != "" {
		return "submitted, awaiting approval under the Admin Policy (action " + safetext.Line(awaiting) + ")"
	}
	return strings.TrimSpace("registered " + safetext.Line(registered))
}

func (w *Wizard) failedHelp() string {
	if w.step == StepRegister {
		if w.reg.Approved() {
			return "The API accepted the key, so it stays in the keystore. r retry the last part · d close"
		}
		return "The key is stored but NOT registered. r retry · k keep the unregistered key and close · d discard it and close (nothing is left behind)"
	}
	return "Nothing was registered. r choose the passphrase again · d discard and close"
}

func (w *Wizard) field(label string, f *input.Field, focus bool, width int) string {
	st := w.ctx.Styles
	mark := "  "
	if focus {
		mark = "> "
	}
	l := fmt.Sprintf("%s%-13s ", mark, label)
	fw := max(width-len(l)-1, 8)
	if !focus {
		v := f.View(fw)
		v = strings.TrimSuffix(v, "█")
		if f.Len() == 0 && !f.Mask {
			v = ""
		}
		return st.Label.Render(l) + v
	}
	return st.Label.Render(l) + f.View(fw)
}

func (w *Wizard) keyLines(width int) []string {
	st := w.ctx.Styles
	b, e, ok := w.PublicKeys()
	if !ok {
		return []string{st.Muted.Render("(no keys yet)")}
	}
	hw := max(width-20, 16)
	return []string{
		st.Label.Render("BLS public key  ") + ui.Middle(fmt.Sprintf("%x", b[:]), hw),
		st.Label.Render("BLS fingerprint ") + st.Value.Render(qbls.Fingerprint(b)),
		st.Label.Render("EC public key   ") + ui.Middle(fmt.Sprintf("%x", e[:]), hw),
		st.Label.Render("EC fingerprint  ") + st.Value.Render(ECFingerprint(e)),
	}
}

func progressBar(step int) string {
	var b strings.Builder
	for i := 0; i < 6; i++ {
		switch {
		case i < step:
			b.WriteString("● ")
		case i == step:
			b.WriteString("◉ ")
		default:
			b.WriteString("○ ")
		}
		b.WriteString(stepNames[i])
		if i < 5 {
			b.WriteString("  ")
		}
	}
	return b.String()
}

// pad makes lines exactly h lines of w cells (all of them, fitted, before
// the wizard has a height).
func pad(lines []string, w, h int) string {
	if h <= 0 {
		h = len(lines)
	}
	return ui.FitLines(lines, w, h)
}

// ShortHelp implements ui.Screen: the keys of the current step.
func (w *Wizard) ShortHelp() []key.Binding {
	b := func(k, h string) key.Binding { return key.NewBinding(key.WithKeys(k), key.WithHelp(k, h)) }
	switch {
	case w.busy != "":
		return []key.Binding{b("ctrl+c", "abandon (nothing half-done is kept)")}
	case w.failed && w.step == StepRegister && w.reg.Approved():
		return []key.Binding{b("r", "retry"), b("d", "close")}
	case w.failed && w.step == StepRegister:
		return []key.Binding{b("r", "retry"), b("k", "keep the unregistered key"), b("d", "discard and close")}
	case w.failed:
		return []key.Binding{b("r", "choose the passphrase again"), b("d", "discard and close")}
	}
	if w.step == StepPassphrase && w.wrap.on {
		return []key.Binding{b("←/→", "choose"), b("tab", "next field"), b("enter", "encrypt and save"), b("esc", "back")}
	}
	switch w.step {
	case StepProfile:
		return []key.Binding{b("tab", "next field"), b("enter", "next / check"), b("esc", "cancel")}
	case StepKeys:
		return []key.Binding{b("enter", "next"), b("esc", "back")}
	case StepPassphrase:
		return []key.Binding{b("tab", "switch field"), b("enter", "continue"), b("esc", "back")}
	case StepStore:
		return []key.Binding{b("enter", "register with the API")}
	case StepBackup:
		return []key.Binding{b("enter", "write the backup (empty: skip)")}
	}
	return []key.Binding{b("enter", "close")}
}

// FullHelp implements ui.Screen.
func (w *Wizard) FullHelp() [][]key.Binding { return [][]key.Binding{w.ShortHelp()} }
