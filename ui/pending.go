package ui

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/input"
)

// Focus targets inside the pending screen.
const (
	focusList = iota
	focusDetail
)

// PendingScreen is the pending-actions screen: a virtualised list (only the
// visible rows are drawn, so it stays fast at 100,000 actions) and a detail
// pane for the selected action. Deciding is driven by the root Model, which
// owns the dialogs.
type PendingScreen struct {
	ctx    *Context
	rows   rowSet
	locked bool // the key is locked (set by the root model)

	selID  string // the selected action; the cursor follows it across updates
	cursor int
	offset int

	filterOn  bool        // the filter input has focus
	filter    input.Field // what is typed after '/'
	gen       uint64      // generation of the latest list job
	wantQuery string      // query of the latest list job
	wantSort  int         // sort of the latest list job

	focus   int
	scroll  int // detail scroll
	showRaw bool
	raw     rawState // the raw payload fetched for the detail pane

	width, height int
	listX, listY  int // where list rows start on screen (for mouse)
	listW, listH  int
	bodyY         int // screen row of the body's first line

	cached bool // showing items from the disk cache, not yet refreshed
	priced bool // some action has a value in fiat: the list shows a value column

	copying bool                // `c` was pressed: the next key picks what to copy
	warned  map[string]struct{} // actions already announced as about to expire

	loadedLive bool     // a list from the backend (not the disk cache) was loaded
	arrivals   []string // IDs of new actions not yet announced (at most maxArrivals)
	arrivedN   int      // how many new actions are not yet announced

	pretty prettyCache // the pretty-printed payload of a not-understood action
}

// maxArrivals bounds the IDs of new actions kept for the next notice.
const maxArrivals = 3

// NoteMsg asks the root model to show a line in the status line: a notice,
// or an error when Err is set. Screens return it from a command.
type NoteMsg struct {
	Text string
	Err  bool
}

// noteCmd is a command that shows a notice (or an error).
func noteCmd(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return NoteMsg{Text: text, Err: isErr} }
}

// NewPendingScreen returns an empty pending screen.
func NewPendingScreen(ctx *Context) *PendingScreen {
	return &PendingScreen{ctx: ctx, rows: rowSet{byID: map[string]*row{}, verdicts: verdictPool{}}, warned: map[string]struct{}{}}
}

// Title implements Screen.
func (p *PendingScreen) Title() string { return "Pending" }

// Init implements Screen.
func (p *PendingScreen) Init() tea.Cmd { return nil }

// Capturing implements Screen.
func (p *PendingScreen) Capturing() bool { return p.filterOn || p.copying }

// Len is the number of actions held; Visible the number passing the filter.
func (p *PendingScreen) Len() int { return len(p.rows.sorted) }

// Visible is the number of actions that pass the filter.
func (p *PendingScreen) Visible() int { return len(p.rows.visible) }

// Selected returns the selected action, or nil when the list is empty.
func (p *PendingScreen) Selected() *app.Item {
	if r := p.selected(); r != nil {
		it := r.item()
		return &it
	}
	return nil
}

// SelectedID returns the ID of the selected action ("" when none).
func (p *PendingScreen) SelectedID() string { return p.selID }

// Item returns the action with this ID, if held.
func (p *PendingScreen) Item(id string) (*app.Item, bool) {
	r, ok := p.rows.byID[id]
	if !ok {
		return nil, false
	}
	it := r.item()
	return &it, true
}

// Query is the applied filter text.
func (p *PendingScreen) Query() string { return p.rows.query }

// SortMode is the current sort order (SortExpiry, ...).
func (p *PendingScreen) SortMode() int { return p.rows.sort }

func (p *PendingScreen) selected() *row {
	if p.cursor >= 0 && p.cursor < len(p.rows.visible) {
		return p.rows.visible[p.cursor]
	}
	return nil
}

// SetSize implements Screen.
func (p *PendingScreen) SetSize(w, h int) {
	p.width, p.height = w, h
	p.clampOffset()
}

// setBodyY records the screen row where the body starts (for mouse clicks).
func (p *PendingScreen) setBodyY(y int) { p.bodyY = y }

