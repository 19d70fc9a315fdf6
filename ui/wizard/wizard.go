// Package wizard is the key-registration wizard: a ui.Screen that walks an
// operator through the profile, key generation, passphrase, storage,
// registration with the API and backup, on top of app.Registration.
// Failures leave nothing half-done: an unregistered key is removed from the
// keystore unless the operator chooses to keep it.
package wizard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/input"
	"github.com/qapprove/qapprove/ui/safetext"
)

// Steps of the wizard.
const (
	StepProfile = iota
	StepKeys
	StepPassphrase
	StepStore
	StepRegister
	StepBackup
	StepDone
)

var stepNames = []string{"Profile", "Keys", "Passphrase", "Store", "Register", "Backup", "Done"}

// Registrar is the registration the wizard drives, one step at a time
// (app.Registration implements it): it holds the secrets, talks to the
// API and writes the keystore and the journal, so the wizard does not.
type Registrar interface {
	Validate(storage.Profile) error // the profile values of step 1, before any network
	UseSettings(storage.Profile)
	CurrentSettings() storage.Profile
	SecretLimit() int
	SetAPISecret(secret []byte)
	CheckCredentials(ctx context.Context) error
	CheckHint(err error) string
	GenerateKeys() error
	PublicKeys() (qbls.PublicKey, eckey.PublicKey, bool)
	Store(passphrase []byte) error
	Register(ctx context.Context) error
	ActionID() string
	AwaitingAdmin() bool
	Approved() bool
	ExportBackup(path string) error
	Abort(keep bool) error
	Close()
}

// Options configures a Wizard.
type Options struct {
	Registrar Registrar // the registration of the profile
	Profile   string
	Where     string          // where the key is stored, for humans ("OS keychain", "file keystore …")
	Warning   string          // backend warning to show (file keystore fallback)
	Defaults  storage.Profile // prefilled profile values
	// SaveProfile writes the profile to config.toml after registration
	// (called from the registration command, never from Update).
	SaveProfile func(storage.Profile) error
	// Timeout bounds each network step (default 60 s).
	Timeout time.Duration
	// OfferWrap adds the protection choice after the passphrase: the
	// passphrase only, an AWS KMS key or a PKCS#11 token key (prefilled
	// from Defaults.Wrap). The wrap happens in Registrar.Store.
	OfferWrap bool
}

// DoneMsg is returned (as a command) when the operator closes the wizard.
type DoneMsg struct{ Registered bool }

// IsDone reports whether msg is a DoneMsg (for journalview.RunUntil).
func IsDone(msg tea.Msg) bool { _, ok := msg.(DoneMsg); return ok }

// results of the slow steps.
type (
	checkDoneMsg struct{ err error }
	storeDoneMsg struct{ err error }
	// registerDoneMsg: saveErr is writing config.toml after a success.
	registerDoneMsg struct{ err, saveErr error }
	backupDoneMsg   struct {
		path string
		err  error
	}
)

// Wizard is the registration screen.
type Wizard struct {
	ctx  *ui.Context
	opts Options
	reg  Registrar

	step  int
	focus int            // field with focus on the current step
	url   input.Field    // profile fields
	ws    input.Field    //
	kid   input.Field    //
	sec   input.Field    // masked API secret
	pass  [2]input.Field // passphrase twice
	bkp   input.Field    // backup path
	wrap  wrapState      // the protection choice (OfferWrap)

	jobs      jobs
	busy      string // what is running ("" when idle)
	busySince time.Time
	now       time.Time
	errText   string // what went wrong, and what to do
	note      string
	failed    bool // a store/register failure: choose retry, keep or discard
	kept      bool // the operator chose to keep an unregistered key
	cleaned   bool
	backup    string // exported backup path

	// Public copies of the generated keys: the registration wipes its
	// secrets on Cleanup, and the summary printed afterwards needs them.
	blsPub  qbls.PublicKey
	ecPub   eckey.PublicKey
	havePub bool

	width, height int
}

