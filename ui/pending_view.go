package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/ui/safetext"
	"github.com/qapprove/qapprove/ui/styles"
)

// wideLayout is the width from which list and detail sit side by side.
const wideLayout = 150

// maxRawShown bounds the raw payload drawn in the detail pane.
const maxRawShown = 64 << 10

// View implements Screen: the list and the detail pane in exactly
// width × height cells.
func (p *PendingScreen) View() string {
	w, h := p.width, p.height
	if w < 10 || h < 3 {
		return ""
	}
	st := p.ctx.Styles
	now := p.ctx.Now()
	var out []string
	if w >= wideLayout {
		lw := w * 11 / 20
		dw := w - lw - 1
		p.listX, p.listY, p.listW, p.listH = 0, 2, lw, h-2
		p.clampOffset()
		left := p.listLines(lw, h, now)
		right := p.detailBlock(dw, h, now)
		sep := st.Muted.Render("│")
		out = make([]string, h)
		for i := range h {
			out[i] = left[i] + sep + right[i]
		}
	} else {
		lh := max(4, min(len(p.rows.visible)+2, (h-1)/3+2))
		if len(p.rows.visible) == 0 {
			lh = min(h, 3)
		}
		p.listX, p.listY, p.listW, p.listH = 0, 2, w, lh-2
		p.clampOffset()
		out = append(p.listLines(w, lh, now), p.detailBlock(w, h-lh, now)...)
	}
	return strings.Join(out, "\n")
}

// listLines draws the list pane: a title line, the column headers and the
// visible rows only.
func (p *PendingScreen) listLines(w, h int, now time.Time) []string {
	st := p.ctx.Styles
	lines := make([]string, 0, h)
	lines = append(lines, p.listTitle(w, st))
	vis := p.rows.visible
	if len(vis) > 0 {
		lines = append(lines, st.Muted.Render(columnHeads(w, p.priced)))
	} else {
		msg := "  No pending actions."
		if p.locked && len(p.rows.sorted) == 0 {
			msg = "  No pending actions known yet: press u to unlock, connect and load them."
		}
		if p.rows.query != "" || p.filterOn {
			msg = "  No action matches the filter."
		}
		lines = append(lines, st.Muted.Render(fit(msg, w)))
	}
	for i := p.offset; i < len(vis) && len(lines) < h; i++ {
		lines = append(lines, p.rowLine(vis[i], i == p.cursor, w, now, st))
	}
	blank := strings.Repeat(" ", w)
	for len(lines) < h {
		lines = append(lines, blank)
	}
	return lines
}

func (p *PendingScreen) listTitle(w int, st styles.Styles) string {
	title := "Pending"
	if p.focus == focusList {
		title = "▌Pending"
	}
	info := fmt.Sprintf(" %d", len(p.rows.sorted))
	if p.rows.query != "" || p.filterOn {
		info = fmt.Sprintf(" %d of %d", len(p.rows.visible), len(p.rows.sorted))
	}
	info += " · sort " + sortNames[p.rows.sort]
	if p.cached {
		info += " · cached"
	}
	left := st.Title.Render(title) + st.Muted.Render(info)
	var right string
	switch {
	case p.filterOn:
		fw := max(8, w-ansi.StringWidth(left)-4)
		right = " /" + p.filter.View(min(fw, 30))
	case p.rows.query != "":
		right = " filter: " + clean(p.rows.query)
	}
	if below := len(p.rows.visible) - p.offset - p.listH; below > 0 && !p.filterOn {
		more := fmt.Sprintf("%d more below ↓", below)
		if gap := w - ansi.StringWidth(left+right); gap > len(more)+2 {
			right += st.Muted.Render(fitLeft(more, gap))
		}
	}
	return fit(left+right, w)
}

// rowCols are the widths of the flexible columns of a list row w cells
// wide: network, amount and destination, and the value in fiat (0 when
// the list has no value column).
func rowCols(w int, priced bool) (nw, aw, dw, vw int) {
	if priced {
		vw = 12
		if w >= 120 {
			vw = 14
		}
	}
	rest := max(w-31-vw-min(vw, 1), 12)
	nw = max(4, rest*28/100)
	aw = max(4, rest*32/100)
	dw = max(4, rest-nw-aw)
	return nw, aw, dw, vw
}

