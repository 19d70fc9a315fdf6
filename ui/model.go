package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

// noteFor is how long a notice stays in the footer.
const noteFor = 5 * time.Second

// Options configure the console.
type Options struct {
	// Now is the clock (default time.Now); tests inject a fixed or stepped one.
	Now func() time.Time
	// NoColor drops every colour (also set when NO_COLOR is non-empty).
	NoColor bool
	// Light starts with the light theme until the terminal reports its
	// background (the default assumes a dark one).
	Light bool
	// InitialItems are shown at once (the disk cache), marked "cached"
	// until the backend sends ActionsLoaded.
	InitialItems []app.Item
	// ExtraScreens add tabs after the pending screen (journal viewer, wizard).
	ExtraScreens []func(*Context) Screen
	// Context cancels decisions in flight (default context.Background()).
	Context context.Context
	// Keys overrides the default keymap.
	Keys *keys.KeyMap
}

// Model is the root of the console: header, tabs, the active screen, the
// footer and the dialog stack. It is a tea.Model (use a *Model).
type Model struct {
	ctx     *Context
	opts    Options
	info    app.Info
	events  <-chan app.Event
	noColor bool

	screens []Screen
	active  int
	pending *PendingScreen

	dialogs    []openDialog
	showHelp   bool
	helpScroll int // first line of the `?` help shown
	help       help.Model

	width, height int

	conn        app.Conn
	sinks       app.SinkState // the journal's sinks ("" level: none configured)
	locked      bool
	lockUntil   time.Time
	locking     string        // the reason of a lock in progress ("": none)
	unlockWait  time.Duration // the unlock back-off, as of the last message
	inflight    int
	errLine     string
	noteText    string
	noteUntil   time.Time
	quitting    bool
	feedClosed  bool
	selftestOK  bool
	selftestWhy string
	// selftestDone is false while the self-test still runs: the header
	// says "checking…" and signing waits.
	selftestDone bool
	lockWhy      string    // why the key locked by itself; shown until the next key
	lastInput    time.Time // the last key press (for "idle for 5 min")
	initCmd      tea.Cmd

	frameMu sync.Mutex // guards frame
	frame   string     // the last rendered frame (for tests)
}

// Messages internal to the root model.
type (
	eventMsg       struct{ ev app.Event }
	feedClosedMsg  struct{}
	tickMsg        struct{}
	abandonDoneMsg struct{ err error }
	// lockedMsg: Backend.Lock(reason) returned (run in a command).
	lockedMsg       struct{ reason string }
	decisionDoneMsg struct {
		d   app.Decision
		out app.Outcome
		err error
	}
)

// InterruptMsg asks the console to lock the key and quit at once, without
// asking even when a decision is in flight: cmd sends it when the process
// receives SIGINT, SIGTERM or SIGHUP (the UI installs no signal handler).
type InterruptMsg struct{}

// New builds the console for a backend. Subscribe is called here.
func New(b Backend, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	km := keys.Default()
	if opts.Keys != nil {
		km = *opts.Keys
	}
	noColor := opts.NoColor || styles.NoColorEnv()
	ctx := &Context{Backend: b, Now: opts.Now, Styles: styles.New(!opts.Light, noColor), Keys: km}
	m := &Model{ctx: ctx, opts: opts, info: b.Info(), events: b.Subscribe(), noColor: noColor, help: help.New()}
	m.applyHelpStyles(!opts.Light)
	m.pending = NewPendingScreen(ctx)
	m.screens = []Screen{m.pending}
	for _, mk := range opts.ExtraScreens {
		m.screens = append(m.screens, mk(ctx))
	}
	if len(opts.InitialItems) > 0 {
		// The disk cache is small enough to sort here; large caches are
		// sorted by the command that load returns, started from Init.
		m.initCmd = m.pending.load(opts.InitialItems, true)
	}
	m.refreshLock()
	m.selftestDone, m.selftestOK, m.selftestWhy = b.Selftest()
	m.conn = app.Conn{State: app.ConnOffline}
	m.lastInput = opts.Now()
	return m
}

func (m *Model) applyHelpStyles(isDark bool) {
	if m.noColor {
		m.help.Styles = help.Styles{}
		return
	}
	m.help.Styles = help.DefaultStyles(isDark)
}

// Pending returns the pending-actions screen.
func (m *Model) Pending() *PendingScreen { return m.pending }

// Context returns the shared context (styles, keys, clock, backend).
func (m *Model) Context() *Context { return m.ctx }

// InFlight is the number of decisions being sent.
func (m *Model) InFlight() int { return m.inflight }

// DialogOpen reports whether a dialog is shown.
func (m *Model) DialogOpen() bool { return len(m.dialogs) > 0 }

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, m.waitEvent(), m.tick(), m.initCmd}
	for _, s := range m.screens {
		cmds = append(cmds, s.Init())
	}
	return tea.Batch(cmds...)
}

