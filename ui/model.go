package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/ui/input"
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
	InitialItems []Item
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
	info    Info
	events  <-chan Event
	noColor bool

	screens []Screen
	active  int
	pending *PendingScreen

	dialogs  []openDialog
	showHelp bool
	help     help.Model

	width, height int

	conn        Conn
	locked      bool
	lockUntil   time.Time
	inflight    int
	errLine     string
	noteText    string
	noteUntil   time.Time
	quitting    bool
	feedClosed  bool
	selftestOK  bool
	selftestWhy string
	initCmd     tea.Cmd

	frameMu sync.Mutex // guards frame
	frame   string     // the last rendered frame (for tests)
}

// Messages internal to the root model.
type (
	eventMsg        struct{ ev Event }
	feedClosedMsg   struct{}
	tickMsg         struct{}
	unlockDoneMsg   struct{ err error }
	decisionDoneMsg struct {
		d   Decision
		out Outcome
		err error
	}
)

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
	m.locked, m.lockUntil = b.Locked()
	_, m.selftestOK, m.selftestWhy = b.Selftest()
	m.conn = Conn{State: ConnOffline}
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
		m.conn = Conn{State: ConnOffline}
		return m, nil
	case tickMsg:
		return m, tea.Batch(m.onTick(), m.tick())
	case unlockDoneMsg:
		return m, m.onUnlocked(msg.err)
	case decisionDoneMsg:
		m.onDecided(msg)
		return m, nil
	case spinner.TickMsg:
		if d, ok := m.topDialog().(*passphraseDialog); ok && d.busy {
			var cmd tea.Cmd
			d.spin, cmd = d.spin.Update(msg)
			return m, cmd
		}
		return m, nil
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

func (m *Model) handleEvent(ev Event) tea.Cmd {
	switch e := ev.(type) {
	case ActionsLoaded:
		return m.pending.load(e.Items, false)
	case ActionUpserted:
		m.pending.upsert(e.Item)
	case ActionRemoved:
		if m.pending.remove(e.ID) {
			why := "decided elsewhere"
			if e.Why == RemovedExpired {
				why = "expired"
			}
			m.note(fmt.Sprintf("%s dropped out: %s.", clean(e.ID), why))
		}
	case Conn:
		m.conn = e
	case LockChanged:
		m.locked, m.lockUntil = m.ctx.Backend.Locked()
		if e.Locked && e.Reason != "" && e.Reason != "operator" {
			m.note("Key locked (" + clean(e.Reason) + ").")
		}
	case Notice:
		m.note(clean(e.Text))
	}
	return nil
}

func (m *Model) onTick() tea.Cmd {
	now := m.ctx.Now()
	m.locked, m.lockUntil = m.ctx.Backend.Locked()
	_, m.selftestOK, m.selftestWhy = m.ctx.Backend.Selftest()
	if n := m.pending.expire(now); n > 0 {
		m.note(fmt.Sprintf("%d expired action(s) dropped out.", n))
	}
	return m.broadcast(TickMsg{Now: now})
}

func (m *Model) note(s string) {
	m.noteText = s
	m.noteUntil = m.ctx.Now().Add(noteFor)
}

func (m *Model) topDialog() dialog {
	if len(m.dialogs) == 0 {
		return nil
	}
	return m.dialogs[len(m.dialogs)-1].d
}

func (m *Model) pushDialog(d dialog) {
	m.dialogs = append(m.dialogs, openDialog{d: d, openedAt: m.ctx.Now()})
}

func (m *Model) popDialog() {
	if n := len(m.dialogs); n > 0 {
		if p, ok := m.dialogs[n-1].d.(*passphraseDialog); ok {
			p.field.Wipe()
		}
		m.dialogs[n-1] = openDialog{}
		m.dialogs = m.dialogs[:n-1]
	}
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	m.ctx.Backend.Touch()
	m.errLine = ""
	k := m.ctx.Keys
	if msg.String() == "ctrl+c" {
		return m.askQuit()
	}
	if n := len(m.dialogs); n > 0 {
		if m.dialogs[n-1].inGrace(m.ctx.Now()) {
			return nil
		}
		return m.dialogs[n-1].d.key(m, msg)
	}
	if m.showHelp {
		if key.Matches(msg, k.Help) || msg.Key().Code == tea.KeyEscape || key.Matches(msg, k.Quit) {
			m.showHelp = false
		}
		return nil
	}
	scr := m.screens[m.active]
	if !scr.Capturing() {
		switch {
		case key.Matches(msg, k.Quit):
			return m.askQuit()
		case key.Matches(msg, k.Help):
			m.showHelp = true
			return nil
		case key.Matches(msg, k.Unlock):
			if locked, _ := m.ctx.Backend.Locked(); locked {
				m.pushDialog(newPassphraseDialog(nil))
			} else {
				m.note("The key is already unlocked.")
			}
			return nil
		case key.Matches(msg, k.Lock):
			m.ctx.Backend.Lock("operator")
			m.locked, m.lockUntil = m.ctx.Backend.Locked()
			m.note("Key locked.")
			return nil
		case key.Matches(msg, k.NextTab) && len(m.screens) > 1:
			m.active = (m.active + 1) % len(m.screens)
			m.layout()
			return nil
		case key.Matches(msg, k.PrevTab) && len(m.screens) > 1:
			m.active = (m.active + len(m.screens) - 1) % len(m.screens)
			m.layout()
			return nil
		case m.active == 0 && key.Matches(msg, k.Approve):
			m.startDecision(true)
			return nil
		case m.active == 0 && key.Matches(msg, k.Reject):
			m.startDecision(false)
			return nil
		}
	}
	var cmd tea.Cmd
	m.screens[m.active], cmd = scr.Update(msg)
	return cmd
}

