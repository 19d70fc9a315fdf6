package main

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dialogWait bounds every wait of the dialog driver.
const dialogWait = 30 * time.Second

// dialogDriver acts on the console's dialog the way lazygit's
// confirmation driver does: a key is sent to a dialog only after the test
// checked its title and content on the screen, and only while the screen
// still shows that dialog.
//
// Dialogs swallow confirmation keys for a grace period after they open
// and show no sign when it ends; a swallowed key shows as "N key(s)
// ignored". So a key is sent once, then the screen is polled until it
// either shows one more ignored key (the key was dropped: it is sent
// again, after the guard) or shows the dialog's reaction. Every key gets
// its own evidence before the next is sent, so a key is never sent twice
// to a dialog that took it. The driver must be the only one sending keys
// while it works.
type dialogDriver struct {
	tm       *tmuxTerm
	title    string
	contents []string
	guard    func() error
}

// Dialog starts the checks of the dialog on the screen.
func (tm *tmuxTerm) Dialog() *dialogDriver { return &dialogDriver{tm: tm} }

// Title waits until the screen shows a dialog whose first line is want.
func (d *dialogDriver) Title(want string) *dialogDriver {
	d.tm.t.Helper()
	d.title = want
	d.waitOpen("title " + strconv.Quote(want))
	return d
}

// Contains waits until the dialog checked by Title shows each of want.
func (d *dialogDriver) Contains(want ...string) *dialogDriver {
	d.tm.t.Helper()
	if d.title == "" {
		d.tm.t.Fatalf("dialog driver: Contains(%q) before Title", want)
	}
	d.contents = append(d.contents, want...)
	d.waitOpen("content " + strings.Join(quoteAll(want), ", "))
	return d
}

// Guard runs check before every key the driver sends; an error fails
// the test (a decision that already reached the sandbox, say).
func (d *dialogDriver) Guard(check func() error) *dialogDriver {
	d.guard = check
	return d
}

// Type types text into the dialog's field; text typed into a field is
// never swallowed by the grace period.
func (d *dialogDriver) Type(text string) *dialogDriver {
	d.tm.t.Helper()
	d.ready("type into")
	d.tm.text(text)
	return d
}

// Confirm presses y until the dialog takes it and leaves the screen.
func (d *dialogDriver) Confirm() { d.tm.t.Helper(); d.Press("y") }

// Press presses key (a tmux key name) until the dialog takes it and the
// checked dialog leaves the screen (closed, or replaced by another).
func (d *dialogDriver) Press(key string) {
	d.tm.t.Helper()
	d.press(key, func(b dialogBox, ok bool) bool { return !ok || !d.matches(b) })
}

// Refuses presses key until the dialog answers by showing shows while
// staying open; the dialog closing on key fails the test.
func (d *dialogDriver) Refuses(key, shows string) *dialogDriver {
	d.tm.t.Helper()
	if b, ok := d.current(); ok && strings.Contains(b.text(), shows) {
		d.tm.t.Fatalf("dialog driver: the dialog already shows %q before %s", shows, key)
	}
	d.press(key, func(b dialogBox, ok bool) bool {
		if !ok || !d.matches(b) {
			d.tm.t.Fatalf("the dialog %q closed on %s; it should have refused it. Screen:\n%s", d.title, key, d.tm.screen())
		}
		return strings.Contains(b.text(), shows)
	})
	return d
}

