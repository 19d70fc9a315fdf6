package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlotAnchors(t *testing.T) {
	dir := t.TempDir()
	legacy := FileAnchors(filepath.Join(dir, "old.json"))
	old := Anchor{JournalID: strings.Repeat("ab", 16), Seq: 3, Head: strings.Repeat("cd", 32)}
	if err := legacy.Save(old); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p.anchor")
	dropped := false
	s := SlotAnchors(path, legacy, func() error { dropped = true; return os.Remove(filepath.Join(dir, "old.json")) })
	if a, err := s.Load(); err != nil || *a != old {
		t.Fatalf("legacy: %+v %v", a, err)
	}
	for seq := uint64(4); seq < 8; seq++ {
		a := old
		a.Seq = seq
		if err := s.Save(a); err != nil {
			t.Fatal(err)
		}
	}
	if !dropped {
		t.Fatal("the legacy anchor was kept")
	}
	fresh := SlotAnchors(path, nil, nil)
	if a, err := fresh.Load(); err != nil || a.Seq != 7 {
		t.Fatalf("reload: %+v %v", a, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 || fi.Size() != 2*slotSize {
		t.Fatalf("file %v %d", fi.Mode(), fi.Size())
	}
	// A torn write of the newest slot leaves the one before.
	b, _ := os.ReadFile(path)
	b[20] ^= 0xff // seq 7 is in slot 0 (counter 4, even)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if a, err := SlotAnchors(path, nil, nil).Load(); err != nil || a.Seq != 6 {
		t.Fatalf("torn newest slot: %+v %v", a, err)
	}
	// Saving again continues after the highest valid counter.
	next := SlotAnchors(path, nil, nil)
	a := old
	a.Seq = 9
	if err := next.Save(a); err != nil {
		t.Fatal(err)
	}
	if a, err := SlotAnchors(path, nil, nil).Load(); err != nil || a.Seq != 9 {
		t.Fatalf("after torn: %+v %v", a, err)
	}
	b, _ = os.ReadFile(path)
	b[20] ^= 0xff
	b[slotSize+20] ^= 0xff
	_ = os.WriteFile(path, b, 0o600)
	if _, err := SlotAnchors(path, nil, nil).Load(); err == nil {
		t.Fatal("no valid slot but no error")
	}
}