// columnHeads is the header line over the list rows (see rowLine).
func columnHeads(w int, priced bool) string {
	nw, aw, dw, vw := rowCols(w, priced)
	value := ""
	if vw > 0 {
		value = fitLeft("value", vw) + " "
	}
	return fit("  verdict "+fit("network", nw)+" "+fitLeft("amount", aw)+" "+value+"  "+fit("destination", dw)+" wl "+fitLeft("appr", 4)+" "+fitLeft("expires", 8), w)
}

// badge is the verdict as text of fixed width (never colour alone).
func badge(lvl app.Level) string {
	switch lvl {
	case app.VerdictApprove:
		return "APPROVE"
	case app.VerdictReject:
		return "REJECT "
	}
	return "REVIEW "
}

func badgeStyle(st styles.Styles, lvl app.Level) func(...string) string {
	switch lvl {
	case app.VerdictApprove:
		return st.BadgeApprove.Render
	case app.VerdictReject:
		return st.BadgeReject.Render
	}
	return st.BadgeReview.Render
}

// rowLine draws one action in exactly w cells.
func (p *PendingScreen) rowLine(r *row, sel bool, w int, now time.Time, st styles.Styles) string {
	it := r.item()
	a := it.Action
	lvl := level(it.Verdict)
	nw, aw, dw, vw := rowCols(w, p.priced)
	var network, amountCol, dest, wl, pol string
	if pl := a.Payload; pl != nil {
		if pl.Policy != nil && pl.Policy.Threshold > 0 {
			pol = fmt.Sprintf("%d/%d", pl.Approvals, pl.Policy.Threshold)
		}
		switch {
		case pl.Transaction != nil:
			tx := pl.Transaction
			network = netLabel(tx.Network)
			amountCol = amountCell(tx, aw)
			dest, wl = clean(tx.To), "✗"
			switch {
			case tx.To == "":
				dest, wl = "—", "?"
			case tx.Whitelisted:
				wl = "✓"
			}
		case pl.KeyUpdate != nil:
			network, amountCol, dest, wl = "key update", fitLeft("API key", aw), clean(pl.KeyUpdate.APIKeyID), " "
		default:
			amountCol = fitLeft("", aw)
		}
	} else {
		network, amountCol, dest, wl = "?", fitLeft("undecodable", aw), clean(a.ID), "?"
	}
	status := "unknown"
	if a.ExpiryKnown() {
		status = countdown(a.Expires.Sub(now))
	}
	switch {
	case r.inflight:
		status = "sending…"
	case it.Decided != "":
		status = it.Decided
	case it.LastErr != "":
		status = "! failed"
	}
	mark := "  "
	if sel {
		mark = "▸ "
	}
	value := ""
	if vw > 0 {
		value = " " + valueCell(it.Verdict.Value, now, vw)
	}
	tail := " " + fit(network, nw) + " " + amountCol + value + " → " + middle(dest, dw) + " " + wl + " " + fitLeft(pol, 5) + " " + fitLeft(status, 8)
	switch {
	case sel:
		return st.Selected.Render(fit(mark+badge(lvl)+tail, w))
	case it.Decided != "":
		return st.Decided.Render(fit(mark+badge(lvl)+tail, w))
	}
	return mark + badgeStyle(st, lvl)(badge(lvl)) + fit(tail, w-9)
}

