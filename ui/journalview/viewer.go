package journalview

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/input"
)

// Options configures a Viewer.
type Options struct {
	Path              string          // the journal file
	Anchor            *journal.Anchor // stored anchor to verify against (optional)
	ExpectedPublicKey *qbls.PublicKey // the profile's BLS public key (optional)
	NoVerify          bool            // do not verify on open (tests)
	// LoadAnchor, when set, gives the current anchor at each verification
	// (the console's journal grows and its anchor moves); it wins over Anchor.
	LoadAnchor func() (*journal.Anchor, error)
	// RequireAnchor makes a missing anchor a finding (unanchored): set it
	// when the keystore that holds the anchor could be read.
	RequireAnchor bool
	// Follow picks up appended entries on every ui.TickMsg (the console
	// tab), and opens the journal once it appears.
	Follow bool
}

// Viewer keys beyond the shared keymap.
var (
	keyExport = key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export"))
	// keyExportFull is keyExport as the full help explains it.
	keyExportFull = key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export listed entries, oldest first (.json .jsonl .csv)"))
	keyVerify     = key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify again"))
	keyBad        = key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "go to bad line"))
	keyDetail     = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "whole entry"))
	keyBack       = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	spinFrames    = spinner.MiniDot.Frames
)

// verifyState is the background verification.
type verifyState struct {
	running bool
	gen     uint64
	started time.Time
	rep     *journal.Report
	err     error
	done    *atomic.Int64 // bytes checked so far (set by the Verify goroutine)
	total   *atomic.Int64 // size of the file
}

// Messages of the viewer's commands; gen tags drop stale results.
type (
	filterDoneMsg struct {
		gen  uint64
		rows []int32
		err  error
	}
	verifyDoneMsg struct {
		gen uint64
		rep *journal.Report
		err error
	}
	exportDoneMsg struct {
		n    int
		path string
		err  error
	}
	// windowMsg carries journal lines read in a command, parsed, by
	// 0-based line index.
	windowMsg struct{ rows map[int]Row }
	// openedMsg is the journal opened (Follow, once it appears).
	openedMsg struct {
		ix  *Index
		err error
	}
	// grewMsg is what a poll found appended to the journal (Follow).
	grewMsg struct {
		g   growth
		err error
	}
)

// prefetch is how many of the newest lines Init reads: more than a
// screen shows, so the first frame has its rows.
const prefetch = 128

// maxCache is the number of parsed rows kept; beyond it only the rows on
// screen are kept.
const maxCache = 1024

// Viewer is the journal viewer screen.
type Viewer struct {
	ctx     *ui.Context
	opts    Options
	ix      *Index
	openErr error

	rows     []int32 // filtered lines, newest first; nil with no filter
	filtered bool
	cursor   int         // position in the visible list
	offset   int         // first visible row
	cache    map[int]Row // rows read so far, by 0-based line; View draws only these
	reading  bool        // a window read is running
	polling  bool        // a Follow open or poll is running

	filterOn     bool
	filter       input.Field
	query        string
	gen          uint64
	filtering    bool
	cancelFilter context.CancelFunc // stops the running filter scan

	exportOn bool
	export   input.Field

	note    string
	errNote string

	ver      verifyState
	newSince int // entries appended since the last verification started
	now      time.Time

	zoom   bool
	scroll int

	width, height int
}

// New opens the journal at opts.Path and returns the viewer. A missing or
// unreadable journal gives a viewer that says so.
func New(ctx *ui.Context, opts Options) *Viewer {
	v := &Viewer{ctx: ctx, opts: opts, cache: map[int]Row{}}
	v.now = v.clock()
	v.ix, v.openErr = OpenIndex(opts.Path)
	return v
}

func (v *Viewer) clock() time.Time {
	if v.ctx != nil && v.ctx.Now != nil {
		return v.ctx.Now()
	}
	return time.Now()
}

// Close releases the journal file.
func (v *Viewer) Close() error {
	if v.cancelFilter != nil {
		v.cancelFilter()
	}
	if v.ix == nil {
		return nil
	}
	return v.ix.Close()
}

// Title implements ui.Screen.
func (v *Viewer) Title() string { return "Journal" }

