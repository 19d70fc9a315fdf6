// Package keys is the one keymap of the qapprove console. Every binding is a
// bubbles key.Binding with its help text, so the footer and the full help are
// generated from the same table that Update matches against.
package keys

import "charm.land/bubbles/v2/key"

// KeyMap holds every binding of the console, grouped by where it works.
type KeyMap struct {
	// Global
	Quit    key.Binding
	Help    key.Binding
	Lock    key.Binding
	Unlock  key.Binding
	NextTab key.Binding
	PrevTab key.Binding

	// Pending list
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Filter   key.Binding
	Sort     key.Binding
	Focus    key.Binding
	Approve  key.Binding
	Reject   key.Binding
	Raw      key.Binding
	// Copy starts a copy to the clipboard (OSC 52); the next key picks
	// what: CopyID, CopyDest or CopyMsg.
	Copy     key.Binding
	CopyID   key.Binding
	CopyDest key.Binding
	CopyMsg  key.Binding

	// Filter input
	FilterApply  key.Binding
	FilterCancel key.Binding

	// Dialogs
	Confirm key.Binding
	Cancel  key.Binding
	Submit  key.Binding
}

// Default returns the default bindings: vim keys and arrows, `/` to filter,
// `?` for help, `a`/`r` to decide, `c` then `i`/`d`/`m` to copy, `u` to unlock, `L` to lock, `q`/`ctrl+c` to quit.
func Default() KeyMap {
	b := func(keys []string, k, h string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, h))
	}
	return KeyMap{
		Quit:         b([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:         b([]string{"?"}, "?", "help"),
		Lock:         b([]string{"L"}, "L", "lock"),
		Unlock:       b([]string{"u"}, "u", "unlock"),
		NextTab:      b([]string{"ctrl+right", "ctrl+n"}, "ctrl+n", "next tab"),
		PrevTab:      b([]string{"ctrl+left", "ctrl+p"}, "ctrl+p", "prev tab"),
		Up:           b([]string{"up", "k"}, "↑/k", "up"),
		Down:         b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:       b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown:     b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Top:          b([]string{"home", "g"}, "g", "top"),
		Bottom:       b([]string{"end", "G"}, "G", "bottom"),
		Filter:       b([]string{"/"}, "/", "filter"),
		Sort:         b([]string{"s"}, "s", "sort"),
		Focus:        b([]string{"tab"}, "tab", "list/detail"),
		Approve:      b([]string{"a"}, "a", "approve"),
		Reject:       b([]string{"r"}, "r", "reject"),
		Raw:          b([]string{"p"}, "p", "raw payload"),
		Copy:         b([]string{"c"}, "c", "copy…"),
		CopyID:       b([]string{"i"}, "c i", "copy action ID"),
		CopyDest:     b([]string{"d"}, "c d", "copy destination"),
		CopyMsg:      b([]string{"m"}, "c m", "copy message SHA-256"),
		FilterApply:  b([]string{"enter"}, "enter", "keep filter"),
		FilterCancel: b([]string{"esc"}, "esc", "clear filter"),
		Confirm:      b([]string{"y", "Y"}, "y", "confirm"),
		Cancel:       b([]string{"esc", "n", "N"}, "esc/n", "cancel"),
		Submit:       b([]string{"enter"}, "enter", "submit"),
	}
}