// detailBlock draws the detail pane in exactly w × h cells.
func (p *PendingScreen) detailBlock(w, h int, now time.Time) []string {
	st := p.ctx.Styles
	title := "Detail"
	if p.focus == focusDetail {
		title = "▌Detail"
	}
	hint := " p raw payload"
	if p.showRaw {
		hint = " p decoded view"
	}
	out := make([]string, 0, h)
	out = append(out, fit(st.Title.Render(title)+st.Muted.Render(hint), w))
	var body []string
	if r := p.selected(); r != nil {
		body = p.detailLines(r, w-1, now)
	} else {
		body = []string{st.Muted.Render("Nothing selected.")}
	}
	// When the body does not fit, the last line is the scroll marker and
	// never takes the place of content: every line can be scrolled to.
	rows := h - 1
	over := len(body) > rows && h > 2
	if over {
		rows = h - 2
	}
	maxScroll := max(0, len(body)-rows)
	p.scroll = min(p.scroll, maxScroll)
	for i := p.scroll; i < len(body) && len(out) < 1+rows; i++ {
		out = append(out, fit(" "+body[i], w))
	}
	blank := strings.Repeat(" ", w)
	for len(out) < 1+rows {
		out = append(out, blank)
	}
	if over {
		more := fmt.Sprintf(" %d more below ↓", len(body)-rows-p.scroll)
		if p.focus != focusDetail {
			more += " (tab, then j/k to scroll)"
		}
		if p.scroll == maxScroll {
			more = " (end)"
		}
		out = append(out, fit(st.Muted.Render(more), w))
	}
	return out
}

// detail collects the wrapped lines of the detail pane.
type detail struct {
	st  styles.Styles
	w   int
	out []string
}

func (d *detail) add(s string) { d.out = append(d.out, s) }

// field adds a labelled value, wrapped in full under its label.
func (d *detail) field(label, value string) {
	const lw = 11
	lines := hardWrap(value, max(8, d.w-lw))
	d.add(d.st.Label.Render(fit(label, lw)) + d.st.Value.Render(lines[0]))
	for _, l := range lines[1:] {
		d.add(strings.Repeat(" ", lw) + d.st.Value.Render(l))
	}
}

// words adds text wrapped at spaces, the first line after lead and the
// others indented as far, each drawn with style.
func (d *detail) words(lead, text string, style func(...string) string) {
	pad := strings.Repeat(" ", ansi.StringWidth(lead))
	for i, l := range hardWrapWords(text, d.w-len([]rune(pad))) {
		if i == 0 {
			d.add(style(lead + l))
		} else {
			d.add(style(pad + l))
		}
	}
}

// block adds lines (already safe) wrapped in full at the pane's width.
func (d *detail) block(lines []string) {
	for _, l := range lines {
		for _, wl := range hardWrap(l, d.w) {
			d.add(wl)
		}
	}
}

// detailLines is the readable content of one action, already wrapped to w.
func (p *PendingScreen) detailLines(r *row, w int, now time.Time) []string {
	st := p.ctx.Styles
	it := r.item()
	a := it.Action
	d := &detail{st: st, w: w}
	lvl := level(it.Verdict)
	d.add(badgeStyle(st, lvl)(" "+strings.TrimSpace(badge(lvl))+" ") + " " + st.Value.Render(clean(a.ID)))
	kind := "transaction"
	switch a.Type {
	case client.TypeAPIKeyUpdate:
		kind = "API key update"
	case client.TypeTransaction:
	default:
		kind = "type " + strconv.Itoa(a.Type)
	}
	status := "pending"
	if a.Status != client.StatusPending {
		status = "status " + strconv.Itoa(a.Status)
	}
	d.field("Action", kind+" · "+status)
	if desc := a.Description(); desc != "" {
		d.field("About", clean(desc))
	}
	if a.ExpiryKnown() {
		d.field("Expires", expiresText(a, now)+" ("+a.Expires.UTC().Format("2006-01-02 15:04:05Z")+")")
	} else {
		d.field("Expires", "expiry unknown (the API did not say)")
	}
	switch {
	case r.inflight:
		d.add(st.Warn.Render("Sending the decision…"))
	case it.Decided != "":
		d.add(st.Good.Render("Outcome: " + it.Decided))
	}
	if it.LastErr != "" {
		for _, l := range hardWrap("Failed: "+clean(it.LastErr), w) {
			d.add(st.Error.Render(l))
		}
	}
	d.add("")
	if p.showRaw {
		p.rawDetail(d, a)
		return d.out
	}
	p.verdictDetail(d, &it)
	d.add("")
	p.payloadDetail(d, &it, now)
	d.add("")
	d.add(st.Title.Render("Message to sign"))
	if len(a.Messages) == 0 || len(a.Messages[0]) == 0 {
		d.add(st.Error.Render("  no message: this action cannot be signed"))
		return d.out
	}
	bt, bad := bindingText(a.Binding)
	if bad {
		d.words("", bt, st.Bad.Render)
	} else {
		d.words("", bt, st.Muted.Render)
	}
	msg := a.Messages[0]
	d.field("Bytes", strconv.Itoa(len(msg)))
	d.field("SHA-256", messageSHA256(a))
	for _, l := range hardWrap(hex.EncodeToString(msg), max(8, w-2)) {
		d.add("  " + l)
	}
	return d.out
}