func (m *Model) waitEvent() tea.Cmd {
	ch := m.events
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return feedClosedMsg{}
		}
		return eventMsg{ev}
	}
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		m.ctx.Styles = styles.New(msg.IsDark(), m.noColor)
		m.applyHelpStyles(msg.IsDark())
		return m, m.broadcast(ThemeMsg{Styles: m.ctx.Styles})
	case eventMsg:
		return m, tea.Batch(m.handleEvent(msg.ev), m.waitEvent())
	case feedClosedMsg:
		m.feedClosed = true
		m.conn = app.Conn{State: app.ConnOffline}
		return m, nil
	case tickMsg:
		return m, tea.Batch(m.onTick(), m.tick())
	case unlockDoneMsg:
		m.refreshLock()
		msg.wait = m.unlockWait
		return m, m.toDialog(msg)
	case lockedMsg:
		return m, m.onLocked(msg.reason)
	case InterruptMsg:
		return m, m.quitWith("signal")
	case decisionDoneMsg:
		m.onDecided(msg)
		return m, nil
	case abandonDoneMsg:
		if msg.err != nil {
			m.errLine = "The journal did not record the abandoned decision: " + clean(msg.err.Error())
		}
		return m, nil
	case NoteMsg:
		if msg.Err {
			m.errLine = clean(msg.Text)
		} else {
			m.note(clean(msg.Text))
		}
		return m, nil
	case spinner.TickMsg:
		return m, m.toDialog(msg)
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.MouseMsg:
		if len(m.dialogs) > 0 || m.showHelp {
			return m, nil
		}
		var cmd tea.Cmd
		m.screens[m.active], cmd = m.screens[m.active].Update(msg)
		return m, cmd
	}
	return m, m.broadcast(msg)
}

// broadcast sends a message to every screen.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for i, s := range m.screens {
		var cmd tea.Cmd
		m.screens[i], cmd = s.Update(msg)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *Model) handleEvent(ev app.Event) tea.Cmd {
	switch e := ev.(type) {
	case app.ActionsLoaded:
		cmd := m.pending.load(e.Items, false)
		m.checkDialogs()
		return cmd
	case app.ActionUpserted:
		m.pending.upsert(e.Item)
	case app.ActionRemoved:
		if m.pending.remove(e.ID) {
			why := "decided elsewhere"
			if e.Why == app.RemovedExpired {
				why = "expired"
			}
			m.note(fmt.Sprintf("%s dropped out: %s.", clean(e.ID), why))
			m.markGone(e.ID, why)
		}
	case app.Conn:
		prev := m.conn
		m.conn = e
		if e.State != app.ConnLive && e.Reason != "" && (prev.State != e.State || prev.Reason != e.Reason) {
			text := "Connection " + string(e.State) + ": " + clean(e.Reason)
			if !e.AsOf.IsZero() {
				text += " · showing data " + asOf(e.AsOf, m.ctx.Now())
			}
			m.note(text + ".")
		}
	case app.LockChanged:
		m.refreshLock()
		if e.Locked && e.Reason != "" && e.Reason != "operator" && e.Reason != "exit" {
			m.lockWhy = lockReasonText(e.Reason, m.ctx.Now().Sub(m.lastInput))
		}
	case app.SinkState:
		if e.Level == app.SinksDown && m.sinks.Level != app.SinksDown {
			m.note("Journal sink " + clean(e.Sink) + " down: " + clean(e.Reason) + ".")
		}
		m.sinks = e
	case app.Notice:
		m.note(clean(e.Text))
	}
	return nil
}

// lockReasonText says why the key locked by itself, for the status line.
func lockReasonText(reason string, idle time.Duration) string {
	switch {
	case strings.HasPrefix(reason, "idle"):
		if idle >= time.Minute {
			return fmt.Sprintf("Locked: idle for %d min.", int(idle.Minutes()))
		}
		return "Locked: idle."
	case reason == "auto-lock" || strings.HasPrefix(reason, "absolute"):
		return "Locked: the longest time a key stays unlocked was reached (absolute limit)."
	case reason == "signal" || strings.HasPrefix(reason, "SIG"):
		return "Locked: the process received a signal (" + clean(reason) + ")."
	}
	return "Locked: " + clean(reason) + "."
}

func (m *Model) onTick() tea.Cmd {
	now := m.ctx.Now()
	m.refreshLock()
	m.selftestDone, m.selftestOK, m.selftestWhy = m.ctx.Backend.Selftest()
	gone, soon := m.pending.expire(now, m.info.ExpiryWarning)
	var notes []string
	if len(gone) > 0 {
		notes = append(notes, fmt.Sprintf("%d expired action(s) dropped out.", len(gone)))
		for _, r := range gone {
			m.markGone(r.action.ID, "expired")
		}
	}
	cmds := []tea.Cmd{m.broadcast(TickMsg{Now: now})}
	alert := false
	if ids, n := m.pending.takeArrivals(); n > 0 {
		title, body := arrivalText(m.pending, ids, n)
		notes = append(notes, body)
		cmds = append(cmds, m.notify(title, body))
		alert = true
	}
	if len(soon) > 0 {
		title, body := soonText(soon, now, m.info.ExpiryWarning)
		notes = append(notes, body)
		cmds = append(cmds, m.notify(title, body))
		alert = true
	}
	if len(notes) > 0 {
		m.note(strings.Join(notes, "  "))
	}
	if alert && m.info.Bell {
		cmds = append(cmds, tea.Raw("\a")) // the terminal bell, through the renderer
	}
	return tea.Batch(cmds...)
}

