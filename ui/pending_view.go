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
	"github.com/qapprove/qapprove/client"
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
		p.listX, p.listY, p.listW, p.listH = 0, 1, lw, h-1
		p.clampOffset()
		left := p.listLines(lw, h, now)
		right := p.detailBlock(dw, h, now)
		sep := st.Muted.Render("│")
		out = make([]string, h)
		for i := range h {
			out[i] = left[i] + sep + right[i]
		}
	} else {
		lh := max(3, min(len(p.rows.visible)+1, (h-1)/3+1))
		if len(p.rows.visible) == 0 {
			lh = min(h, 3)
		}
		p.listX, p.listY, p.listW, p.listH = 0, 1, w, lh-1
		p.clampOffset()
		out = append(p.listLines(w, lh, now), p.detailBlock(w, h-lh, now)...)
	}
	return strings.Join(out, "\n")
}

// listLines draws the list pane: a title line and the visible rows only.
func (p *PendingScreen) listLines(w, h int, now time.Time) []string {
	st := p.ctx.Styles
	lines := make([]string, 0, h)
	lines = append(lines, p.listTitle(w, st))
	vis := p.rows.visible
	if len(vis) == 0 {
		msg := "  No pending actions."
		if locked, _ := p.ctx.Backend.Locked(); locked && len(p.rows.sorted) == 0 {
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
	return fit(left+right, w)
}

// badge is the verdict as text of fixed width (never colour alone).
func badge(lvl string) string {
	switch lvl {
	case VerdictApprove:
		return "APPROVE"
	case VerdictReject:
		return "REJECT "
	}
	return "REVIEW "
}

func badgeStyle(st styles.Styles, lvl string) func(...string) string {
	switch lvl {
	case VerdictApprove:
		return st.BadgeApprove.Render
	case VerdictReject:
		return st.BadgeReject.Render
	}
	return st.BadgeReview.Render
}

// rowLine draws one action in exactly w cells.
func (p *PendingScreen) rowLine(r *row, sel bool, w int, now time.Time, st styles.Styles) string {
	it := r.item()
	a := it.Action
	lvl := level(it.Verdict)
	rest := max(w-31, 12)
	nw := max(4, rest*28/100)
	aw := max(4, rest*32/100)
	dw := max(4, rest-nw-aw)
	var network, amountCol, dest, wl, pol string
	if pl := a.Payload; pl != nil {
		pol = fmt.Sprintf("%d/%d", pl.Approvals, pl.Policy.Threshold)
		switch {
		case pl.Transaction != nil:
			tx := pl.Transaction
			network = clean(tx.Network.Name)
			amountCol = amountCell(tx, aw)
			dest = clean(tx.To)
			wl = "✗"
			if tx.Whitelisted {
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
	status := countdown(a.Expires.Sub(now))
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
	tail := " " + fit(network, nw) + " " + amountCol + " → " + middle(dest, dw) + " " + wl + " " + fitLeft(pol, 5) + " " + fitLeft(status, 8)
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
	maxScroll := max(0, len(body)-(h-1))
	p.scroll = min(p.scroll, maxScroll)
	for i := p.scroll; i < len(body) && len(out) < h; i++ {
		out = append(out, fit(" "+body[i], w))
	}
	blank := strings.Repeat(" ", w)
	for len(out) < h {
		out = append(out, blank)
	}
	if maxScroll > 0 && h > 1 {
		more := fmt.Sprintf(" ↓ %d more", len(body)-(h-1)-p.scroll)
		if p.scroll == maxScroll {
			more = " (end)"
		}
		out[h-1] = fit(st.Muted.Render(more), w)
	}
	return out
}

// detailLines is the readable content of one action, already wrapped to w.
func (p *PendingScreen) detailLines(r *row, w int, now time.Time) []string {
	st := p.ctx.Styles
	it := r.item()
	a := it.Action
	var out []string
	add := func(s string) { out = append(out, s) }
	field := func(label, value string) {
		lw := 11
		lines := hardWrap(value, max(8, w-lw))
		add(st.Label.Render(fit(label, lw)) + st.Value.Render(lines[0]))
		for _, l := range lines[1:] {
			add(strings.Repeat(" ", lw) + st.Value.Render(l))
		}
	}
	lvl := level(it.Verdict)
	add(badgeStyle(st, lvl)(" "+strings.TrimSpace(badge(lvl))+" ") + " " + st.Value.Render(clean(a.ID)))
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
	field("Action", kind+" · "+status)
	exp := a.Expires.Sub(now)
	field("Expires", "in "+countdown(exp)+" ("+a.Expires.UTC().Format("2006-01-02 15:04:05Z")+")")
	switch {
	case r.inflight:
		add(st.Warn.Render("Sending the decision…"))
	case it.Decided != "":
		add(st.Good.Render("Outcome: " + it.Decided))
	}
	if it.LastErr != "" {
		for _, l := range hardWrap("Failed: "+clean(it.LastErr), w) {
			add(st.Error.Render(l))
		}
	}
	add("")
	if p.showRaw {
		raw := p.raw
		switch {
		case raw.id != a.ID || !raw.done:
			add(st.Muted.Render("Loading the raw payload…"))
			return out
		case raw.err != "":
			add(st.Error.Render("Could not load the raw payload: " + clean(raw.err)))
			return out
		}
		add(st.Title.Render("Raw payload") + st.Muted.Render(fmt.Sprintf(" (%d bytes)", len(raw.data))))
		for _, l := range raw.lines {
			for _, wl := range hardWrap(l, w) {
				add(wl)
			}
		}
		return out
	}
	add(st.Title.Render("Verdict ") + badgeStyle(st, lvl)(strings.ToUpper(lvl)))
	if len(it.Verdict.Rules) == 0 {
		add(st.Muted.Render("  no rule fired (review by default)"))
	}
	for _, rh := range it.Verdict.Rules {
		for i, l := range hardWrapWords(fmt.Sprintf("%s → %s: %s", clean(rh.Name), clean(rh.Verdict), clean(rh.Reason)), w-4) {
			if i == 0 {
				add("  • " + l)
			} else {
				add("    " + l)
			}
		}
	}
	if ws := hygiene(&it); len(ws) > 0 {
		for _, wtext := range ws {
			for i, l := range hardWrapWords(clean(wtext), w-4) {
				if i == 0 {
					add(st.Warn.Render("  ⚠ " + l))
				} else {
					add(st.Warn.Render("    " + l))
				}
			}
		}
	}
	add("")
	if pl := a.Payload; pl != nil {
		if tx := pl.Transaction; tx != nil {
			add(st.Title.Render("Transfer"))
			field("Amount", amountText(tx))
			field("Base units", clean(tx.Amount)+" ("+strconv.Itoa(tx.Asset.Decimals)+" decimals)")
			if tx.Asset.Contract != "" {
				field("Contract", clean(tx.Asset.Contract))
			}
			net := clean(tx.Network.Name) + " · chain " + clean(tx.Network.ChainID)
			if tx.Network.Testnet {
				net += " · testnet"
			} else {
				net += " · MAINNET"
			}
			field("Network", net)
			field("From", clean(tx.From))
			field("To", clean(tx.To))
			if tx.Whitelisted {
				field("Whitelist", "✓ whitelisted "+strconv.Quote(clean(tx.ToName)))
			} else {
				add(st.Label.Render(fit("Whitelist", 11)) + st.Bad.Render("✗ NOT whitelisted"))
			}
			if tx.WalletID != "" {
				field("Wallet", clean(tx.WalletID))
			}
			if tx.InitiatorName != "" {
				field("Initiator", clean(tx.InitiatorName))
			}
			if tx.Note != "" {
				field("Note", clean(tx.Note))
			}
		}
		if ku := pl.KeyUpdate; ku != nil {
			add(st.Title.Render("API key update"))
			field("API key", clean(ku.APIKeyID))
			field("BLS pub", clean(ku.BLSPublicKey))
			field("EC pub", clean(ku.ECPublicKey))
		}
		add("")
		add(st.Title.Render("Policy"))
		pol := pl.Policy
		name := pl.PolicyName
		if name == "" {
			name = pol.Name
		}
		field("Name", clean(name))
		field("Threshold", fmt.Sprintf("%d of %d · %d approved so far", pol.Threshold, len(pol.Members), pl.Approvals))
	} else {
		add(st.Error.Render("Payload could not be decoded: " + clean(a.PayloadErr())))
	}
	add("")
	add(st.Title.Render("Message to sign"))
	if len(a.Messages) == 0 || len(a.Messages[0]) == 0 {
		add(st.Error.Render("  no message: this action cannot be signed"))
		return out
	}
	msg := a.Messages[0]
	sum := sha256.Sum256(msg)
	field("Bytes", strconv.Itoa(len(msg)))
	field("SHA-256", hex.EncodeToString(sum[:]))
	h := hex.EncodeToString(msg)
	for _, l := range hardWrap(h, max(8, w-2)) {
		add("  " + l)
	}
	return out
}

// rawLines is the raw payload, indented when it is JSON, bounded in size.
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
		s = strings.ToValidUTF8(string(raw), "?")
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	if cut {
		lines = append(lines, fmt.Sprintf("… cut at %d bytes", maxRawShown))
	}
	return lines
}

// hardWrapWords wraps plain text at spaces where it can, else hard.
func hardWrapWords(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, max(w, 8), ""), "\n")
}