// rawDetail adds the raw payload as the API sent it.
func (p *PendingScreen) rawDetail(d *detail, a *client.Action) {
	st := d.st
	raw := p.raw
	switch {
	case raw.id != a.ID || !raw.done:
		d.add(st.Muted.Render("Loading the raw payload…"))
		return
	case raw.err != "":
		d.words("", "Could not load the raw payload: "+clean(raw.err), st.Error.Render)
		return
	}
	d.add(st.Title.Render("Raw payload") + st.Muted.Render(fmt.Sprintf(" (%d bytes)", len(raw.data))))
	d.block(raw.lines)
}

// verdictDetail adds the verdict, the rules that fired and the warnings.
func (p *PendingScreen) verdictDetail(d *detail, it *app.Item) {
	st := d.st
	lvl := level(it.Verdict)
	d.add(st.Title.Render("Verdict ") + badgeStyle(st, lvl)(strings.ToUpper(string(lvl))))
	if len(it.Verdict.Rules) == 0 {
		d.add(st.Muted.Render("  no rule fired (review by default)"))
	}
	for _, rh := range it.Verdict.Rules {
		d.words("  • ", fmt.Sprintf("%s → %s: %s", clean(rh.Name), clean(string(rh.Verdict)), clean(rh.Reason)), st.Value.Render)
	}
	for _, wtext := range hygiene(it) {
		if strings.HasPrefix(wtext, governance.WarnUnreachable) {
			continue // shown with the people who approved
		}
		d.words("  ⚠ ", clean(wtext), st.Warn.Render)
	}
	if sc := it.Verdict.StrongConfirm; sc != "" {
		d.words("  ⚠ ", "strong confirmation: "+clean(sc), st.Warn.Render)
	}
}

// payloadDetail adds the decoded payload: transfer, its value and
// contract call, key update, policy and who approved; a payload that is
// not understood is also shown pretty-printed in full.
func (p *PendingScreen) payloadDetail(d *detail, it *app.Item, now time.Time) {
	st := d.st
	a := it.Action
	perr := a.PayloadErr()
	if pl := a.Payload; pl != nil {
		if tx := pl.Transaction; tx != nil {
			transferDetail(d, tx, it.Verdict.Value, now)
			if c := it.Verdict.Call; c != nil {
				d.add("")
				callDetail(d, c, tx)
			}
		}
		if ku := pl.KeyUpdate; ku != nil {
			d.add(st.Title.Render("API key update"))
			d.field("API key", clean(ku.APIKeyID))
			d.field("BLS pub", clean(ku.BLSPublicKey))
			d.field("EC pub", clean(ku.ECPublicKey))
		}
		d.add("")
		d.add(st.Title.Render("Policy"))
		d.field("Name", policyText(pl))
		if pol := pl.Policy; pol != nil && len(pol.Members) > 0 {
			ms := make([]string, len(pol.Members))
			for i, m := range pol.Members {
				ms[i] = clean(m)
			}
			d.field("Members", strings.Join(ms, ", "))
		}
		peopleDetail(d, app.PeopleOf(a), unreachable(it.Verdict), now)
	} else if perr == "" && !a.HasPayload() {
		d.add(st.Muted.Render("No payload: the API sent only the message to sign."))
	}
	notUnderstood := strings.HasPrefix(perr, "not understood")
	switch {
	case notUnderstood:
		d.add("")
		d.words("", "Payload not understood: "+clean(strings.TrimPrefix(strings.TrimPrefix(perr, "not understood"), ": ")), st.Warn.Render)
	case perr != "":
		d.words("", "Payload could not be decoded: "+clean(perr), st.Error.Render)
	}
	if notUnderstood || (a.Payload == nil && perr != "") {
		if raw := a.RawPayload(); len(raw) > 0 {
			d.add(st.Muted.Render("The payload as received:"))
			d.block(p.pretty.lines(a.ID, raw))
		} else {
			d.add(st.Muted.Render("Press p to see the payload as received."))
		}
	}
}