// Init implements ui.Screen: it reads the newest lines and starts the
// background verification.
func (v *Viewer) Init() tea.Cmd {
	if v.ix == nil {
		return nil
	}
	n := v.Len()
	lines := make([]int, 0, min(n, prefetch))
	for i := n - 1; i >= 0 && i >= n-prefetch; i-- {
		lines = append(lines, i)
	}
	read := v.read(lines)
	if v.opts.NoVerify {
		return read
	}
	return tea.Batch(read, v.startVerify())
}

// Capturing implements ui.Screen.
func (v *Viewer) Capturing() bool { return v.filterOn || v.exportOn }

// SetSize implements ui.Screen.
func (v *Viewer) SetSize(w, h int) {
	v.width, v.height = w, h
	v.clamp()
}

// Len is the number of entries in the journal.
func (v *Viewer) Len() int {
	if v.ix == nil {
		return 0
	}
	return v.ix.Len()
}

// Visible is the number of entries passing the filter.
func (v *Viewer) Visible() int {
	if v.filtered {
		return len(v.rows)
	}
	return v.Len()
}

// Report is the result of the last verification (nil while running).
func (v *Viewer) Report() (*journal.Report, error) { return v.ver.rep, v.ver.err }

// lineAt maps a visible position to a 0-based line index.
func (v *Viewer) lineAt(pos int) int {
	if v.filtered {
		return int(v.rows[pos])
	}
	return v.Len() - 1 - pos
}

// row is line (0-based) as read; a line not read yet is a placeholder.
func (v *Viewer) row(line int) Row {
	if r, ok := v.cache[line]; ok {
		return r
	}
	return Row{Line: line + 1, reading: true}
}

// onScreen is the lines View draws now: the visible list and the
// selected entry.
func (v *Viewer) onScreen() []int {
	n := v.Visible()
	if v.ix == nil || n == 0 {
		return nil
	}
	lines := []int{v.lineAt(min(v.cursor, n-1))}
	if !v.zoom {
		for i := v.offset; i < n && i < v.offset+v.listHeight(); i++ {
			lines = append(lines, v.lineAt(i))
		}
	}
	return lines
}

// fetch reads the lines on screen that are not read yet, in a command
// (one read at a time: the next Update asks again).
func (v *Viewer) fetch() tea.Cmd {
	if v.reading {
		return nil
	}
	var missing []int
	for _, l := range v.onScreen() {
		if _, ok := v.cache[l]; !ok {
			missing = append(missing, l)
		}
	}
	return v.read(missing)
}

// read returns a command that reads and parses lines; it takes the
// offsets now, so it never touches the Index while it runs.
func (v *Viewer) read(lines []int) tea.Cmd {
	if len(lines) == 0 {
		return nil
	}
	type span struct {
		line       int
		start, end int64
		err        error
	}
	spans := make([]span, len(lines))
	for i, l := range lines {
		s := span{line: l}
		s.start, s.end, s.err = v.ix.span(l)
		spans[i] = s
	}
	v.reading = true
	f := v.ix.f
	return func() tea.Msg {
		rows := make(map[int]Row, len(spans))
		for _, s := range spans {
			var line []byte
			err := s.err
			if err == nil {
				line, err = readSpan(f, s.line, s.start, s.end)
			}
			if err != nil {
				rows[s.line] = Row{Line: s.line + 1, Err: err}
				continue
			}
			rows[s.line] = parseRow(s.line+1, line)
		}
		return windowMsg{rows: rows}
	}
}

// keep stores rows read; past maxCache only the rows on screen stay.
func (v *Viewer) keep(rows map[int]Row) {
	v.reading = false
	if len(v.cache)+len(rows) > maxCache {
		old := v.cache
		v.cache = make(map[int]Row, len(rows)+64)
		for _, l := range v.onScreen() {
			if r, ok := old[l]; ok {
				v.cache[l] = r
			}
		}
	}
	maps.Copy(v.cache, rows)
}