// ShortHelp implements Screen.
func (p *PendingScreen) ShortHelp() []key.Binding {
	k := p.ctx.Keys
	if p.filterOn {
		return []key.Binding{k.FilterApply, k.FilterCancel}
	}
	if p.copying {
		return []key.Binding{copyKey(k.CopyID), copyKey(k.CopyDest), copyKey(k.CopyMsg), key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
	}
	return []key.Binding{k.Down, k.Approve, k.Reject, k.Filter, k.Raw, k.Copy, k.Focus}
}

// copyKey is a copy binding as the footer shows it while `c` waits for
// the second key (the key alone, without "c ").
func copyKey(b key.Binding) key.Binding {
	h := b.Help()
	return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(strings.TrimPrefix(h.Key, "c "), strings.TrimPrefix(h.Desc, "copy ")))
}

// FullHelp implements Screen.
func (p *PendingScreen) FullHelp() [][]key.Binding {
	k := p.ctx.Keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Approve, k.Reject, k.Raw, k.Focus},
		{k.Copy, k.CopyID, k.CopyDest, k.CopyMsg},
		{k.Filter, k.FilterApply, k.FilterCancel, k.Sort},
	}
}

// HelpText implements HelpTexter: what deciding, the columns and the
// notices mean.
func (p *PendingScreen) HelpText() []string {
	return []string{
		"Columns: verdict · network · amount → destination · wl (✓ whitelisted, ✗ not, ? unknown) · appr (approvals so far / threshold) · expires (time left; \"unknown\" when the API did not say).",
		"Deciding: a approves, r rejects. A dialog repeats what matters and names the rule behind the verdict; confirm with y (Enter alone never confirms; y, n and Enter typed just before a dialog opens are ignored, and the dialog says so; text typed into a field is never dropped).",
		"A reject can carry an optional reason; going against the verdict requires one. Both are journaled, and so is every cancelled or refused attempt.",
		"Strong confirmation (mainnet, a large amount, or a rule asks): type the last 4 characters of the destination (of the action ID when there is none), case-sensitive, then Enter.",
		"A message qapprove cannot check against the details is marked so; one that contradicts them is never signed.",
		"c then i, d or m copies the action ID, the destination or the message SHA-256 to the clipboard (OSC 52).",
		"New actions and actions about to expire are announced in the status line (with the bell and a desktop notification when configured).",
	}
}

// Update implements Screen. While the raw payload is shown, moving to
// another action fetches that action's raw payload.
func (p *PendingScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	s, cmd := p.updateMsg(msg)
	if p.showRaw {
		if r := p.selected(); r != nil && r.action.ID != p.raw.id {
			cmd = tea.Batch(cmd, p.fetchRaw())
		}
	}
	return s, cmd
}

func (p *PendingScreen) updateMsg(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return p, p.handleKey(msg)
	case tea.MouseWheelMsg:
		m := msg.Mouse()
		switch m.Button {
		case tea.MouseWheelUp:
			p.wheel(-3, m.X)
		case tea.MouseWheelDown:
			p.wheel(3, m.X)
		}
	case tea.MouseClickMsg:
		m := msg.Mouse()
		if m.Button == tea.MouseLeft {
			p.click(m.X, m.Y)
		}
	case filterTickMsg:
		if msg.gen == p.gen {
			return p, p.launch(false)
		}
	case listResultMsg:
		return p, p.applyResult(msg)
	case rawMsg:
		if msg.id == p.raw.id {
			p.raw = rawDone(msg.id, msg.data, msg.err)
		}
	}
	return p, nil
}

// rawState is the raw payload of one action, fetched on demand: the
// backend may keep only the decoded payload in memory.
type rawState struct {
	id    string
	data  []byte
	lines []string // data as shown (see rawLines), made once when it arrives
	err   string
	done  bool
}

// rawDone is the state of a raw payload that arrived (or failed to).
func rawDone(id string, data []byte, err string) rawState {
	r := rawState{id: id, data: data, err: err, done: true}
	if err == "" {
		r.lines = rawLines(data)
	}
	return r
}

// rawMsg carries a fetched raw payload.
type rawMsg struct {
	id   string
	data []byte
	err  string
}

// fetchRaw makes sure the selected action's raw payload is at hand:
// from the action itself when it holds it, else from the backend.
func (p *PendingScreen) fetchRaw() tea.Cmd {
	r := p.selected()
	if r == nil {
		return nil
	}
	a := r.action
	if p.raw.id == a.ID && p.raw.done && p.raw.err == "" {
		return nil
	}
	if raw := a.RawPayload(); len(raw) > 0 {
		p.raw = rawDone(a.ID, raw, "")
		return nil
	}
	p.raw = rawState{id: a.ID}
	b, id := p.ctx.Backend, a.ID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		data, err := b.RawPayload(ctx, id)
		if err != nil {
			return rawMsg{id: id, err: err.Error()}
		}
		return rawMsg{id: id, data: data}
	}
}

