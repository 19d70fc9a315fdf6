// Package styles holds the one theme of the qapprove console: semantic
// lipgloss styles built for a light or a dark terminal background, or with
// no colour at all (NO_COLOR).
package styles

import (
	"os"

	"charm.land/lipgloss/v2"
)

// Styles are the semantic styles every part of the console draws with.
// Status is never shown by colour alone: every styled badge also carries text.
type Styles struct {
	NoColor bool

	Header    lipgloss.Style // top bar
	HeaderKey lipgloss.Style // labels inside the header
	Live      lipgloss.Style // connection live
	Warn      lipgloss.Style // reconnecting, warnings
	Bad       lipgloss.Style // offline, errors, reject
	Good      lipgloss.Style // unlocked, approve
	Muted     lipgloss.Style // secondary text
	Title     lipgloss.Style // section titles in the detail pane
	Label     lipgloss.Style // field labels in the detail pane
	Value     lipgloss.Style // field values
	Selected  lipgloss.Style // the selected row
	Decided   lipgloss.Style // rows already decided
	Tab       lipgloss.Style // inactive tab
	TabActive lipgloss.Style // active tab
	Footer    lipgloss.Style // key help line
	Error     lipgloss.Style // footer error line
	Note      lipgloss.Style // footer notice line
	Dialog    lipgloss.Style // dialog frame
	DialogHot lipgloss.Style // dialog frame for approvals against the verdict
	Border    lipgloss.Style // pane frame (unfocused)
	Focused   lipgloss.Style // pane frame (focused)

	BadgeApprove lipgloss.Style
	BadgeReview  lipgloss.Style
	BadgeReject  lipgloss.Style
}

// NoColorEnv reports whether the NO_COLOR environment variable asks for no
// colour: any non-empty value counts (no-color.org).
func NoColorEnv() bool { return os.Getenv("NO_COLOR") != "" }

// New builds the theme for a dark or light background; noColor drops every
// colour and keeps only bold, faint and reverse.
func New(isDark, noColor bool) Styles {
	if noColor {
		return plain()
	}
	ld := lipgloss.LightDark(isDark)
	var (
		fg      = ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3"))
		muted   = ld(lipgloss.Color("#57606a"), lipgloss.Color("#8b949e"))
		accent  = ld(lipgloss.Color("#0550ae"), lipgloss.Color("#79c0ff"))
		good    = ld(lipgloss.Color("#116329"), lipgloss.Color("#56d364"))
		warn    = ld(lipgloss.Color("#7d4e00"), lipgloss.Color("#e3b341"))
		bad     = ld(lipgloss.Color("#a40e26"), lipgloss.Color("#ff7b72"))
		barBg   = ld(lipgloss.Color("#d0d7de"), lipgloss.Color("#30363d"))
		selBg   = ld(lipgloss.Color("#ddf4ff"), lipgloss.Color("#1f3a5f"))
		onBadge = ld(lipgloss.Color("#ffffff"), lipgloss.Color("#0d1117"))
	)
	n := lipgloss.NewStyle
	return Styles{
		Header:       n().Foreground(fg).Background(barBg),
		HeaderKey:    n().Foreground(muted).Background(barBg),
		Live:         n().Foreground(good).Background(barBg).Bold(true),
		Warn:         n().Foreground(warn).Bold(true),
		Bad:          n().Foreground(bad).Bold(true),
		Good:         n().Foreground(good).Bold(true),
		Muted:        n().Foreground(muted),
		Title:        n().Foreground(accent).Bold(true),
		Label:        n().Foreground(muted),
		Value:        n().Foreground(fg),
		Selected:     n().Background(selBg).Bold(true),
		Decided:      n().Foreground(muted).Faint(true),
		Tab:          n().Foreground(muted).Padding(0, 1),
		TabActive:    n().Foreground(accent).Bold(true).Underline(true).Padding(0, 1),
		Footer:       n().Foreground(muted),
		Error:        n().Foreground(bad).Bold(true),
		Note:         n().Foreground(accent),
		Dialog:       n().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		DialogHot:    n().Border(lipgloss.ThickBorder()).BorderForeground(bad).Padding(0, 1),
		Border:       n().Border(lipgloss.NormalBorder()).BorderForeground(barBg),
		Focused:      n().Border(lipgloss.NormalBorder()).BorderForeground(accent),
		BadgeApprove: n().Foreground(onBadge).Background(good).Bold(true),
		BadgeReview:  n().Foreground(onBadge).Background(warn).Bold(true),
		BadgeReject:  n().Foreground(onBadge).Background(bad).Bold(true),
	}
}

func plain() Styles {
	n := lipgloss.NewStyle
	b := n().Bold(true)
	return Styles{
		NoColor:      true,
		Header:       n().Reverse(true),
		HeaderKey:    n().Reverse(true),
		Live:         n().Reverse(true).Bold(true),
		Warn:         b,
		Bad:          b,
		Good:         b,
		Muted:        n().Faint(true),
		Title:        b.Underline(true),
		Label:        n(),
		Value:        n(),
		Selected:     n().Reverse(true),
		Decided:      n().Faint(true),
		Tab:          n().Padding(0, 1),
		TabActive:    n().Bold(true).Underline(true).Padding(0, 1),
		Footer:       n(),
		Error:        b,
		Note:         n(),
		Dialog:       n().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		DialogHot:    n().Border(lipgloss.ThickBorder()).Padding(0, 1),
		Border:       n().Border(lipgloss.NormalBorder()),
		Focused:      n().Border(lipgloss.ThickBorder()),
		BadgeApprove: b,
		BadgeReview:  b,
		BadgeReject:  b,
	}
}