// notify asks the backend for a desktop notification from a command; the
// texts hold only action IDs, amounts and networks, made safe.
func (m *Model) notify(title, body string) tea.Cmd {
	b := m.ctx.Backend
	title, body = clean(title), clean(body)
	return func() tea.Msg {
		b.Notify(title, body)
		return nil
	}
}

// shortAction names an action for a notice: ID, amount and network.
func shortAction(p *PendingScreen, id string) string {
	s := cut(clean(id), 32)
	it, ok := p.Item(id)
	if !ok || it.Action.Payload == nil || it.Action.Payload.Transaction == nil {
		return s
	}
	tx := it.Action.Payload.Transaction
	if tx.Amount == "" {
		return s + " (" + netLabel(tx.Network) + ")"
	}
	return s + " (" + cut(amountText(tx), 30) + ", " + netLabel(tx.Network) + ")"
}

// arrivalText is the notice of new actions: its title and one line.
func arrivalText(p *PendingScreen, ids []string, n int) (title, body string) {
	if n == 1 && len(ids) == 1 {
		return "qapprove: new action", "New action " + shortAction(p, ids[0]) + "."
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = cut(clean(id), 32)
	}
	more := ""
	if n > len(ids) {
		more = ", …"
	}
	return "qapprove: new actions", fmt.Sprintf("%d new actions: %s%s.", n, strings.Join(names, ", "), more)
}

// soonText is the notice of actions about to expire.
func soonText(soon []*row, now time.Time, within time.Duration) (title, body string) {
	if len(soon) == 1 {
		a := soon[0].action
		return "qapprove: action about to expire", fmt.Sprintf("%s expires %s.", cut(clean(a.ID), 32), expiresText(a, now))
	}
	var names []string
	for _, r := range soon[:min(len(soon), maxArrivals)] {
		names = append(names, cut(clean(r.action.ID), 32))
	}
	more := ""
	if len(soon) > maxArrivals {
		more = ", …"
	}
	return "qapprove: actions about to expire", fmt.Sprintf("%d actions expire within %s: %s%s.", len(soon), countdown(within), strings.Join(names, ", "), more)
}

func (m *Model) note(s string) {
	m.noteText = s
	m.noteUntil = m.ctx.Now().Add(noteFor)
}

// refreshLock reads the lock state and the unlock back-off from the
// backend (both fast, no IO).
func (m *Model) refreshLock() {
	m.locked, m.lockUntil = m.ctx.Backend.Locked()
	m.unlockWait = m.ctx.Backend.UnlockBackoff()
	m.pending.locked = m.locked
}

// lock locks the key in a command (a signed checkpoint, a journal line
// and the keychain anchor: IO); lockedMsg says when it is done. Until
// then the header says "locking…" and no decision starts.
func (m *Model) lock(reason string) tea.Cmd {
	m.locking = reason
	b := m.ctx.Backend
	return func() tea.Msg {
		b.Lock(reason)
		return lockedMsg{reason: reason}
	}
}

// onLocked ends a lock: the state is read again; quitting ends now.
func (m *Model) onLocked(reason string) tea.Cmd {
	m.locking = ""
	m.refreshLock()
	if m.quitting {
		return tea.Quit
	}
	if reason == "operator" {
		m.note("Key locked.")
	}
	return nil
}

// topID is the kind of the top dialog ("" when none).
func (m *Model) topID() string {
	if len(m.dialogs) == 0 {
		return ""
	}
	return m.dialogs[len(m.dialogs)-1].d.id()
}

// toDialog hands a message to the top dialog and carries out its action.
func (m *Model) toDialog(msg tea.Msg) tea.Cmd {
	if len(m.dialogs) == 0 {
		return nil
	}
	return m.act(m.dialogs[len(m.dialogs)-1].d.HandleMsg(msg))
}

// act carries out what the top dialog asked for.
func (m *Model) act(a Action) tea.Cmd {
	switch a := a.(type) {
	case ActionCmd:
		return a.Cmd
	case ActionClose:
		m.popDialog()
		if a.Note != "" {
			m.note(a.Note)
		}
	case ActionCancel:
		return m.cancel(a.Decision, a.Why, a.Note)
	case ActionAbandon:
		return m.abandon(a.Decision, a.Why)
	case ActionContinue:
		m.popDialog()
		it, ok := m.pending.Item(a.Decision.ActionID)
		if !ok {
			m.errLine = "The action is gone (decided elsewhere or expired): nothing was signed."
			return m.abandon(a.Decision, "the action is gone")
		}
		m.pushDialog(newConfirmDialog(m.ctx.Keys, a.Decision, *it))
	case ActionConfirm:
		m.popDialog()
		return m.proceed(a.Decision)
	case ActionUnlock:
		return m.unlock(a.Passphrase)
	case ActionQuit:
		return m.quit()
	}
	return nil
}

