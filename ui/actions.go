package ui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
)

// Action is what a dialog asks the root model to do after a message: the
// dialog changes only itself; the root opens and closes dialogs, starts
// commands and talks to the backend.
type Action interface{ isAction() }

// ActionNone leaves the root nothing to do (the dialog may have changed
// itself: a hint, a typed character).
type ActionNone struct{}

// ActionCmd runs the dialog's own command (a spinner tick).
type ActionCmd struct{ Cmd tea.Cmd }

// ActionClose closes the dialog and shows Note in the footer ("" none).
type ActionClose struct{ Note string }

// ActionCancel closes the dialog, shows Note and journals Decision as
// abandoned with Why (through Backend.Abandon in a command).
type ActionCancel struct {
	Decision  app.Decision
	Why, Note string
}

// ActionAbandon journals Decision as abandoned with Why; the dialog stays
// open (a wrong typed confirmation, a reason too short).
type ActionAbandon struct {
	Decision app.Decision
	Why      string
}

// ActionContinue closes the dialog and asks for the confirmation of
// Decision (after its reason was given).
type ActionContinue struct{ Decision app.Decision }

// ActionConfirm closes the dialog and sends Decision (after checking again
// that it may be signed; a locked key asks for the passphrase first).
type ActionConfirm struct{ Decision app.Decision }

// ActionUnlock unlocks the key with Passphrase in a command; the root
// wipes Passphrase after the call and answers the dialog with
// unlockStartedMsg, unlockRefusedMsg and unlockDoneMsg.
type ActionUnlock struct{ Passphrase []byte }

// ActionQuit locks the key and quits.
type ActionQuit struct{}

func (ActionNone) isAction()     {}
func (ActionCmd) isAction()      {}
func (ActionClose) isAction()    {}
func (ActionCancel) isAction()   {}
func (ActionAbandon) isAction()  {}
func (ActionContinue) isAction() {}
func (ActionConfirm) isAction()  {}
func (ActionUnlock) isAction()   {}
func (ActionQuit) isAction()     {}