// askQuit quits, or asks first when a decision is in flight.
func (m *Model) askQuit() tea.Cmd {
	if m.inflight > 0 {
		if _, ok := m.topDialog().(quitDialog); !ok {
			m.pushDialog(quitDialog{})
		}
		return nil
	}
	return m.quit()
}

// quit locks the key and ends the program.
func (m *Model) quit() tea.Cmd {
	m.quitting = true
	for len(m.dialogs) > 0 {
		m.popDialog()
	}
	m.ctx.Backend.Lock("exit")
	return tea.Quit
}

// checkSignable says why an action must not be signed now ("" if it may).
func (m *Model) checkSignable(r *row) string {
	if _, ok, why := m.ctx.Backend.Selftest(); !ok {
		return "Signing is disabled: the crypto self-test failed (" + clean(why) + ")."
	}
	it := r.item()
	switch {
	case r.inflight:
		return "A decision for this action is already being sent."
	case it.Decided != "":
		return "This action was already " + it.Decided + "."
	case !it.Action.Pending(m.ctx.Now()):
		return "This action expired or is no longer pending: it will not be signed."
	case len(it.Action.Messages) == 0 || len(it.Action.Messages[0]) == 0:
		return "This action has no message to sign."
	}
	return ""
}

// startDecision opens the override or confirmation dialog for the selected action.
func (m *Model) startDecision(approve bool) {
	r := m.pending.selected()
	if r == nil {
		m.errLine = "Nothing to " + verb(approve) + "."
		return
	}
	if why := m.checkSignable(r); why != "" {
		m.errLine = why
		return
	}
	lvl := level(*r.verdict)
	against := (approve && lvl != VerdictApprove) || (!approve && lvl == VerdictApprove)
	id := r.action.ID
	if against {
		m.pushDialog(&overrideDialog{id: id, approve: approve, verdict: lvl, field: input.Field{Limit: 500}})
		return
	}
	m.pushDialog(&confirmDialog{id: id, approve: approve, verdict: lvl})
}