// New returns a wizard at step 1.
func New(ctx *ui.Context, opts Options) *Wizard {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	w := &Wizard{ctx: ctx, opts: opts}
	w.reg = opts.Registrar
	w.url.Placeholder = "https://api-v2.qredo.network/api/v2"
	w.url.Limit, w.ws.Limit, w.kid.Limit = 200, 100, 100
	w.sec.Mask, w.sec.Limit = true, w.reg.SecretLimit()
	w.pass[0].Mask, w.pass[1].Mask = true, true
	w.pass[0].Limit, w.pass[1].Limit = 1024, 1024
	w.bkp.Placeholder = "e.g. /media/usb/qapprove-" + opts.Profile + ".json (empty: skip)"
	setText(&w.url, opts.Defaults.APIBaseURL)
	setText(&w.ws, opts.Defaults.WorkspaceID)
	setText(&w.kid, opts.Defaults.APIKeyID)
	w.initWrap(opts.Defaults.Wrap)
	w.now = w.clock()
	return w
}

func setText(f *input.Field, s string) {
	for _, r := range s {
		f.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (w *Wizard) clock() time.Time {
	if w.ctx != nil && w.ctx.Now != nil {
		return w.ctx.Now()
	}
	return time.Now()
}

// Step is the current step (StepProfile … StepDone).
func (w *Wizard) Step() int { return w.step }

// Registered reports whether the registration completed.
func (w *Wizard) Registered() bool { return w.step >= StepBackup }

// PublicKeys are the generated public keys (after step 2), also after
// Cleanup wiped the secrets.
func (w *Wizard) PublicKeys() (qbls.PublicKey, eckey.PublicKey, bool) {
	return w.blsPub, w.ecPub, w.havePub
}

// Settings are the profile values the registration used.
func (w *Wizard) Settings() storage.Profile { return w.reg.CurrentSettings() }

// ActionID is the key-update action of the registration ("" before step 5).
func (w *Wizard) ActionID() string { return w.reg.ActionID() }

// AwaitingAdmin reports whether the key update is submitted but still
// awaiting approval under the Admin Policy (the key cannot approve yet).
func (w *Wizard) AwaitingAdmin() bool { return w.reg.AwaitingAdmin() }

// Title implements ui.Screen.
func (w *Wizard) Title() string { return "Register keys" }

// Init implements ui.Screen.
func (w *Wizard) Init() tea.Cmd { return nil }

// SetSize implements ui.Screen.
func (w *Wizard) SetSize(width, height int) { w.width, w.height = width, height }

// Capturing implements ui.Screen: every step but Keys and Done reads text.
func (w *Wizard) Capturing() bool {
	// While a step runs, q must not quit behind its back: only ctrl+c,
	// after which Cleanup cancels and waits for it.
	return w.busy != "" || (!w.failed && (w.step == StepProfile || w.step == StepPassphrase || w.step == StepBackup))
}

// Cleanup undoes a registration that did not complete (unless the operator
// chose to keep the key) and wipes every secret. It returns a sentence
// saying what it did ("" when there was nothing to do). Safe to call twice.
func (w *Wizard) Cleanup() string {
	if w.cleaned {
		return ""
	}
	w.cleaned = true
	w.jobs.stop() // a step still running must end before its state is judged
	msg := ""
	if !w.Registered() && w.step >= StepStore {
		switch err := w.reg.Abort(w.kept); {
		case err != nil:
			msg = "the unregistered key could not be removed from the keystore: " + err.Error()
		case w.reg.Approved():
			msg = "the key was accepted by the API and is kept in the keystore"
		case w.kept:
			msg = "the unregistered key is kept in the keystore as you chose"
		default:
			msg = "registration not completed: the unregistered key was removed from the keystore"
		}
	}
	w.wipe()
	w.reg.Close()
	return msg
}

// Close is Cleanup without the report.
func (w *Wizard) Close() { w.Cleanup() }

func (w *Wizard) wipe() {
	w.sec.Wipe()
	w.pass[0].Wipe()
	w.pass[1].Wipe()
}

func (w *Wizard) settings() storage.Profile {
	p := w.opts.Defaults
	p.APIBaseURL = strings.TrimSpace(w.url.Text())
	p.WorkspaceID = strings.TrimSpace(w.ws.Text())
	p.APIKeyID = strings.TrimSpace(w.kid.Text())
	return p
}

func (w *Wizard) start(what string, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	w.busy, w.busySince, w.errText, w.note = what, w.clock(), "", ""
	return w.jobs.run(w.opts.Timeout, fn)
}

// jobs tracks the slow steps running in the background, so Cleanup can
// cancel them and wait: the registration's state is then final, and no
// secret is wiped while a step still uses it.
type jobs struct {
	mu      sync.Mutex
	idle    *sync.Cond
	n       int
	stopped bool
	cancels map[int]context.CancelFunc
	next    int
}

// run wraps fn as a command that does nothing once stop was called.
func (j *jobs) run(timeout time.Duration, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		j.mu.Lock()
		if j.stopped {
			j.mu.Unlock()
			return nil
		}
		if j.idle == nil {
			j.idle, j.cancels = sync.NewCond(&j.mu), map[int]context.CancelFunc{}
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		id := j.next
		j.next++
		j.n++
		j.cancels[id] = cancel
		j.mu.Unlock()
		defer func() {
			j.mu.Lock()
			delete(j.cancels, id)
			j.n--
			j.idle.Broadcast()
			j.mu.Unlock()
			cancel()
		}()
		return fn(ctx)
	}
}

// stop cancels the running steps, waits for them and refuses new ones.
func (j *jobs) stop() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopped = true
	for _, c := range j.cancels {
		c()
	}
	for j.n > 0 {
		j.idle.Wait()
	}
}

// Update implements ui.Screen.
func (w *Wizard) Update(msg tea.Msg) (ui.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case ui.TickMsg:
		w.now = msg.Now
	case ui.ThemeMsg:
		w.ctx.Styles = msg.Styles
	case checkDoneMsg:
		w.busy = ""
		if msg.err != nil {
			w.errText = msg.err.Error() + ". " + w.reg.CheckHint(msg.err)
			return w, nil
		}
		w.sec.Wipe() // the registration holds its own copy now
		if err := w.reg.GenerateKeys(); err != nil {
			w.errText = err.Error()
			return w, nil
		}
		w.blsPub, w.ecPub, w.havePub = w.reg.PublicKeys()
		w.step, w.focus = StepKeys, 0
	case storeDoneMsg:
		w.busy, w.wrap.on = "", false
		w.pass[0].Wipe()
		w.pass[1].Wipe()
		if msg.err != nil {
			w.step, w.failed = StepStore, true
			w.errText = "Saving the key failed: " + msg.err.Error() + "."
			return w, nil
		}
		w.step = StepStore
		w.note = "Encrypted, saved and read back: the stored key decrypts with your passphrase."
	case registerDoneMsg:
		w.busy = ""
		if msg.err != nil {
			w.step, w.failed = StepRegister, true
			w.errText = msg.err.Error() + "."
			return w, nil
		}
		if msg.saveErr != nil {
			w.note = "Registered, but config.toml could not be written: " + msg.saveErr.Error()
		}
		w.step, w.failed = StepBackup, false
		if w.note == "" {
			id := safetext.Line(w.reg.ActionID())
			w.note = "Registered: key update " + id + " approved with the new key; journal created."
			if w.reg.AwaitingAdmin() {
				w.note = "Submitted: key update " + id + " is signed with the new key and awaiting approval under the Admin Policy; journal created."
			}
		}
	case backupDoneMsg:
		w.busy = ""
		if msg.err != nil {
			w.errText = msg.err.Error()
			return w, nil
		}
		w.backup = msg.path
		w.step = StepDone
	case tea.KeyPressMsg:
		if w.busy != "" {
			return w, nil
		}
		return w, w.key(msg)
	}
	return w, nil
}