func (v *Viewer) startVerify() tea.Cmd {
	v.gen++
	v.ver = verifyState{running: true, gen: v.gen, started: v.clock(), done: new(atomic.Int64), total: new(atomic.Int64)}
	v.newSince = 0
	gen, path := v.gen, v.opts.Path
	done, total := v.ver.done, v.ver.total
	opts := journal.VerifyOptions{Anchor: v.opts.Anchor, ExpectedPublicKey: v.opts.ExpectedPublicKey,
		RequireAnchor: v.opts.RequireAnchor, Progress: func(d, t int64) { done.Store(d); total.Store(t) }}
	load := v.opts.LoadAnchor
	return func() tea.Msg {
		if load != nil {
			a, err := load()
			if err != nil {
				return verifyDoneMsg{gen: gen, err: fmt.Errorf("read the journal anchor: %w", err)}
			}
			opts.Anchor = a
		}
		rep, err := journal.Verify(path, opts)
		return verifyDoneMsg{gen: gen, rep: rep, err: err}
	}
}

func (v *Viewer) startFilter() tea.Cmd {
	v.gen++
	gen := v.gen
	if v.cancelFilter != nil {
		v.cancelFilter() // a newer query replaces the running scan
		v.cancelFilter = nil
	}
	q := ParseQuery(v.query)
	if q.Empty() {
		v.rows, v.filtered, v.filtering = nil, false, false
		v.cursor, v.offset = 0, 0
		return nil
	}
	v.filtering = true
	path, size := v.opts.Path, v.ix.bytes
	ctx, cancel := context.WithCancel(context.Background())
	v.cancelFilter = cancel
	return func() tea.Msg {
		defer cancel()
		rows, err := FilterLines(ctx, path, size, q)
		return filterDoneMsg{gen: gen, rows: rows, err: err}
	}
}

// Update implements ui.Screen. After every message it reads, in a
// command, the lines the screen now shows and does not hold yet.
func (v *Viewer) Update(msg tea.Msg) (ui.Screen, tea.Cmd) {
	cmd := v.update(msg)
	return v, tea.Batch(cmd, v.fetch())
}

func (v *Viewer) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ui.TickMsg:
		v.now = msg.Now
		if v.opts.Follow {
			return v.follow()
		}
	case windowMsg:
		v.keep(msg.rows)
	case openedMsg:
		return v.opened(msg)
	case grewMsg:
		return v.grew(msg)
	case ui.ThemeMsg:
		if v.ctx != nil {
			v.ctx.Styles = msg.Styles
		}
	case verifyDoneMsg:
		if msg.gen == v.ver.gen {
			v.ver.running, v.ver.rep, v.ver.err = false, msg.rep, msg.err
		}
	case filterDoneMsg:
		if msg.gen == v.gen {
			v.filtering = false
			if msg.err != nil {
				v.errNote = "filter failed: " + msg.err.Error()
				break
			}
			v.rows, v.filtered = msg.rows, true
			v.cursor, v.offset = 0, 0
		}
	case exportDoneMsg:
		if msg.err != nil {
			v.errNote = clean(msg.err.Error())
		} else {
			what := "entries"
			if msg.n == 1 {
				what = "entry"
			}
			v.note = fmt.Sprintf("exported %d %s to %s, oldest first", msg.n, what, clean(msg.path))
		}
	case tea.KeyPressMsg:
		return v.key(msg)
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			v.move(-3)
		} else if msg.Mouse().Button == tea.MouseWheelDown {
			v.move(3)
		}
	}
	return nil
}