// press sends key and waits for reacted, sending it again for as long as
// the dialog visibly swallowed it.
func (d *dialogDriver) press(key string, reacted func(dialogBox, bool) bool) {
	d.tm.t.Helper()
	d.ready("press " + key + " in")
	b, _ := d.current()
	base := b.ignored()
	seen := base
	deadline := time.Now().Add(dialogWait)
	for {
		if d.guard != nil {
			if err := d.guard(); err != nil {
				d.tm.t.Fatalf("dialog driver: before %s: %v", key, err)
			}
		}
		d.tm.keys(key)
		for {
			scr := d.tm.screen()
			b, ok := findDialog(scr)
			if ok && d.matches(b) && b.ignored() > seen {
				if b.ignored() != seen+1 {
					d.tm.t.Fatalf("dialog driver: %d keys ignored after one %s; was %d", b.ignored(), key, seen)
				}
				seen++
				break // swallowed by the grace period: send it again
			}
			if reacted(b, ok) {
				if seen > base {
					d.tm.t.Logf("dialog %q: the grace period swallowed %d × %s before the dialog took it", d.title, seen-base, key)
				}
				return
			}
			if strings.Contains(scr, "EXIT=") || time.Now().After(deadline) {
				d.tm.t.Fatalf("the dialog %q never took %s; the screen shows:\n%s", d.title, key, scr)
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	}
}

// ready fails the test unless the title and some content were checked
// and the screen shows them now.
func (d *dialogDriver) ready(what string) {
	d.tm.t.Helper()
	if d.title == "" || len(d.contents) == 0 {
		d.tm.t.Fatalf("dialog driver: refusing to %s a dialog whose title and content the test did not check (title %q, content %q)", what, d.title, d.contents)
	}
	if b, ok := d.current(); !ok || !d.matches(b) {
		d.tm.t.Fatalf("dialog driver: refusing to %s the dialog %q: the screen no longer shows it with %q:\n%s", what, d.title, d.contents, d.tm.screen())
	}
}

// waitOpen waits until the screen shows the dialog with every check made.
func (d *dialogDriver) waitOpen(what string) {
	d.tm.t.Helper()
	deadline := time.Now().Add(dialogWait)
	for {
		scr := d.tm.screen()
		if b, ok := findDialog(scr); ok && d.matches(b) {
			return
		}
		if strings.Contains(scr, "EXIT=") || time.Now().After(deadline) {
			d.tm.t.Fatalf("no dialog with %s (title %q, content %q); the screen shows:\n%s", what, d.title, d.contents, scr)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func (d *dialogDriver) current() (dialogBox, bool) { return findDialog(d.tm.screen()) }

// matches reports whether b is the dialog the test checked.
func (d *dialogDriver) matches(b dialogBox) bool {
	if b.title() != d.title {
		return false
	}
	for _, c := range d.contents {
		if !strings.Contains(b.text(), c) {
			return false
		}
	}
	return true
}

// dialogBox is the content of the framed dialog on a screen, one string
// per row, without frame and padding.
type dialogBox []string

func (b dialogBox) text() string { return strings.Join(b, "\n") }

// title is the dialog's first non-blank line.
func (b dialogBox) title() string {
	for _, l := range b {
		if l != "" {
			return l
		}
	}
	return ""
}

var ignoredLine = regexp.MustCompile(`^(\d+) keys? ignored: typed before the dialog opened\.$`)

// ignored is how many keys the dialog says its grace period swallowed.
func (b dialogBox) ignored() int {
	for _, l := range b {
		if m := ignoredLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

// dialogFrames are the corners and sides of the dialog frames (rounded,
// and thick for the alarm frame).
var dialogFrames = []struct{ tl, tr, side, bl rune }{{'╭', '╮', '│', '╰'}, {'┏', '┓', '┃', '┗'}}

// findDialog finds the framed box a dialog draws over the screen: a top
// edge, rows with a side in the same two columns, a bottom edge.
func findDialog(screen string) (dialogBox, bool) {
	var rows [][]rune
	for _, l := range strings.Split(screen, "\n") {
		rows = append(rows, []rune(l))
	}
	for i, row := range rows {
		for _, f := range dialogFrames {
			l := runeIndex(row, f.tl, 0)
			r := runeIndex(row, f.tr, l+1)
			if l < 0 || r < 0 {
				continue
			}
			if b, ok := boxBelow(rows[i+1:], l, r, f.side, f.bl); ok {
				return b, true
			}
		}
	}
	return nil, false
}

// boxBelow reads the rows of a box whose sides are in columns l and r.
func boxBelow(rows [][]rune, l, r int, side, bl rune) (dialogBox, bool) {
	var b dialogBox
	for _, row := range rows {
		if len(row) <= r {
			return nil, false
		}
		if row[l] == bl {
			return b, true
		}
		if row[l] != side || row[r] != side {
			return nil, false
		}
		b = append(b, strings.TrimSpace(string(row[l+1:r])))
	}
	return nil, false
}

func runeIndex(row []rune, c rune, from int) int {
	if from < 0 {
		return -1
	}
	for i := from; i < len(row); i++ {
		if row[i] == c {
			return i
		}
	}
	return -1
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return q
}
