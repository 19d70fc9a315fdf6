package input

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func typeS(f *Field, s string) {
	for _, r := range s {
		f.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestMaskedFieldNeverShowsAndWipes(t *testing.T) {
	f := Field{Mask: true}
	typeS(&f, "hunter2 é")
	if v := f.View(40); strings.Contains(v, "hunter") || strings.Count(v, "•") != 9 {
		t.Fatalf("masked view = %q", v)
	}
	f.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	if f.Len() != 8 {
		t.Fatalf("len after backspace = %d", f.Len())
	}
	b := f.Bytes()
	back := b[:cap(b)]
	f.Wipe()
	for _, c := range back {
		if c != 0 {
			t.Fatal("Wipe left secret bytes in the buffer")
		}
	}
	if f.Len() != 0 {
		t.Fatal("field not empty after Wipe")
	}
}

func TestGrowWipesOldBuffer(t *testing.T) {
	f := Field{Mask: true}
	typeS(&f, "ab")
	old := f.Bytes()[:cap(f.Bytes())]
	typeS(&f, strings.Repeat("x", 200))
	for _, c := range old {
		if c != 0 {
			t.Fatal("old backing array not wiped on growth")
		}
	}
}

func TestLimitAndControlChars(t *testing.T) {
	f := Field{Limit: 4}
	typeS(&f, "abcdef")
	f.Update(tea.KeyPressMsg{Code: 0x1b, Text: "\x1b[2J"})
	if f.Text() != "abcd" {
		t.Fatalf("text = %q", f.Text())
	}
	got := f.Take()
	if string(got) != "abcd" || f.Len() != 0 {
		t.Fatal("Take did not hand over and empty the field")
	}
}

func TestTextPanicsOnMasked(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Text on a masked field did not panic")
		}
	}()
	f := Field{Mask: true}
	_ = f.Text()
}