// unlock runs Backend.Unlock in a command (the KDF is slow) and wipes the
// passphrase after it; during a back-off it wipes it unused.
func (m *Model) unlock(pass []byte) tea.Cmd {
	if m.unlockWait = m.ctx.Backend.UnlockBackoff(); m.unlockWait > 0 {
		clear(pass)
		return m.toDialog(unlockRefusedMsg{wait: m.unlockWait})
	}
	b := m.ctx.Backend
	run := func() tea.Msg {
		err := b.Unlock(pass)
		clear(pass)
		return unlockDoneMsg{err: err}
	}
	return tea.Batch(run, m.toDialog(unlockStartedMsg{}))
}

// dialogView is what the dialogs draw with now.
func (m *Model) dialogView() dialogView {
	return dialogView{st: m.ctx.Styles, now: m.ctx.Now(), item: m.pending.Item, backoff: m.unlockWait}
}

func (m *Model) pushDialog(d dialog) {
	m.dialogs = append(m.dialogs, openDialog{d: d, openedAt: m.ctx.Now()})
}

func (m *Model) popDialog() {
	if n := len(m.dialogs); n > 0 {
		m.dialogs[n-1].d.wipe()
		m.dialogs[n-1] = openDialog{}
		m.dialogs = m.dialogs[:n-1]
	}
}

// markGone records on the open dialogs about action id that it went away
// (why: "expired", "decided elsewhere", …): they then say so and only close.
func (m *Model) markGone(id, why string) {
	for i := range m.dialogs {
		if d := m.dialogs[i].d.decision(); d != nil && d.ActionID == id && m.dialogs[i].gone == "" {
			m.dialogs[i].gone = why
		}
	}
}

// checkDialogs marks the dialogs whose action is no longer held.
func (m *Model) checkDialogs() {
	for i := range m.dialogs {
		if d := m.dialogs[i].d.decision(); d != nil && m.dialogs[i].gone == "" {
			if _, ok := m.pending.rows.byID[d.ActionID]; !ok {
				m.dialogs[i].gone = "no longer pending"
			}
		}
	}
}

// abandon journals a decision that was started and not completed.
func (m *Model) abandon(d app.Decision, why string) tea.Cmd {
	b := m.ctx.Backend
	return func() tea.Msg { return abandonDoneMsg{err: b.Abandon(d, why)} }
}

// cancel closes the top dialog about d and journals the attempt.
func (m *Model) cancel(d app.Decision, why, note string) tea.Cmd {
	m.popDialog()
	m.note(note)
	return m.abandon(d, why)
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if m.quitting {
		return nil // locking before the exit: nothing else starts
	}
	m.ctx.Backend.Touch()
	m.refreshLock() // the idle timer restarted
	m.errLine, m.lockWhy = "", ""
	m.lastInput = m.ctx.Now()
	k := m.ctx.Keys
	if msg.String() == "ctrl+c" {
		return m.askQuit()
	}
	if n := len(m.dialogs); n > 0 {
		o := &m.dialogs[n-1]
		if o.gone != "" {
			return m.goneKey(o, msg)
		}
		if o.swallow(m.ctx.Now(), msg) {
			return nil
		}
		return m.act(o.d.HandleMsg(msg))
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Help) || msg.Key().Code == tea.KeyEscape || key.Matches(msg, k.Quit):
			m.showHelp = false
		case key.Matches(msg, k.Down):
			m.helpScroll++
		case key.Matches(msg, k.Up):
			m.helpScroll = max(0, m.helpScroll-1)
		case key.Matches(msg, k.PageDown):
			m.helpScroll += max(1, m.height-4)
		case key.Matches(msg, k.PageUp):
			m.helpScroll = max(0, m.helpScroll-max(1, m.height-4))
		}
		return nil
	}
	scr := m.screens[m.active]
	if !scr.Capturing() {
		switch {
		case key.Matches(msg, k.Quit):
			return m.askQuit()
		case key.Matches(msg, k.Help):
			m.showHelp, m.helpScroll = true, 0
			return nil
		case key.Matches(msg, k.Unlock):
			switch {
			case m.locking != "":
				m.note("The key is being locked: press u again once it is.")
			case m.locked:
				m.pushDialog(newPassphraseDialog(nil))
			default:
				m.note("The key is already unlocked.")
			}
			return nil
		case key.Matches(msg, k.Lock):
			if m.locking != "" {
				return nil
			}
			return m.lock("operator")
		case key.Matches(msg, k.NextTab) && len(m.screens) > 1:
			m.active = (m.active + 1) % len(m.screens)
			m.layout()
			return nil
		case key.Matches(msg, k.PrevTab) && len(m.screens) > 1:
			m.active = (m.active + len(m.screens) - 1) % len(m.screens)
			m.layout()
			return nil
		case m.active == 0 && key.Matches(msg, k.Approve):
			return m.startDecision(true)
		case m.active == 0 && key.Matches(msg, k.Reject):
			return m.startDecision(false)
		}
	}
	var cmd tea.Cmd
	m.screens[m.active], cmd = scr.Update(msg)
	return cmd
}

