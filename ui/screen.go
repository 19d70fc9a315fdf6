package ui

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

// Screen is one tab of the console (the pending list, and later the journal
// viewer or the key-registration wizard). The root model draws the header,
// the tab bar, the footer and the dialogs; a screen draws its body.
//
// Key and mouse messages go to the active screen only; every other message
// (results of the screen's own commands, ThemeMsg, TickMsg) goes to all.
type Screen interface {
	// Title is the label of the tab.
	Title() string
	// Init returns the screen's first command (may be nil).
	Init() tea.Cmd
	// Update handles a message and returns the screen and a command.
	Update(msg tea.Msg) (Screen, tea.Cmd)
	// SetSize gives the size of the body area in cells.
	SetSize(width, height int)
	// View draws the body in exactly the size given by SetSize.
	View() string
	// ShortHelp is the footer's key list; FullHelp the `?` help columns.
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
	// Capturing reports that the screen is reading text (a filter): global
	// single-letter keys such as q and L are then left to the screen.
	Capturing() bool
}

// ThemeMsg is broadcast to every screen when the theme changes (terminal
// background detected, NO_COLOR).
type ThemeMsg struct{ Styles styles.Styles }

// TickMsg is broadcast every second with the current time of the injected
// clock; countdowns and expiry use it.
type TickMsg struct{ Now time.Time }

// Context is what screens share with the root model.
type Context struct {
	Backend Backend
	Now     func() time.Time
	Styles  styles.Styles
	Keys    keys.KeyMap
}
