// Package input is a minimal one-line text field for the console. Unlike
// bubbles textinput it keeps its content in a byte slice, never in a Go
// string, so a masked field (a passphrase) can be handed over as []byte and
// wiped with Wipe: no copy of the secret is left in an immutable string.
package input

import (
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Field is a one-line input. The zero value is an unmasked field without a
// limit; set Mask for secrets and Limit to bound the size in bytes.
type Field struct {
	Mask        bool   // draw every character as '•'
	Limit       int    // maximum length in bytes (0: 4096)
	Placeholder string // shown when empty
	buf         []byte
}

// Update applies one key press: printable text is appended, backspace
// deletes one character, ctrl+u clears the field. It reports whether the
// content changed. Other keys are ignored.
func (f *Field) Update(msg tea.KeyPressMsg) bool {
	k := msg.Key()
	switch k.Code {
	case tea.KeyBackspace:
		if len(f.buf) == 0 {
			return false
		}
		_, n := utf8.DecodeLastRune(f.buf)
		clear(f.buf[len(f.buf)-n:])
		f.buf = f.buf[:len(f.buf)-n]
		return true
	}
	if k.Mod&tea.ModCtrl != 0 {
		if k.Code == 'u' && len(f.buf) > 0 {
			f.Wipe()
			return true
		}
		return false
	}
	if k.Text == "" || k.Mod&(tea.ModAlt|tea.ModSuper) != 0 {
		return false
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 4096
	}
	changed := false
	for _, r := range k.Text {
		if r < 0x20 || r == 0x7f || !utf8.ValidRune(r) {
			continue
		}
		if len(f.buf)+utf8.RuneLen(r) > limit {
			break
		}
		f.grow(utf8.RuneLen(r))
		f.buf = utf8.AppendRune(f.buf, r)
		changed = true
	}
	return changed
}

// grow makes room for n more bytes; a masked field wipes the old backing
// array when it moves, so no stale copy of a secret is left behind.
func (f *Field) grow(n int) {
	if cap(f.buf)-len(f.buf) >= n {
		return
	}
	nb := make([]byte, len(f.buf), 2*cap(f.buf)+n+16)
	copy(nb, f.buf)
	clear(f.buf[:cap(f.buf)])
	f.buf = nb
}

// Bytes returns the content. The slice aliases the field: copy it before
// the next Update or Wipe if you keep it.
func (f *Field) Bytes() []byte { return f.buf }

// Len is the number of characters typed.
func (f *Field) Len() int { return utf8.RuneCount(f.buf) }

// Take hands the content over and empties the field: the caller owns the
// returned slice and must clear it after use.
func (f *Field) Take() []byte {
	b := f.buf
	f.buf = nil
	return b
}

// Wipe zeroes and empties the field.
func (f *Field) Wipe() {
	clear(f.buf[:cap(f.buf)])
	f.buf = f.buf[:0]
}

// Text is the content as a string; only for unmasked fields (it panics on a
// masked one so a secret cannot be turned into a string by accident).
func (f *Field) Text() string {
	if f.Mask {
		panic("input: Text on a masked field")
	}
	return string(f.buf)
}

// View draws the field in width cells with a block cursor at the end; long
// content scrolls so the end stays visible.
func (f *Field) View(width int) string {
	if width < 2 {
		width = 2
	}
	var s string
	switch {
	case len(f.buf) == 0 && f.Placeholder != "":
		return "█" + ansi.Truncate(f.Placeholder, width-1, "…")
	case f.Mask:
		s = strings.Repeat("•", f.Len())
	default:
		s = ansi.Strip(string(f.buf))
	}
	s += "█"
	if w := ansi.StringWidth(s); w > width {
		s = ansi.TruncateLeft(s, w-width, "")
	}
	return s
}