func (w *Wizard) key(msg tea.KeyPressMsg) tea.Cmd {
	k := msg.String()
	if w.failed {
		return w.failedKey(k)
	}
	switch w.step {
	case StepProfile:
		fields := []*input.Field{&w.url, &w.ws, &w.kid, &w.sec}
		switch k {
		case "tab", "down":
			w.focus = (w.focus + 1) % len(fields)
		case "shift+tab", "up":
			w.focus = (w.focus + len(fields) - 1) % len(fields)
		case "enter":
			if w.focus < len(fields)-1 {
				w.focus++
				return nil
			}
			p := w.settings()
			if err := w.reg.Validate(p); err != nil {
				w.errText = err.Error()
				return nil
			}
			w.reg.UseSettings(p)
			w.reg.SetAPISecret(w.sec.Bytes())
			reg := w.reg
			return w.start("Signing in to check the API key and secret…", func(ctx context.Context) tea.Msg {
				return checkDoneMsg{err: reg.CheckCredentials(ctx)}
			})
		case "esc":
			return func() tea.Msg { return DoneMsg{} }
		default:
			if fields[w.focus].Update(msg) {
				w.errText = ""
			}
		}
	case StepKeys:
		switch k {
		case "enter":
			w.step, w.focus = StepPassphrase, 0
		case "esc":
			w.step, w.focus = StepProfile, 3
		}
	case StepPassphrase:
		if w.wrap.on {
			return w.wrapKey(msg)
		}
		switch k {
		case "tab", "down", "shift+tab", "up":
			w.focus = 1 - w.focus
		case "enter":
			if w.focus == 0 {
				w.focus = 1
				return nil
			}
			return w.tryStore()
		case "esc":
			w.pass[0].Wipe()
			w.pass[1].Wipe()
			w.step, w.focus, w.errText = StepKeys, 0, ""
		default:
			if w.pass[w.focus].Update(msg) {
				w.errText = ""
			}
		}
	case StepStore:
		if k == "enter" {
			return w.startRegister()
		}
	case StepBackup:
		switch k {
		case "enter":
			path := strings.TrimSpace(w.bkp.Text())
			if path == "" {
				w.step = StepDone
				return nil
			}
			reg := w.reg
			return w.start("Writing the encrypted backup…", func(context.Context) tea.Msg {
				return backupDoneMsg{path: path, err: reg.ExportBackup(path)}
			})
		default:
			if w.bkp.Update(msg) {
				w.errText = ""
			}
		}
	case StepDone:
		if k == "enter" || k == "esc" || k == "q" {
			return func() tea.Msg { return DoneMsg{Registered: true} }
		}
	}
	return nil
}