func (p *PendingScreen) wheel(d, x int) {
	if p.focus == focusDetail || (p.listW > 0 && x >= p.listX+p.listW) {
		p.scroll = max(0, p.scroll+d)
		return
	}
	p.move(d)
}

func (p *PendingScreen) click(x, y int) {
	ry := y - p.bodyY - p.listY
	if x >= p.listX && x < p.listX+p.listW && ry >= 0 && ry < p.listH {
		if i := p.offset + ry; i < len(p.rows.visible) {
			p.focus = focusList
			p.setCursor(i)
		}
		return
	}
	if p.listW > 0 {
		p.focus = focusDetail
	}
}

func (p *PendingScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := p.ctx.Keys
	if p.filterOn {
		switch {
		case key.Matches(msg, k.FilterCancel):
			p.filterOn = false
			p.filter.Wipe()
			return p.setQuery("")
		case key.Matches(msg, k.FilterApply):
			p.filterOn = false
			return nil
		}
		if p.filter.Update(msg) {
			return p.setQuery(strings.ToLower(p.filter.Text()))
		}
		return nil
	}
	if p.copying {
		p.copying = false
		return p.copy(msg)
	}
	switch {
	case key.Matches(msg, k.Copy):
		p.copying = true
	case key.Matches(msg, k.Filter):
		p.filterOn = true
		p.focus = focusList
		if len(p.rows.sorted) > syncLimit {
			return warmSearch(slices.Clone(p.rows.sorted))
		}
	case key.Matches(msg, k.FilterCancel) && p.rows.query != "":
		p.filter.Wipe()
		return p.setQuery("")
	case key.Matches(msg, k.Focus):
		p.focus = 1 - p.focus
	case key.Matches(msg, k.Raw):
		p.showRaw = !p.showRaw
		p.scroll = 0
		if p.showRaw {
			return p.fetchRaw()
		}
	case key.Matches(msg, k.Sort):
		return p.setSort((p.rows.sort + 1) % numSorts)
	case key.Matches(msg, k.Up):
		p.nav(-1)
	case key.Matches(msg, k.Down):
		p.nav(1)
	case key.Matches(msg, k.PageUp):
		p.nav(-max(1, p.listH-1))
	case key.Matches(msg, k.PageDown):
		p.nav(max(1, p.listH-1))
	case key.Matches(msg, k.Top):
		if p.focus == focusDetail {
			p.scroll = 0
		} else {
			p.setCursor(0)
		}
	case key.Matches(msg, k.Bottom):
		if p.focus == focusDetail {
			p.scroll = 1 << 30
		} else {
			p.setCursor(len(p.rows.visible) - 1)
		}
	}
	return nil
}

// copy puts what the key after `c` names on the clipboard (OSC 52), the
// exact value: never one that holds control or invisible characters.
func (p *PendingScreen) copy(msg tea.KeyPressMsg) tea.Cmd {
	k := p.ctx.Keys
	r := p.selected()
	if r == nil {
		return noteCmd("Nothing selected: nothing copied.", false)
	}
	var what, v string
	switch {
	case key.Matches(msg, k.CopyID):
		what, v = "the action ID", r.action.ID
	case key.Matches(msg, k.CopyDest):
		what, v = "the destination", destination(r.action)
	case key.Matches(msg, k.CopyMsg):
		what, v = "the message SHA-256", messageSHA256(r.action)
	default:
		return noteCmd("Nothing copied.", false)
	}
	switch {
	case v == "":
		return noteCmd("Nothing copied: this action has no "+strings.TrimPrefix(what, "the ")+".", true)
	case clean(v) != v:
		return noteCmd("Not copied: "+what+" holds control or invisible characters (shown escaped).", true)
	}
	return tea.Batch(tea.SetClipboard(v), noteCmd("Copied "+what+" "+middle(v, 27)+" to the clipboard.", false))
}

func (p *PendingScreen) nav(d int) {
	if p.focus == focusDetail {
		p.scroll = max(0, p.scroll+d)
		return
	}
	p.move(d)
}