// goneKey handles a key in a dialog whose action went away: only esc (or
// n) closes it, and the attempt is journaled.
func (m *Model) goneKey(o *openDialog, msg tea.KeyPressMsg) tea.Cmd {
	if !key.Matches(msg, m.ctx.Keys.Cancel) {
		return nil
	}
	why := o.gone
	d := o.d.decision()
	m.popDialog()
	m.note("Nothing was signed: the action " + why + ".")
	if d == nil {
		return nil
	}
	return m.abandon(*d, "the action "+why+" before the decision was confirmed")
}

// askQuit quits, or asks first when a decision is in flight.
func (m *Model) askQuit() tea.Cmd {
	if m.inflight > 0 {
		if m.topID() != idQuit {
			m.pushDialog(quitDialog{keys: m.ctx.Keys})
		}
		return nil
	}
	return m.quit()
}

// quit locks the key and ends the program.
func (m *Model) quit() tea.Cmd { return m.quitWith("exit") }

// quitWith closes every dialog (wiping what they hold), locks the key
// with reason in a command and quits once it is locked; keys are ignored
// meanwhile.
func (m *Model) quitWith(reason string) tea.Cmd {
	if m.quitting {
		return nil
	}
	m.quitting = true
	for len(m.dialogs) > 0 {
		m.popDialog()
	}
	return m.lock(reason)
}

// checkSignable says why an action must not be signed now ("" if it may).
func (m *Model) checkSignable(r *row) string {
	done, ok, why := m.ctx.Backend.Selftest()
	switch {
	case m.locking != "":
		return "The key is being locked: nothing was signed. Unlock it again to sign."
	case !done:
		return "Signing waits: the self-test is still running. Try again in a moment."
	case !ok:
		return "Signing is disabled: the crypto self-test failed (" + clean(why) + ")."
	}
	it := r.item()
	switch {
	case r.inflight:
		return "A decision for this action is already being sent."
	case it.Decided != "":
		return "This action was already " + it.Decided + "."
	case !pendingAt(it.Action, m.ctx.Now()):
		return "This action expired or is no longer pending: it will not be signed."
	case len(it.Action.Messages) == 0 || len(it.Action.Messages[0]) == 0:
		return "This action has no message to sign."
	case it.Action.Binding == client.BindingMismatch:
		return "The message to sign does not match the details shown: it will not be signed."
	}
	return ""
}

// startDecision opens the dialogs of a decision on the selected action:
// a reason first for a reject or against the verdict, then the
// confirmation. A refusal is journaled as an abandoned decision.
func (m *Model) startDecision(approve bool) tea.Cmd {
	r := m.pending.selected()
	if r == nil {
		m.errLine = "Nothing to " + verb(approve) + "."
		return nil
	}
	lvl := level(*r.verdict)
	d := app.Decision{ActionID: r.action.ID, Approve: approve, Verdict: lvl, MessageSHA256: messageSHA256(r.action), Confirmation: app.ConfirmKey}
	if why := m.checkSignable(r); why != "" {
		m.errLine = why
		return m.abandon(d, "refused: "+why)
	}
	against := (approve && lvl != app.VerdictApprove) || (!approve && lvl == app.VerdictApprove)
	if against || !approve {
		m.pushDialog(newReasonDialog(d, against))
		return nil
	}
	m.pushDialog(newConfirmDialog(m.ctx.Keys, d, r.item()))
	return nil
}

// proceed sends a confirmed decision: it checks again that the action is
// still pending and unchanged (verdict and message), asks for the
// passphrase when locked, then calls Decide in a Cmd.
func (m *Model) proceed(d app.Decision) tea.Cmd {
	r, ok := m.pending.rows.byID[d.ActionID]
	why := ""
	switch {
	case !ok:
		why = "The action is gone (decided elsewhere or expired): nothing was signed."
	case m.checkSignable(r) != "":
		why = m.checkSignable(r)
	case level(*r.verdict) != d.Verdict:
		why = "The verdict changed while you were deciding: look again. Nothing was signed."
	case messageSHA256(r.action) != d.MessageSHA256:
		why = "The message to sign changed while you were deciding: look again. Nothing was signed."
	}
	if why != "" {
		m.errLine = why
		return m.abandon(d, "refused: "+why)
	}
	if locked, _ := m.ctx.Backend.Locked(); locked {
		m.refreshLock()
		m.pushDialog(newPassphraseDialog(&d))
		return nil
	}
	m.inflight++
	m.pending.update(d.ActionID, func(r *row) { r.inflight = true; r.setOutcome(r.decided(), "") })
	b, ctx := m.ctx.Backend, m.opts.Context
	return func() tea.Msg {
		out, err := b.Decide(ctx, d)
		return decisionDoneMsg{d: d, out: out, err: err}
	}
}

func (m *Model) onDecided(msg decisionDoneMsg) {
	m.inflight = max(0, m.inflight-1)
	id := msg.d.ActionID
	res := msg.out.Result
	if msg.err != nil && res == app.ResultAccepted {
		res = app.ResultUnknown
	}
	why := msg.out.Err
	if why == "" && msg.err != nil {
		why = msg.err.Error()
	}
	why = clean(why)
	if res == app.ResultAccepted {
		done := "rejected"
		if msg.d.Approve {
			done = "approved"
		}
		m.pending.update(id, func(r *row) { r.inflight = false; r.setOutcome(done, "") })
		m.note(fmt.Sprintf("%s %s.", strings.ToUpper(done[:1])+done[1:], clean(id)))
		return
	}
	if why == "" {
		why = "the outcome is " + string(res)
	}
	if res == app.ResultUnknown {
		why = "outcome unknown: " + why
	}
	m.pending.update(id, func(r *row) { r.inflight = false; r.setOutcome(r.decided(), why) })
	m.errLine = fmt.Sprintf("Could not %s %s: %s", verb(msg.d.Approve), clean(id), why)
}