func (v *Viewer) key(msg tea.KeyPressMsg) tea.Cmd {
	km := v.ctx.Keys
	if v.filterOn {
		switch {
		case key.Matches(msg, km.FilterApply):
			v.filterOn = false
		case key.Matches(msg, km.FilterCancel):
			v.filterOn = false
			v.filter.Wipe()
			v.query = ""
			return v.startFilter()
		default:
			if v.filter.Update(msg) {
				v.query = v.filter.Text()
				return v.startFilter()
			}
		}
		return nil
	}
	if v.exportOn {
		switch msg.String() {
		case "enter":
			v.exportOn = false
			return v.startExport(v.export.Text())
		case "esc":
			v.exportOn = false
			v.export.Wipe()
		default:
			v.export.Update(msg)
		}
		return nil
	}
	v.note, v.errNote = "", ""
	if v.zoom {
		switch {
		case key.Matches(msg, keyBack), key.Matches(msg, keyDetail):
			v.zoom, v.scroll = false, 0
		case key.Matches(msg, km.Up):
			v.scroll = max(0, v.scroll-1)
		case key.Matches(msg, km.Down):
			v.scroll++
		case key.Matches(msg, km.PageUp):
			v.scroll = max(0, v.scroll-v.listHeight())
		case key.Matches(msg, km.PageDown):
			v.scroll += v.listHeight()
		}
		return nil
	}
	page := max(1, v.listHeight()-1)
	switch {
	case key.Matches(msg, km.Up):
		v.move(-1)
	case key.Matches(msg, km.Down):
		v.move(1)
	case key.Matches(msg, km.PageUp):
		v.move(-page)
	case key.Matches(msg, km.PageDown):
		v.move(page)
	case key.Matches(msg, km.Top):
		v.move(-v.Visible())
	case key.Matches(msg, km.Bottom):
		v.move(v.Visible())
	case key.Matches(msg, km.Filter):
		v.filterOn = true
	case key.Matches(msg, keyDetail):
		if v.Visible() > 0 {
			v.zoom, v.scroll = true, 0
		}
	case key.Matches(msg, keyExport):
		if v.Visible() > 0 {
			v.exportOn = true
		}
	case key.Matches(msg, keyVerify):
		if v.ix != nil && !v.ver.running {
			return v.startVerify()
		}
	case key.Matches(msg, keyBad):
		v.gotoBad()
	case key.Matches(msg, keyBack):
		if v.filtered {
			v.filter.Wipe()
			v.query = ""
			return v.startFilter()
		}
	}
	return nil
}

// follow opens the journal once it exists, or looks for appended
// entries, in a command (one at a time).
func (v *Viewer) follow() tea.Cmd {
	if v.polling {
		return nil
	}
	v.polling = true
	if v.ix == nil {
		path := v.opts.Path
		return func() tea.Msg {
			ix, err := OpenIndex(path)
			return openedMsg{ix: ix, err: err}
		}
	}
	poll := v.ix.poll()
	return func() tea.Msg {
		g, err := poll()
		return grewMsg{g: g, err: err}
	}
}

// opened takes the journal that appeared.
func (v *Viewer) opened(msg openedMsg) tea.Cmd {
	v.polling = false
	if msg.err != nil {
		v.openErr = msg.err
		return nil
	}
	if v.ix != nil { // opened meanwhile: keep the first
		_ = msg.ix.Close() // a read-only second copy: nothing to lose
		return nil
	}
	v.ix, v.openErr = msg.ix, nil
	v.clamp()
	if v.opts.NoVerify {
		return nil
	}
	return v.startVerify()
}

// grew indexes appended entries, keeping the selected entry selected (or
// the newest, when it was).
func (v *Viewer) grew(msg grewMsg) tea.Cmd {
	v.polling = false
	if msg.err != nil {
		v.errNote = msg.err.Error()
		return nil
	}
	added := v.ix.extend(msg.g)
	if added == 0 {
		return nil
	}
	v.newSince += added
	if v.filtered || v.filtering {
		return v.startFilter()
	}
	if v.cursor > 0 {
		v.cursor += added
		v.offset += added
	}
	v.clamp()
	return nil
}

func (v *Viewer) gotoBad() {
	rep := v.ver.rep
	if rep == nil || rep.Problem == nil || v.ix == nil {
		return
	}
	line := rep.Problem.Line - 1
	if line >= v.Len() {
		line = v.Len() - 1
	}
	if v.filtered {
		v.filter.Wipe()
		v.query = ""
		v.gen++
		v.rows, v.filtered, v.filtering = nil, false, false
	}
	v.cursor = v.Len() - 1 - line
	v.clamp()
}

// startExport writes the listed entries to path, oldest first (the order
// of the journal and of `qapprove journal export`), in the format its
// extension names.
func (v *Viewer) startExport(path string) tea.Cmd {
	v.export.Wipe()
	if _, err := FormatFor(strings.TrimSpace(path)); err != nil {
		v.errNote = clean(err.Error())
		return nil
	}
	n := v.Visible()
	lines := make([]int32, n)
	for i := range n {
		lines[n-1-i] = int32(v.lineAt(i)) //nolint:gosec // G115: line numbers of a journal indexed in memory are far below 2^31
	}
	src := v.opts.Path
	return func() tea.Msg {
		c, err := Export(src, lines, path)
		return exportDoneMsg{n: c, path: path, err: err}
	}
}

func (v *Viewer) move(d int) {
	v.cursor += d
	v.clamp()
}

