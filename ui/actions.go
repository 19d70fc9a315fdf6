package ui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
)

// Action is what a dialog asks the root model to do after a message: the
// dialog changes only itself; the root opens and closes dialogs, starts
// commands and talks to the backend.
type Action interface{ isAction() }

// ActionNone: nothing for the root to do (the dialog may have changed
// itself: a hint, a typed character).
type ActionNone struct{}

// ActionCmd: run the dialog's own command (a spinner tick).
type ActionCmd struct{ Cmd tea.Cmd }

// ActionClose: close the dialog and show Note in the footer ("" none).
type ActionClose struct{ Note string }

// ActionCancel: close the dialog, show Note and journal Decision as
// abandoned with Why (through Backend.Abandon in a command).
type ActionCancel struct {
	Decision  app.Decision
	Why, Note string
}

// ActionAbandon: journal Decision as abandoned with Why; the dialog stays
// open (a wrong typed confirmation, a reason too short).
type ActionAbandon struct {
	Decision app.Decision
	Why      string
}

// ActionContinue: close the dialog and ask for the confirmation of
// Decision (after its reason was given).
type ActionContinue struct{ Decision app.Decision }

// ActionConfirm: close the dialog and send Decision (after checking again
// that it may be signed; a locked key asks for the passphrase first).
type ActionConfirm struct{ Decision app.Decision }

// ActionUnlock: unlock the key with Passphrase in a command; the root
// wipes Passphrase after the call and answers the dialog with
// unlockStartedMsg, unlockRefusedMsg and unlockDoneMsg.
type ActionUnlock struct{ Passphrase []byte }

// ActionQuit: lock the key and quit.
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
