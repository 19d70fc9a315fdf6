package wizard

// wrapstep.go: the protection choice after the passphrase (Options.OfferWrap):
// the passphrase alone, or also an AWS KMS key or a PKCS#11 token key.
// Update only records the choice in the registration's settings; the wrap
// itself happens in Registrar.Store, which runs in a Cmd.

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/ui/input"
)

// Wrap choices, in the order shown.
var wrapKinds = []string{"none", "kms", "pkcs11"}

var wrapChoiceNames = []string{"passphrase only", "AWS KMS", "HSM (PKCS#11)"}

// wrapField is one text field of a wrap choice.
type wrapField struct {
	label string
	dst   func(*storage.Wrap) *string
}

var wrapFieldsOf = [][]wrapField{
	nil,
	{
		{"KMS key ARN", func(w *storage.Wrap) *string { return &w.KMSKey }},
		{"Region", func(w *storage.Wrap) *string { return &w.KMSRegion }},
		{"Endpoint", func(w *storage.Wrap) *string { return &w.KMSEndpoint }},
	},
	{
		{"PKCS#11 lib", func(w *storage.Wrap) *string { return &w.PKCS11Module }},
		{"Token label", func(w *storage.Wrap) *string { return &w.PKCS11Token }},
		{"Key label", func(w *storage.Wrap) *string { return &w.PKCS11Label }},
		{"PIN file", func(w *storage.Wrap) *string { return &w.PKCS11PIN }},
	},
}

// wrapState is the protection screen's state.
type wrapState struct {
	on     bool // the protection screen is shown (after the passphrase)
	choice int  // index in wrapKinds
	focus  int  // 0 the choice, then the fields of the choice
	fields [3][]input.Field
}

// initWrap prefills the choice and the fields from the defaults.
func (w *Wizard) initWrap(d storage.Wrap) {
	for i, k := range wrapKinds {
		if d.WrapKind == k {
			w.wrap.choice = i
		}
	}
	for c, fs := range wrapFieldsOf {
		w.wrap.fields[c] = make([]input.Field, len(fs))
		for i, f := range fs {
			w.wrap.fields[c][i].Limit = 256
			setText(&w.wrap.fields[c][i], *f.dst(&d))
		}
	}
}

// wrapSettings are the profile settings with the protection chosen.
func (w *Wizard) wrapSettings() (storage.Profile, error) {
	p := w.reg.CurrentSettings()
	c := w.wrap.choice
	p.WrapKind = wrapKinds[c]
	for i, f := range wrapFieldsOf[c] {
		*f.dst(&p.Wrap) = strings.TrimSpace(w.wrap.fields[c][i].Text())
	}
	switch p.WrapKind {
	case "kms":
		if p.KMSKey == "" {
			return p, errors.New("type the ARN of the AWS KMS key that will wrap the key")
		}
	case "pkcs11":
		if p.PKCS11Module == "" || p.PKCS11Token == "" || p.PKCS11Label == "" || p.PKCS11PIN == "" {
			return p, errors.New("type the PKCS#11 library path, the token label, the key label and the file holding the token PIN")
		}
	}
	return p, p.Wrap.Validate()
}

// wrapKey handles a key on the protection screen.
func (w *Wizard) wrapKey(msg tea.KeyPressMsg) tea.Cmd {
	s := &w.wrap
	n := 1 + len(s.fields[s.choice])
	switch msg.String() {
	case "tab", "down":
		s.focus = (s.focus + 1) % n
	case "shift+tab", "up":
		s.focus = (s.focus + n - 1) % n
	case "left", "right", "space":
		if s.focus != 0 {
			break
		}
		d := 1
		if msg.String() == "left" {
			d = len(wrapKinds) - 1
		}
		s.choice, w.errText = (s.choice+d)%len(wrapKinds), ""
	case "enter":
		p, err := w.wrapSettings()
		if err != nil {
			w.errText = err.Error()
			return nil
		}
		w.reg.UseSettings(p)
		return w.startStore()
	case "esc":
		s.on, w.errText = false, ""
	default:
		if s.focus > 0 && s.fields[s.choice][s.focus-1].Update(msg) {
			w.errText = ""
		}
	}
	return nil
}

// wrapLines draws the protection screen.
func (w *Wizard) wrapLines(width int) []string {
	st := w.ctx.Styles
	s := &w.wrap
	var choices []string
	for i, name := range wrapChoiceNames {
		mark := "( ) "
		if i == s.choice {
			mark = "(•) "
		}
		choices = append(choices, mark+name)
	}
	mark := "  "
	if s.focus == 0 {
		mark = "> "
	}
	out := []string{st.Label.Render(mark+"Protection    ") + strings.Join(choices, "  ")}
	for i, f := range wrapFieldsOf[s.choice] {
		out = append(out, w.field(f.label, &s.fields[s.choice][i], s.focus == i+1, width))
	}
	out = append(out, "")
	for _, l := range strings.Split(ansi.Wordwrap(wrapHelp[s.choice], max(width-2, 10), " "), "\n") {
		out = append(out, st.Muted.Render(l))
	}
	return out
}

var wrapHelp = []string{
	"The encrypted key opens with the passphrase alone.",
	"Each unlock also needs this desk's permission on the KMS key; your security team can revoke it at once, and CloudTrail logs every use.",
	"Each unlock also needs the token and its PIN (read from the PIN file); the AES key never leaves the token.",
}

// stepName is the name of the current step in the title.
func (w *Wizard) stepName() string {
	if w.step == StepPassphrase && w.wrap.on {
		return "Passphrase — protection"
	}
	return stepNames[w.step]
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}
