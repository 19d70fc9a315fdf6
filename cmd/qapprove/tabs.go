package main

import (
	"fmt"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/journalview"
)

// The console hooks of console.go: the journal viewer as a tab, and the
// registration wizard when the profile has no key yet.
func init() {
	consoleExtraScreens = journalTab
	onboard = onboardWizard
}

// journalTab is the journal viewer of the active profile as a console tab.
// It follows the journal as decisions are appended, verifies against the
// profile's BLS public key and reads the current anchor at each
// verification.
func journalTab(env *Env) []func(*ui.Context) ui.Screen {
	opts := journalViewerOptions(env)
	opts.Follow = true
	return []func(*ui.Context) ui.Screen{
		func(c *ui.Context) ui.Screen { return journalview.New(c, opts) },
	}
}

// journalViewerOptions are the viewer options for the active profile: its
// journal, and when the keystore holds its bundle, the expected public key
// and the anchor.
func journalViewerOptions(env *Env) journalview.Options {
	paths := env.Paths()
	opts := journalview.Options{Path: paths.JournalFile(env.Profile)}
	be, _, err := secrets.OpenBackend(env.Keystore, paths)
	if err != nil {
		return opts
	}
	if b, err := secrets.LoadBundle(be, env.Profile); err == nil {
		if pk, err := b.BLSPublic(); err == nil {
			opts.ExpectedPublicKey = &pk
		}
	}
	anchors := app.Anchors(be, env.Profile)
	opts.LoadAnchor = func() (*journal.Anchor, error) { return anchors.Load() }
	opts.RequireAnchor = true
	return opts
}

// onboardWizard runs the registration wizard when the console finds no
// key for the profile; exitOK lets the console open on the new key.
func onboardWizard(env *Env) int {
	if !stdinIsTerminal(env.Stdin) {
		return env.Errf(exitUsage, "profile %s has no key: run qapprove --profile %s keys register (or keys register --non-interactive for scripts)", env.Profile, env.Profile)
	}
	fmt.Fprintf(env.Stderr, "qapprove: profile %s has no key yet: starting the registration wizard\n", env.Profile)
	return runKeysRegister(env, registerOptions{})
}
