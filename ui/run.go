package ui

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/qapprove/qapprove/ui/styles"
)

// Run runs the console in the alternate screen until the operator quits or
// ctx ends. SIGINT and SIGTERM lock the key (Backend.Lock("signal")) before
// quitting (SIGHUP too: the terminal went away), and the key is locked on every exit (Backend.Lock("exit")).
// NO_COLOR (any non-empty value) or opts.NoColor turns every colour off.
func Run(ctx context.Context, b Backend, opts Options) (err error) {
	defer b.Lock("exit")
	if opts.Context == nil {
		opts.Context = ctx
	}
	m := New(b, opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler()}
	if opts.NoColor || styles.NoColorEnv() {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	p := tea.NewProgram(m, popts...)

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sig:
			b.Lock("signal")
			p.Quit()
		case <-done:
		}
	}()

	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