func (p *PendingScreen) move(d int) { p.setCursor(p.cursor + d) }

func (p *PendingScreen) setCursor(i int) {
	n := len(p.rows.visible)
	if n == 0 {
		p.cursor, p.offset, p.selID = 0, 0, ""
		return
	}
	i = max(0, min(i, n-1))
	if id := p.rows.visible[i].action.ID; id != p.selID {
		p.selID = id
		p.scroll = 0
	}
	p.cursor = i
	p.clampOffset()
}

// clampOffset keeps the cursor inside the drawn window of rows.
func (p *PendingScreen) clampOffset() {
	p.offset = ScrollOffset(p.cursor, p.offset, len(p.rows.visible), max(1, p.listH))
}

// reselect puts the cursor back on the selected action after the visible
// rows changed; if it is gone the cursor stays at the same position.
func (p *PendingScreen) reselect() {
	if r, ok := p.rows.byID[p.selID]; ok {
		if i := find(p.rows.visible, p.rows.sort, r); i >= 0 {
			p.cursor = i
			p.clampOffset()
			return
		}
	}
	p.setCursor(p.cursor)
}

// setQuery applies a new filter: at once for small lists, else debounced
// and computed in a Cmd whose stale results are dropped.
func (p *PendingScreen) setQuery(q string) tea.Cmd {
	p.gen++
	if len(p.rows.sorted) <= syncLimit {
		p.rows.query = q
		p.rows.visible = filterRows(p.rows.sorted, q)
		if q == "" {
			p.rows.dropSearch()
		}
		p.reselect()
		return nil
	}
	gen := p.gen
	p.wantQuery = q
	return tea.Tick(filterDebounce, func(_ time.Time) tea.Msg { return filterTickMsg{gen: gen} })
}

// setSort changes the sort order (in a Cmd for large lists).
func (p *PendingScreen) setSort(mode int) tea.Cmd {
	p.gen++
	if len(p.rows.sorted) <= syncLimit {
		p.rows.sort = mode
		p.rows.sorted = sortRows(p.rows.sorted, mode)
		p.rows.visible = filterRows(p.rows.sorted, p.rows.query)
		p.rows.ver++
		p.reselect()
		return nil
	}
	p.wantSort = mode
	p.wantQuery = p.rows.query
	return p.launch(true)
}

// launch starts a list job for the latest wanted sort and query.
func (p *PendingScreen) launch(resort bool) tea.Cmd {
	if !resort {
		p.wantSort = p.rows.sort
	}
	resort = resort || p.wantSort != p.rows.sort
	var snapshot, narrow []*row
	if !resort && p.rows.query != "" && strings.Contains(p.wantQuery, p.rows.query) {
		narrow = slices.Clone(p.rows.visible)
	} else {
		snapshot = slices.Clone(p.rows.sorted)
	}
	return listJob(p.gen, p.rows.ver, snapshot, narrow, resort, p.wantSort, p.wantQuery)
}

// applyResult takes a finished list job unless a newer one superseded it;
// if the data changed while it ran, the job is run again on fresh data.
func (p *PendingScreen) applyResult(res listResultMsg) tea.Cmd {
	if res.gen != p.gen {
		return nil // stale: a newer keystroke or sort is on its way
	}
	if res.ver != p.rows.ver {
		return p.launch(res.sorted != nil)
	}
	if res.sorted != nil {
		p.rows.sorted = res.sorted
		p.rows.sort = res.sort
	}
	p.rows.query = res.query
	p.rows.visible = res.visible
	if res.query == "" {
		p.rows.visible = p.rows.sorted
		p.rows.dropSearch()
	}
	p.reselect()
	return nil
}

