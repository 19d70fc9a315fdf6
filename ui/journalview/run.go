package journalview

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

// Host runs one screen alone (`qapprove journal`): the body, a footer with
// the screen's keys, a one-second TickMsg, and q/ctrl+c to quit.
type Host struct {
	Screen ui.Screen
	Ctx    *ui.Context
	Tick   bool // send ui.TickMsg every second (off in golden tests)
	// QuitOn, when set, ends the program on a message the screen returns
	// (for example the wizard's DoneMsg).
	QuitOn func(tea.Msg) bool
	w, h   int

	showHelp bool // ? shows the screen's full help in place of its body

	frameMu sync.Mutex
	frame   string
}

// LastFrame is the last frame drawn, without styling (tests poll it).
func (m *Host) LastFrame() string {
	m.frameMu.Lock()
	defer m.frameMu.Unlock()
	return ansi.Strip(m.frame)
}

type tickMsg time.Time

// Init implements tea.Model.
func (m *Host) Init() tea.Cmd {
	cmds := []tea.Cmd{m.Screen.Init()}
	if m.Tick {
		cmds = append(cmds, m.tick())
	}
	return tea.Batch(cmds...)
}

func (m *Host) tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Update implements tea.Model.
func (m *Host) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.Screen.SetSize(m.w, max(m.h-1, 0))
		return m, nil
	case tickMsg:
		now := time.Time(msg)
		if m.Ctx.Now != nil {
			now = m.Ctx.Now()
		}
		s, cmd := m.Screen.Update(ui.TickMsg{Now: now})
		m.Screen = s
		return m, tea.Batch(cmd, m.tick())
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" || (!m.Screen.Capturing() && key.Matches(msg, m.Ctx.Keys.Quit)) {
			return m, tea.Quit
		}
		if m.showHelp {
			if key.Matches(msg, m.Ctx.Keys.Help) || msg.String() == "esc" {
				m.showHelp = false
			}
			return m, nil
		}
		if !m.Screen.Capturing() && key.Matches(msg, m.Ctx.Keys.Help) {
			m.showHelp = true
			return m, nil
		}
	}
	if m.QuitOn != nil && m.QuitOn(msg) {
		return m, tea.Quit
	}
	s, cmd := m.Screen.Update(msg)
	m.Screen = s
	return m, cmd
}

// View implements tea.Model.
func (m *Host) View() tea.View {
	// The host's keys come first, so a narrow footer never cuts them;
	// while the screen reads text, ? and q are text and only ctrl+c quits.
	capturing := m.Screen.Capturing()
	var parts []string
	body := ""
	switch {
	case m.showHelp:
		body = m.fullHelp()
		parts = []string{"?/esc close help", "q quit"}
	default:
		body = m.Screen.View()
		if !capturing {
			parts = []string{"? help", "q quit"}
		}
		for _, b := range m.Screen.ShortHelp() {
			h := b.Help()
			parts = append(parts, h.Key+" "+h.Desc)
		}
		if capturing && !strings.Contains(strings.Join(parts, " "), "ctrl+c") {
			parts = append(parts, "ctrl+c quit")
		}
	}
	footer := m.Ctx.Styles.Footer.Render(ui.Fit(strings.Join(parts, " · "), m.w))
	content := body + "\n" + footer
	m.frameMu.Lock()
	m.frame = content
	m.frameMu.Unlock()
	v := tea.NewView(content)
	v.AltScreen = true
	return v
}

// fullHelp lists every key of the screen, one a line, group by group,
// then the host's own.
func (m *Host) fullHelp() string {
	st := m.Ctx.Styles
	lines := []string{st.Title.Render(m.Screen.Title() + " — keys"), ""}
	groups := append(m.Screen.FullHelp(), []key.Binding{m.Ctx.Keys.Help, m.Ctx.Keys.Quit})
	for _, g := range groups {
		for _, b := range g {
			h := b.Help()
			lines = append(lines, "  "+st.Label.Render(fmt.Sprintf("%-12s", h.Key))+" "+h.Desc)
		}
		lines = append(lines, "")
	}
	return ui.FitLines(lines, m.w, max(m.h-1, 0))
}

// NewContext returns a context for a standalone screen: the default keymap,
// the theme (plain when noColor or NO_COLOR), the wall clock.
func NewContext(noColor bool) *ui.Context {
	return &ui.Context{Now: time.Now, Styles: styles.New(true, noColor || styles.NoColorEnv()), Keys: defaultKeys()}
}

// Run runs screen alone until the operator quits or ctx ends.
func Run(ctx context.Context, c *ui.Context, screen ui.Screen) error {
	return RunUntil(ctx, c, screen, nil)
}

// RunUntil is Run that also ends when quitOn reports a message true.
func RunUntil(ctx context.Context, c *ui.Context, screen ui.Screen, quitOn func(tea.Msg) bool) error {
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if c.Styles.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(&Host{Screen: screen, Ctx: c, Tick: true, QuitOn: quitOn}, opts...).Run()
	return err
}
func defaultKeys() keys.KeyMap { return keys.Default() }
