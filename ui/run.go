package ui

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/qapprove/qapprove/ui/styles"
)

// Program is the console ready to run. The UI installs no signal handler:
// its caller catches SIGINT, SIGTERM and SIGHUP and sends InterruptMsg
// (the console locks the key with reason "signal", then quits).
type Program struct {
	p   *tea.Program
	ctx context.Context
	b   Backend
}

// maxFPS is Bubble Tea's highest frame rate.
const maxFPS = 120

// NewProgram builds the console on b; it ends when the operator quits or
// ctx ends. NO_COLOR (any non-empty value) or opts.NoColor turns every
// colour off.
func NewProgram(ctx context.Context, b Backend, opts Options) *Program {
	if opts.Context == nil {
		opts.Context = ctx
	}
	// Bubble Tea writes a rendered frame at its next ticker tick: at the
	// default 60 per second a keypress waits 8 ms on average (up to 17)
	// before it shows; 120, the most it allows, halves that.
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithFPS(maxFPS)}
	if opts.NoColor || styles.NoColorEnv() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	return &Program{p: tea.NewProgram(New(b, opts), popts...), ctx: ctx, b: b}
}

// Run runs the console in the alternate screen. The key is locked on
// every exit (Backend.Lock("exit"), after the program ended: a no-op when
// the console already locked it).
func (p *Program) Run() error {
	defer p.b.Lock("exit")
	_, err := p.p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && p.ctx.Err() != nil {
		return p.ctx.Err()
	}
	return err
}

// Send delivers msg to the console (InterruptMsg on a signal); it may be
// called from any goroutine.
func (p *Program) Send(msg tea.Msg) { p.p.Send(msg) }

// Kill ends the console at once, without locking from the UI (the
// deferred lock of Run still runs).
func (p *Program) Kill() { p.p.Kill() }