// startRegister runs step 5 (again, after a failure).
func (w *Wizard) startRegister() tea.Cmd {
	w.step, w.failed = StepRegister, false
	reg, save := w.reg, w.opts.SaveProfile
	return w.start("Registering the public keys with the API, then approving the key update with the new key…", func(ctx context.Context) tea.Msg {
		if err := reg.Register(ctx); err != nil {
			return registerDoneMsg{err: err}
		}
		var err error
		if save != nil {
			err = save(reg.CurrentSettings())
		}
		return registerDoneMsg{saveErr: err}
	})
}

// failedKey handles the choice after a failed store or register.
func (w *Wizard) failedKey(k string) tea.Cmd {
	switch k {
	case "r":
		if w.step == StepRegister {
			return w.startRegister()
		}
		w.failed, w.step, w.errText = false, StepPassphrase, ""
	case "k":
		w.kept = true
		w.note = w.Cleanup()
		return func() tea.Msg { return DoneMsg{} }
	case "d", "esc", "q":
		w.Cleanup()
		return func() tea.Msg { return DoneMsg{} }
	}
	return nil
}

func (w *Wizard) tryStore() tea.Cmd {
	a, b := w.pass[0].Bytes(), w.pass[1].Bytes()
	s := Estimate(a)
	switch {
	case !s.OK:
		w.errText = "This passphrase is too weak (" + s.Label() + "). " + strings.Join(s.Feedback, "; ") + "."
		return nil
	case !bytes.Equal(a, b):
		w.errText = "The two passphrases differ: type the same passphrase twice."
		w.pass[1].Wipe()
		return nil
	}
	if w.opts.OfferWrap {
		w.wrap.on, w.wrap.focus, w.errText = true, 0, ""
		return nil
	}
	return w.startStore()
}

// startStore seals, wraps if chosen, saves and reads back (step 4).
func (w *Wizard) startStore() tea.Cmd {
	pass := append([]byte(nil), w.pass[0].Bytes()...)
	reg := w.reg
	w.step = StepStore
	return w.start("Encrypting the key (scrypt, about a second), saving it and reading it back…", func(context.Context) tea.Msg {
		defer clear(pass)
		return storeDoneMsg{err: reg.Store(pass)}
	})
}

// ECFingerprint is the short fingerprint of an EC public key, in the same
// form as qbls.Fingerprint: the first 8 bytes of SHA-256 as 4 groups.
func ECFingerprint(pk eckey.PublicKey) string {
	d := sha256.Sum256(pk[:])
	h := hex.EncodeToString(d[:8])
	return h[0:4] + ":" + h[4:8] + ":" + h[8:12] + ":" + h[12:16]
}