// proceed sends a confirmed decision: it checks again that the action is
// still pending and unchanged, asks for the passphrase when locked, then
// calls Decide in a Cmd.
func (m *Model) proceed(d Decision) tea.Cmd {
	r, ok := m.pending.rows.byID[d.ActionID]
	if !ok {
		m.errLine = "The action is gone (decided elsewhere or expired): nothing was signed."
		return nil
	}
	if why := m.checkSignable(r); why != "" {
		m.errLine = why
		return nil
	}
	if level(*r.verdict) != d.Verdict {
		m.errLine = "The verdict changed while you were deciding: look again. Nothing was signed."
		return nil
	}
	if locked, _ := m.ctx.Backend.Locked(); locked {
		m.locked = true
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

func (m *Model) onUnlocked(err error) tea.Cmd {
	m.locked, m.lockUntil = m.ctx.Backend.Locked()
	d, ok := m.topDialog().(*passphraseDialog)
	if !ok {
		return nil
	}
	d.busy = false
	if err != nil {
		d.err = clean(err.Error())
		if wait := m.ctx.Backend.UnlockBackoff(); wait > 0 {
			d.err += " — wait " + waitText(wait) + " before the next try."
		}
		return nil
	}
	then := d.then
	m.popDialog()
	if then == nil {
		m.note("Key unlocked.")
		return nil
	}
	return m.proceed(*then)
}

func (m *Model) onDecided(msg decisionDoneMsg) {
	m.inflight = max(0, m.inflight-1)
	id := msg.d.ActionID
	res := msg.out.Result
	if msg.err != nil && res == ResultAccepted {
		res = ResultUnknown
	}
	why := msg.out.Err
	if why == "" && msg.err != nil {
		why = msg.err.Error()
	}
	why = clean(why)
	if res == ResultAccepted {
		done := "rejected"
		if msg.d.Approve {
			done = "approved"
		}
		m.pending.update(id, func(r *row) { r.inflight = false; r.setOutcome(done, "") })
		m.note(fmt.Sprintf("%s %s.", strings.ToUpper(done[:1])+done[1:], clean(id)))
		return
	}
	if why == "" {
		why = "the outcome is " + res
	}
	if res == ResultUnknown {
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
		screen = m.drawDialog(screen, m.dialogs[n-1].d, w, h)
	}
	return screen
}

func (m *Model) header(w int) string {
	st := m.ctx.Styles
	now := m.ctx.Now()
	left := " qapprove · " + clean(m.info.Profile)
	if m.info.Workspace != "" {
		left += " · ws " + clean(m.info.Workspace)
	}
	var conn string
	switch m.conn.State {
	case ConnLive:
		conn = "● live"
	case ConnReconnecting:
		conn = "◌ reconnecting"
		if !m.conn.RetryAt.IsZero() {
			conn += " in " + countdown(max(m.conn.RetryAt.Sub(now), time.Second))
		}
	default:
		conn = "○ offline"
	}
	lock := "■ LOCKED"
	if !m.locked {
		lock = "□ unlocked"
		if !m.lockUntil.IsZero() {
			lock += " " + countdown(m.lockUntil.Sub(now))
			if w >= 100 {
				lock += " left"
			}
		}
	}
	right := conn + " │ " + lock + " "
	if m.info.KeystoreWarning != "" {
		right = "⚠ " + clean(m.info.KeystoreWarning) + " │ " + right
	}
	if !m.selftestOK {
		right = "✗ SELF-TEST FAILED │ " + right
	}
	// The state on the right is the truth the operator relies on: it is
	// never cut; the profile and workspace on the left give way.
	rw := ansi.StringWidth(right)
	left = fit(left, max(0, w-rw-1))
	line := left + " " + right
	return st.Header.Render(fit(line, w))
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
	out := []key.Binding{k.Help, k.Lock, k.Quit}
	if m.locked {
		out = []key.Binding{k.Help, k.Unlock, k.Quit}
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
		return fit(m.help.ShortHelpView(m.dialogs[n-1].d.help(m)), w)
	}
	if m.noteText != "" && m.ctx.Now().Before(m.noteUntil) {
		return fit(st.Note.Render("• "+m.noteText), w)
	}
	var b []key.Binding
	if m.showHelp {
		b = []key.Binding{key.NewBinding(key.WithKeys("?"), key.WithHelp("?/esc", "close help"))}
	} else {
		scr := m.screens[m.active]
		b = scr.ShortHelp()
		if !scr.Capturing() {
			b = append(b, m.globalHelp()...)
		}
	}
	return fit(m.help.ShortHelpView(b), w)
}

func (m *Model) fullHelp(w, h int) string {
	st := m.ctx.Styles
	k := m.ctx.Keys
	global := []key.Binding{k.Help, k.Unlock, k.Lock, k.Quit}
	if len(m.screens) > 1 {
		global = append(global, k.NextTab, k.PrevTab)
	}
	groups := append(m.screens[m.active].FullHelp(), global)
	var lines []string
	lines = append(lines, st.Title.Render("Keys"), "")
	lines = append(lines, strings.Split(m.help.FullHelpView(groups), "\n")...)
	lines = append(lines, "")
	for _, para := range []string{
		"Deciding: a approves, r rejects. A dialog repeats what matters; confirm with y (Enter alone never confirms; keys typed just before a dialog opens are ignored).",
		"Going against the verdict asks for a reason, which is journaled.",
		"u unlocks the key with your passphrase. It locks after idle time, on L, on exit and on SIGINT/SIGTERM/SIGHUP.",
	} {
		lines = append(lines, hardWrapWords(para, max(20, w-2))...)
	}
	for i := range lines {
		lines[i] = " " + lines[i]
	}
	return FitLines(lines, w, h)
}

func (m *Model) drawDialog(screen string, d dialog, w, h int) string {
	st := m.ctx.Styles
	frame := st.Dialog
	if d.hot() {
		frame = st.DialogHot
	}
	dw := min(w-2, 72)
	inner := dw - frame.GetHorizontalFrameSize()
	lines := d.lines(m, inner)
	maxLines := h - 2 - frame.GetVerticalFrameSize()
	if len(lines) > maxLines {
		lines = append(lines[:max(0, maxLines-1)], "…")
	}
	for i, l := range lines {
		lines[i] = fit(l, inner)
	}
	box := frame.Width(dw).Render(strings.Join(lines, "\n"))
	bh := lipgloss.Height(box)
	return overlay(screen, box, (w-dw)/2, max(0, (h-bh)/2))
}