func (v *Viewer) clamp() {
	n := v.Visible()
	v.cursor = min(max(v.cursor, 0), max(n-1, 0))
	h := v.listHeight()
	if h <= 0 {
		return
	}
	v.offset = ui.ScrollOffset(v.cursor, v.offset, n, h)
}

// layout: status line, filter/prompt line, column header, list, and the
// detail pane (a rule and detailHeight lines) when there is room.
func (v *Viewer) detailHeight() int {
	if v.height < 16 {
		return 0
	}
	return v.height * 2 / 5
}

func (v *Viewer) listHeight() int {
	h := v.height - 3
	if d := v.detailHeight(); d > 0 {
		h -= d + 1
	}
	return max(h, 0)
}

// ShortHelp implements ui.Screen.
func (v *Viewer) ShortHelp() []key.Binding {
	km := v.ctx.Keys
	if v.filterOn {
		return []key.Binding{km.FilterApply, km.FilterCancel}
	}
	if v.zoom {
		return []key.Binding{km.Up, km.Down, keyBack}
	}
	return []key.Binding{km.Up, km.Down, km.Filter, keyDetail, keyExport, keyVerify, keyBad}
}

// FullHelp implements ui.Screen.
func (v *Viewer) FullHelp() [][]key.Binding {
	km := v.ctx.Keys
	return [][]key.Binding{
		{km.Up, km.Down, km.PageUp, km.PageDown, km.Top, km.Bottom},
		{km.Filter, km.FilterApply, km.FilterCancel, keyDetail, keyBack},
		{keyExportFull, keyVerify, keyBad},
	}
}

// verifyText is the verification part of the status line.
func (v *Viewer) verifyText() (string, int) {
	const (
		neutral = iota
		good
		bad
	)
	switch {
	case v.ver.running:
		el := max(v.now.Sub(v.ver.started), 0).Truncate(time.Second)
		pct := ""
		if t := v.ver.total.Load(); t > 0 {
			pct = fmt.Sprintf(" %d%%", min(100, v.ver.done.Load()*100/t))
		}
		return fmt.Sprintf("%s verifying…%s %s", spinFrames[int(el/time.Second)%len(spinFrames)], pct, el), neutral
	case v.ver.err != nil:
		return "could not verify: " + clean(v.ver.err.Error()), bad
	case v.ver.rep == nil:
		return "not verified (v to verify)", neutral
	case v.ver.rep.Problem != nil:
		p := v.ver.rep.Problem
		return fmt.Sprintf("TAMPERED at line %d: %s: %s (b to see it)", p.Line, p.Reason, clean(p.Detail)), bad
	default:
		r := v.ver.rep
		t := fmt.Sprintf("intact ✓ %d entries, %d signatures", r.Entries, r.Signatures)
		if v.newSince > 0 {
			t += fmt.Sprintf(" (+%d since: v to verify)", v.newSince)
		}
		return t, good
	}
}