// layout gives every screen its body size.
func (m *Model) layout() {
	top := 1
	if len(m.screens) > 1 {
		top = 2
	}
	h := max(0, m.height-top-1)
	for _, s := range m.screens {
		s.SetSize(m.width, h)
	}
	m.pending.setBodyY(top)
	m.help.SetWidth(m.width)
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	var v tea.View
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "qapprove — " + m.info.Profile
	if m.quitting || m.width <= 0 || m.height <= 0 {
		return v
	}
	content := m.Render()
	m.frameMu.Lock()
	m.frame = content
	m.frameMu.Unlock()
	v.SetContent(content)
	return v
}

// Render draws the whole screen as a string of exactly height lines.
func (m *Model) Render() string {
	w, h := m.width, m.height
	if w < 20 || h < 6 {
		return "Terminal too small: qapprove needs at least 20×6."
	}
	parts := []string{m.header(w)}
	if len(m.screens) > 1 {
		parts = append(parts, m.tabs(w))
	}
	bodyH := h - len(parts) - 1
	var body string
	if m.showHelp {
		body = m.fullHelp(w, bodyH)
	} else {
		body = m.screens[m.active].View()
	}
	parts = append(parts, body, m.footer(w))
	screen := strings.Join(parts, "\n")
	if n := len(m.dialogs); n > 0 {
		screen = m.drawDialog(screen, m.dialogs[n-1], w, h)
	}
	return screen
}

// hpart is one part of the header: its forms from the longest to the
// shortest; the header shortens parts in a fixed order until it fits.
type hpart struct {
	forms []string
	at    int
}

func (p *hpart) text() string { return p.forms[p.at] }

// shorten moves to the next shorter form and reports whether there was one.
func (p *hpart) shorten() bool {
	if p.at+1 >= len(p.forms) {
		return false
	}
	p.at++
	return true
}

// Header parts, in the order they are drawn.
const (
	hpLeft = iota
	hpSelftest
	hpWarning
	hpConn
	hpSinks
	hpKeystore
	hpLock
	numHParts
)

// headerCuts is the order in which parts give way: the profile first,
// the lock state never.
var headerCuts = []int{hpLeft, hpLeft, hpWarning, hpConn, hpSinks, hpSelftest, hpKeystore, hpConn, hpConn, hpConn, hpSinks, hpSelftest, hpConn, hpSinks}

func (m *Model) header(w int) string {
	now := m.ctx.Now()
	var parts [numHParts]hpart
	left := " qapprove · " + clean(m.info.Profile)
	if m.info.Workspace != "" {
		left += " · ws " + clean(m.info.Workspace)
	}
	parts[hpLeft].forms = []string{left, " qapprove", ""}
	switch {
	case !m.selftestDone:
		parts[hpSelftest].forms = []string{"self-test: checking…", "checking…", "…"}
	case !m.selftestOK:
		parts[hpSelftest].forms = []string{"✗ SELF-TEST FAILED", "✗ SELF-TEST", "✗"}
	}
	if m.info.KeystoreWarning != "" {
		parts[hpWarning].forms = []string{"⚠ " + clean(m.info.KeystoreWarning), "⚠"}
	}
	parts[hpConn].forms = m.connForms(now)
	parts[hpSinks].forms = sinkForms(m.sinks)
	if ks := m.info.Keystore; ks != "" {
		if w := m.info.Wrap; w != "" {
			ks += " + " + w
		}
		parts[hpKeystore].forms = []string{"keystore: " + clean(ks), clean(ks)}
	}
	parts[hpLock].forms = []string{m.lockText(now, w)}
	l, r := joinHeader(parts[:])
	for _, i := range headerCuts {
		if ansi.StringWidth(l)+ansi.StringWidth(r) <= w {
			break
		}
		if parts[i].forms != nil && parts[i].shorten() {
			l, r = joinHeader(parts[:])
		}
	}
	// Whatever is still too wide is cut from the left: the lock state on
	// the right is never cut.
	rw := ansi.StringWidth(r)
	if rw > w {
		r, rw = ansi.TruncateLeft(r, rw-w, ""), w
	}
	return m.ctx.Styles.Header.Render(fit(l, w-rw) + r)
}

// joinHeader is the header's left part and its right part: the others,
// separated by " │ ", with one space before and after.
func joinHeader(parts []hpart) (left, right string) {
	var rs []string
	for _, p := range parts[1:] {
		if p.forms != nil && p.text() != "" {
			rs = append(rs, p.text())
		}
	}
	if parts[0].forms != nil {
		left = parts[0].text()
	}
	return left, " " + strings.Join(rs, " │ ") + " "
}