// load replaces every action (first load, refresh, disk cache).
func (p *PendingScreen) load(items []app.Item, cached bool) tea.Cmd {
	p.cached = cached
	rows := make([]*row, 0, len(items))
	old := p.rows.byID
	announce := p.loadedLive && !cached
	p.loadedLive = p.loadedLive || !cached
	p.rows.byID = make(map[string]*row, len(items))
	p.rows.verdicts = verdictPool{}
	p.priced = false
	for _, it := range items {
		p.priced = p.priced || it.Verdict.Value != nil
		if it.Action == nil || it.Action.ID == "" {
			continue
		}
		r := newRow(it, p.rows.verdicts)
		if _, dup := p.rows.byID[it.Action.ID]; dup {
			continue
		}
		p.rows.byID[it.Action.ID] = r
		rows = append(rows, r)
		if _, had := old[it.Action.ID]; announce && !had {
			p.arrived(r)
		}
	}
	for id := range p.warned {
		if _, ok := p.rows.byID[id]; !ok {
			delete(p.warned, id)
		}
	}
	p.rows.sorted = rows
	p.rows.ver++
	p.gen++
	if len(rows) <= syncLimit {
		p.rows.sorted = sortRows(rows, p.rows.sort)
		p.rows.visible = filterRows(p.rows.sorted, p.rows.query)
		p.afterLoad()
		return nil
	}
	// Show the unsorted rows at once; the sorted order follows from a Cmd.
	p.rows.visible = p.rows.sorted
	p.afterLoad()
	p.wantSort, p.wantQuery = p.rows.sort, p.rows.query
	return p.launch(true)
}

func (p *PendingScreen) afterLoad() {
	if p.selID == "" {
		p.setCursor(0)
		return
	}
	if _, ok := p.rows.byID[p.selID]; !ok {
		p.setCursor(p.cursor)
		return
	}
	p.reselectAny()
}

// reselectAny finds the selected action by a linear scan (used when the
// visible rows may not be sorted yet).
func (p *PendingScreen) reselectAny() {
	for i, r := range p.rows.visible {
		if r.action.ID == p.selID {
			p.cursor = i
			p.clampOffset()
			return
		}
	}
	p.setCursor(p.cursor)
}

// upsert adds or replaces one action, keeping the cursor on the selected one.
func (p *PendingScreen) upsert(it app.Item) {
	if it.Action == nil || it.Action.ID == "" {
		return
	}
	r := newRow(it, p.rows.verdicts)
	p.priced = p.priced || it.Verdict.Value != nil
	if old := p.rows.byID[it.Action.ID]; old != nil {
		r.inflight = old.inflight
	} else if p.loadedLive {
		p.arrived(r)
	}
	p.rows.upsert(r)
	if p.selID == "" {
		p.setCursor(0)
		return
	}
	p.reselect()
}

// update replaces the action id with a changed copy made by fn.
func (p *PendingScreen) update(id string, fn func(*row)) {
	old, ok := p.rows.byID[id]
	if !ok {
		return
	}
	cp := &row{action: old.action, verdict: old.verdict, outcome: old.outcome, rank: old.rank, expires: old.expires, created: old.created, inflight: old.inflight}
	fn(cp)
	p.rows.upsert(cp)
	p.reselect()
}

// remove drops one action and reports whether it was held.
func (p *PendingScreen) remove(id string) bool {
	r, ok := p.rows.byID[id]
	if !ok {
		return false
	}
	p.rows.remove(r)
	delete(p.warned, id)
	p.reselect()
	return true
}

// arrived records a new pending action for the next notice.
func (p *PendingScreen) arrived(r *row) {
	if r.decided() != "" || r.action.Status != client.StatusPending {
		return
	}
	p.arrivedN++
	if len(p.arrivals) < maxArrivals {
		p.arrivals = append(p.arrivals, r.action.ID)
	}
}

// takeArrivals returns the new actions not yet announced (the first few
// IDs and how many in all) and forgets them.
func (p *PendingScreen) takeArrivals() ([]string, int) {
	ids, n := p.arrivals, p.arrivedN
	p.arrivals, p.arrivedN = nil, 0
	return ids, n
}

// expire drops the actions whose expiry has passed (unless a decision is
// in flight for them; an unknown expiry never passes) and returns them;
// in the same pass it returns the undecided actions that expire within
// warn and were not announced yet.
func (p *PendingScreen) expire(now time.Time, warn time.Duration) (gone, soon []*row) {
	t := now.UnixNano()
	gone = p.rows.removeWhere(func(r *row) bool {
		if r.inflight || r.decided() != "" || r.expires == math.MaxInt64 {
			return false
		}
		if t >= r.expires {
			return true
		}
		if warn > 0 && r.expires-t <= int64(warn) {
			if _, done := p.warned[r.action.ID]; !done {
				p.warned[r.action.ID] = struct{}{}
				soon = append(soon, r)
			}
		}
		return false
	})
	for _, r := range gone {
		delete(p.warned, r.action.ID)
	}
	if len(gone) > 0 {
		p.reselect()
	}
	return gone, soon
}