// View implements ui.Screen.
func (v *Viewer) View() string {
	st := v.ctx.Styles
	w := v.width
	var out []string
	add := func(s string) { out = append(out, ui.Fit(s, w)) }
	if v.ix == nil {
		msg := "cannot open the journal: " + clean(fmt.Sprint(v.openErr))
		if errors.Is(v.openErr, fs.ErrNotExist) {
			msg = "No journal yet at " + v.opts.Path + ": it is created when keys are registered (qapprove keys register)."
		}
		add(st.Title.Render("Journal"))
		add(st.Warn.Render(msg))
		return ui.FitLines(out, w, v.height)
	}
	vt, kind := v.verifyText()
	switch kind {
	case 1:
		vt = st.Good.Render(vt)
	case 2:
		vt = st.Bad.Render(vt)
	}
	status := st.Title.Render("Journal") + "  " + fmt.Sprintf("%d entries", v.Len())
	if v.ix.TornBytes() > 0 {
		status += st.Warn.Render(fmt.Sprintf("  torn tail %d B", v.ix.TornBytes()))
	}
	add(status + "  " + vt)
	add(v.filterLine())
	if v.zoom {
		lines := v.row(v.lineAt(v.cursor)).detail()
		h := v.height - 2
		v.scroll = min(v.scroll, max(len(lines)-h, 0))
		for i := v.scroll; i < len(lines) && i < v.scroll+h; i++ {
			add(lines[i])
		}
		return ui.FitLines(out, w, v.height)
	}
	cols := newColumns(w)
	add(st.Label.Render(cols.header()))
	lh := v.listHeight()
	badLine := 0
	if v.ver.rep != nil && v.ver.rep.Problem != nil {
		badLine = v.ver.rep.Problem.Line
	}
	n := v.Visible()
	if n == 0 {
		if v.filtered {
			add(st.Muted.Render("  no entry matches the filter"))
		} else {
			add(st.Muted.Render("  the journal is empty"))
		}
	}
	for i := v.offset; i < n && i < v.offset+lh; i++ {
		r := v.row(v.lineAt(i))
		s := ui.Fit(cols.row(r), w)
		switch {
		case r.Line == badLine:
			s = st.Bad.Render(s)
		case i == v.cursor:
			s = st.Selected.Render(s)
		}
		out = append(out, s)
	}
	if d := v.detailHeight(); d > 0 {
		for len(out) < 3+lh {
			out = append(out, strings.Repeat(" ", w))
		}
		add(st.Muted.Render(strings.Repeat("─", w)))
		if n > 0 {
			lines := v.row(v.lineAt(v.cursor)).detail()
			for i := 0; i < d && i < len(lines); i++ {
				add(lines[i])
			}
		}
	}
	return ui.FitLines(out, w, v.height)
}

func (v *Viewer) filterLine() string {
	st := v.ctx.Styles
	switch {
	case v.exportOn:
		const prompt = "export, oldest first, to (.json .jsonl .csv): "
		return prompt + v.export.View(max(v.width-len(prompt)-2, 10))
	case v.filterOn:
		return "/" + v.filter.View(max(v.width-30, 10)) + st.Muted.Render("  kind: action: verdict: decision: text")
	case v.errNote != "":
		return st.Error.Render(v.errNote)
	case v.note != "":
		return st.Note.Render(v.note)
	case v.filtering:
		return "filtering… " + clean(v.query)
	case v.filtered:
		return fmt.Sprintf("filter: %s  (%d of %d; esc clears)", clean(v.query), len(v.rows), v.Len())
	}
	return st.Muted.Render("newest first · / filter · enter whole entry · e export")
}

// columns sizes the list columns for a width.
type columns struct{ line, ts, kind, action, verdict, decision, outcome, sig int }

func newColumns(w int) columns {
	c := columns{line: 5, ts: 8, kind: 14, verdict: 7, decision: 8, outcome: 8, sig: 8}
	if w >= 110 {
		c.line, c.ts = 7, 19
	}
	fixed := c.line + c.ts + c.kind + c.verdict + c.decision + c.outcome + c.sig + 8
	c.action = max(w-fixed, 6)
	return c
}

func (c columns) cells(line, ts, kind, action, verdict, decision, outcome, sig string) string {
	return cellR(line, c.line) + " " + cell(ts, c.ts) + " " + cell(kind, c.kind) + " " + cell(action, c.action) + " " +
		cell(verdict, c.verdict) + " " + cell(decision, c.decision) + " " + cell(outcome, c.outcome) + " " + cell(sig, c.sig)
}

func (c columns) header() string {
	ts := "TIME (UTC)"
	if c.ts < len(ts) {
		ts = "UTC"
	}
	return c.cells("#", ts, "KIND", "ACTION", "VERDICT", "DECISION", "OUTCOME", "SIG")
}

func (c columns) row(r Row) string {
	if r.reading {
		return c.cells(itoa(r.Line), "", "", "reading…", "", "", "", "")
	}
	if r.Err != nil {
		return c.cells(itoa(r.Line), "", "?", "cannot be parsed", "", "", "", "corrupt")
	}
	layout := "15:04:05"
	if c.ts >= 19 {
		layout = "2006-01-02 15:04:05"
	}
	return c.cells(itoa(r.Line), r.Entry.TS.UTC().Format(layout), string(r.Entry.Kind), r.Action, r.Verdict, r.Decision, r.Outcome, r.SigStatus())
}

func cell(s string, w int) string { return ui.Fit(s, w) }

func cellR(s string, w int) string {
	if len(s) >= w {
		return s[:w]
	}
	return strings.Repeat(" ", w-len(s)) + s
}