// connForms is the connection part of the header: the state, and while
// not live why and how old the data is; a feed-only API says so.
func (m *Model) connForms(now time.Time) []string {
	c := m.conn
	var state string
	switch c.State {
	case app.ConnLive:
		state = "● live"
	case app.ConnReconnecting:
		state = "◌ reconnecting"
		if !c.RetryAt.IsZero() {
			state += " in " + countdown(max(c.RetryAt.Sub(now), time.Second))
		}
	default:
		state = "○ offline"
	}
	sym := []rune(state)[0:1]
	if c.State == app.ConnLive {
		if c.FeedOnly {
			return []string{state + " · from the feed (no list endpoint)", state + " · feed only", state + " · feed only", state, state, string(sym)}
		}
		return []string{state, state, state, state, state, string(sym)}
	}
	reason, short := clean(c.Reason), cut(clean(c.Reason), 24)
	age, shortAge := "", ""
	if !c.AsOf.IsZero() {
		age = asOf(c.AsOf, now)
		shortAge = strings.SplitN(age, ",", 2)[0]
	}
	return []string{
		joinNonEmpty(" · ", state, reason, age),
		joinNonEmpty(" · ", state, short, age),
		joinNonEmpty(" · ", state, short, shortAge),
		joinNonEmpty(" · ", state, short),
		state,
		string(sym),
	}
}

// sinkForms is the sinks part of the header: "sinks ok", "sinks behind
// n", "sinks down"; "signing paused" while require_sink refuses decisions.
// Nothing when no sink is configured.
func sinkForms(s app.SinkState) []string {
	var state, sym string
	switch s.Level {
	case app.SinksOK:
		state, sym = "sinks ok", "⇡"
	case app.SinksBehind:
		state, sym = fmt.Sprintf("sinks behind %d", s.Behind), "⇡"
	case app.SinksDown:
		state, sym = "✗ sinks down", "✗"
	default:
		return nil
	}
	if s.Blocking {
		return []string{state + " · signing paused", state + " · paused", state, sym}
	}
	return []string{state, state, sym}
}

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// lockText is the lock state, never cut: "■ LOCKED" or the countdown.
func (m *Model) lockText(now time.Time, w int) string {
	switch {
	case m.locking != "":
		return "■ locking…"
	case m.locked:
		return "■ LOCKED"
	}
	lock := "□ unlocked"
	if !m.lockUntil.IsZero() {
		lock += " " + countdown(m.lockUntil.Sub(now))
		if w >= 100 {
			lock += " left"
		}
	}
	return lock
}

func (m *Model) tabs(w int) string {
	st := m.ctx.Styles
	var b strings.Builder
	for i, s := range m.screens {
		if i == m.active {
			b.WriteString(st.TabActive.Render(s.Title()))
		} else {
			b.WriteString(st.Tab.Render(s.Title()))
		}
	}
	return fit(b.String(), w)
}

func (m *Model) globalHelp() []key.Binding {
	k := m.ctx.Keys
	out := []key.Binding{k.Lock, k.Quit}
	if m.locked {
		out = []key.Binding{k.Unlock, k.Quit}
	}
	if len(m.screens) > 1 {
		out = append(out, k.NextTab)
	}
	return out
}

func (m *Model) footer(w int) string {
	st := m.ctx.Styles
	if m.errLine != "" {
		return fit(st.Error.Render("✗ "+m.errLine), w)
	}
	if n := len(m.dialogs); n > 0 {
		o := m.dialogs[n-1]
		if o.gone != "" {
			return fit(m.help.ShortHelpView([]key.Binding{key.NewBinding(key.WithKeys("esc", "n"), key.WithHelp("esc", "close"))}), w)
		}
		return fit(m.help.ShortHelpView(o.d.help()), w)
	}
	if m.noteText != "" && m.ctx.Now().Before(m.noteUntil) {
		return fit(st.Note.Render("• "+m.noteText), w)
	}
	if m.lockWhy != "" {
		return fit(st.Warn.Render("■ "+m.lockWhy), w)
	}
	var b []key.Binding
	if m.showHelp {
		b = []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("?/esc", "close help")), key.NewBinding(key.WithKeys("j", "k"), key.WithHelp("j/k", "scroll"))}
	} else {
		scr := m.screens[m.active]
		b = scr.ShortHelp()
		if !scr.Capturing() {
			// `?` comes first: on a narrow terminal the rest is cut.
			b = append(append([]key.Binding{m.ctx.Keys.Help}, b...), m.globalHelp()...)
		}
	}
	return fit(m.help.ShortHelpView(b), w)
}

// HelpTexter is implemented by a Screen whose `?` help has paragraphs under
// the key table (what its keys do, what its columns mean). The root shows
// the active screen's FullHelp keys and HelpText, then the global keys and
// text: each tab shows its own help.
type HelpTexter interface {
	HelpText() []string
}

// globalHelpText is the help every tab shows under its own.
var globalHelpText = []string{
	"u unlocks the key with your passphrase. It locks after idle time, on L, on exit and on SIGINT/SIGTERM/SIGHUP; the status line says why it locked.",
	"The header shows the connection (why it is down and how old the data is), the keystore kind and the lock state; \"self-test: checking…\" until the crypto self-test has a result (signing waits for it).",
}