// transferDetail adds what a transfer moves, from where to where; fields
// the payload does not carry are left out (an amount or a destination
// that is missing is said so).
func transferDetail(d *detail, tx *client.Transaction, v *app.Value, now time.Time) {
	st := d.st
	d.add(st.Title.Render("Transfer"))
	d.field("Amount", amountText(tx))
	if v != nil {
		if valueTrouble(v) {
			d.words(fit("Value", 11), valueText(v, now), st.Warn.Render)
		} else {
			d.field("Value", valueText(v, now))
		}
	}
	if tx.Amount != "" {
		d.field("Base units", clean(tx.Amount)+" ("+strconv.Itoa(decimals(tx))+" decimals)")
	}
	if tx.Asset != nil && tx.Asset.Contract != "" {
		d.field("Contract", clean(tx.Asset.Contract))
	}
	if n := tx.Network; n != nil {
		net := netLabel(n)
		if n.Name != "" && n.ChainID != "" {
			net += " · chain " + clean(n.ChainID)
		}
		if n.Name != "" || n.Family != "" {
			if n.Testnet {
				net += " · testnet"
			} else {
				net += " · MAINNET"
			}
		}
		d.field("Network", net)
	}
	if tx.From != "" {
		d.field("From", clean(tx.From))
	}
	if tx.To == "" {
		d.field("To", "not in the payload")
	} else {
		d.field("To", clean(tx.To))
		if tx.Whitelisted {
			d.field("Whitelist", "✓ whitelisted "+strconv.Quote(clean(tx.ToName)))
		} else {
			d.add(st.Label.Render(fit("Whitelist", 11)) + st.Bad.Render("✗ NOT whitelisted"))
		}
	}
	for _, f := range [][2]string{{"Wallet", tx.WalletID}, {"Initiator", tx.InitiatorName}, {"Note", tx.Note}} {
		if f[1] != "" {
			d.field(f[0], clean(f[1]))
		}
	}
}

// prettyCache keeps the pretty-printed payload of one action, so a
// not-understood payload is not indented again on every frame.
type prettyCache struct {
	id  string
	sum [32]byte
	out []string
}

func (c *prettyCache) lines(id string, raw []byte) []string {
	sum := sha256.Sum256(raw)
	if c.id != id || c.sum != sum {
		*c = prettyCache{id: id, sum: sum, out: rawLines(raw)}
	}
	return c.out
}

// rawLines is the raw payload, indented when it is JSON, bounded in size,
// made safe (safetext.Text: newlines kept, tabs as spaces).
func rawLines(raw []byte) []string {
	if len(raw) == 0 {
		return []string{"(no payload)"}
	}
	cut := len(raw) > maxRawShown
	if cut {
		raw = raw[:maxRawShown]
	}
	var buf bytes.Buffer
	var s string
	if !cut && json.Indent(&buf, raw, "", "  ") == nil {
		s = buf.String()
	} else {
		s = string(raw)
	}
	s = strings.ReplaceAll(safetext.Text(s), "\t", "    ")
	lines := strings.Split(s, "\n")
	if cut {
		lines = append(lines, fmt.Sprintf("… cut at %d bytes", maxRawShown))
	}
	return lines
}

// hardWrapWords wraps plain text at spaces where it can, else hard.
func hardWrapWords(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, max(w, 8), ""), "\n")
}