func (m *Model) fullHelp(w, h int) string {
	st := m.ctx.Styles
	k := m.ctx.Keys
	global := []key.Binding{k.Help, k.Unlock, k.Lock, k.Quit}
	if len(m.screens) > 1 {
		global = append(global, k.NextTab, k.PrevTab)
	}
	scr := m.screens[m.active]
	groups := append(scr.FullHelp(), global)
	var lines []string
	lines = append(lines, st.Title.Render("Keys · "+scr.Title()), "")
	lines = append(lines, m.helpTable(groups, w-2)...)
	lines = append(lines, "")
	var paras []string
	if ht, ok := scr.(HelpTexter); ok {
		paras = append(paras, ht.HelpText()...)
	}
	for _, para := range append(paras, globalHelpText...) {
		lines = append(lines, hardWrapWords(para, max(20, w-2))...)
	}
	for i := range lines {
		lines[i] = " " + lines[i]
	}
	// The help scrolls (j/k) when it is longer than the screen; the last
	// line then says so and never hides a line of the help.
	if len(lines) > h && h > 1 {
		rows := h - 1
		m.helpScroll = min(m.helpScroll, len(lines)-rows)
		more := fmt.Sprintf(" %d more below ↓ (j/k to scroll)", len(lines)-rows-m.helpScroll)
		if m.helpScroll == len(lines)-rows {
			more = " (end)"
		}
		lines = append(lines[m.helpScroll:m.helpScroll+rows], st.Muted.Render(more))
	}
	return FitLines(lines, w, h)
}

// helpTable draws key groups as columns, starting a new block of columns
// when the next group would not fit in w cells.
func (m *Model) helpTable(groups [][]key.Binding, w int) []string {
	hm := m.help
	hm.SetWidth(0)
	var out []string
	var row [][]key.Binding
	flush := func() {
		if len(row) > 0 {
			if len(out) > 0 {
				out = append(out, "")
			}
			out = append(out, strings.Split(hm.FullHelpView(row), "\n")...)
			row = nil
		}
	}
	for _, g := range groups {
		try := append(append([][]key.Binding(nil), row...), g)
		if len(row) > 0 && lipgloss.Width(hm.FullHelpView(try)) > w {
			flush()
		}
		row = append(row, g)
	}
	flush()
	return out
}

func (m *Model) drawDialog(screen string, o openDialog, w, h int) string {
	st := m.ctx.Styles
	frame := st.Dialog
	if o.d.hot() {
		frame = st.DialogHot
	}
	dw := min(w-2, 72)
	inner := dw - frame.GetHorizontalFrameSize()
	var lines []string
	if o.gone != "" {
		lines = goneLines(m, o, inner)
	} else {
		lines = o.d.lines(m.dialogView(), inner)
		if o.dropped > 0 {
			lines = append(lines, st.Warn.Render(keysText(o.dropped)+" ignored: typed before the dialog opened."))
		}
	}
	lines = fitDialog(lines, h-2-frame.GetVerticalFrameSize(), st.Muted.Render)
	for i, l := range lines {
		lines[i] = fit(l, inner)
	}
	box := frame.Width(dw).Render(strings.Join(lines, "\n"))
	bh := lipgloss.Height(box)
	return overlay(screen, box, (w-dw)/2, max(0, (h-bh)/2))
}

// fitDialog makes a dialog's lines fit n rows. The end of a dialog is
// what to do (the prompt, the field to type in, warnings): it is always
// kept whole. Blank lines go first, then the middle of what comes before,
// replaced by a line saying how much is hidden, so a small terminal never
// hides the field the operator must type in.
func fitDialog(lines []string, n int, faint func(...string) string) []string {
	if len(lines) <= n {
		return lines
	}
	var head, tail []string
	cut := len(lines)
	for cut > 0 && lines[cut-1] != "" {
		cut--
	}
	if cut > 0 {
		head, tail = lines[:cut-1], lines[cut:]
	} else {
		head = lines
	}
	head = slices.DeleteFunc(slices.Clone(head), func(l string) bool { return l == "" })
	if len(head)+len(tail) <= n {
		return append(head, tail...)
	}
	room := n - len(tail) - 1
	if room < 1 {
		return append(lines[:max(0, n-1)], "…")
	}
	hidden := len(head) - room
	out := append(head[:room:room], faint(fmt.Sprintf("… %d more line(s): enlarge the terminal to see them", hidden)))
	return append(out, tail...)
}

// goneLines is the content of a dialog whose action went away.
func goneLines(m *Model, o openDialog, w int) []string {
	st := m.ctx.Styles
	d := o.d.decision()
	title := "This action " + o.gone + "."
	if o.gone == "expired" {
		title = "This action expired."
	}
	out := []string{st.Warn.Render(title), ""}
	if d != nil {
		out = append(out, hardWrapWords(fmt.Sprintf("%s was not %sd: nothing was signed.", clean(d.ActionID), verb(d.Approve)), w)...)
	}
	return append(out, "", "Press esc to close.")
}

// keysText is "1 key" or "n keys".
func keysText(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}
