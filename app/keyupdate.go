package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// SignIn gets an API token (the key must be unlocked the first time) and
// then settles a key registration that was awaiting Admin Policy
// approval: the scripting commands call it before they read or decide.
func (e *Engine) SignIn(ctx context.Context) error {
	if err := e.cl.Token(ctx); err != nil {
		return err
	}
	e.settleRegistration(ctx)
	return nil
}

// settleRegistration re-reads a key update that was still pending after
// the proof-of-possession approval and, once the API shows it approved,
// records the key as registered (keystore and journal). A rejected update
// is reported and journaled; the key stays unregistered.
func (e *Engine) settleRegistration(ctx context.Context) {
	id := e.bundle.AwaitingAdmin
	if id == "" {
		return
	}
	a, err := e.cl.GetAction(ctx, id)
	if err != nil || a.Status == client.StatusPending {
		return
	}
	status := StatusRegistered
	if a.Status != client.StatusApproved {
		status = "key update " + client.StatusName(a.Status)
	}
	body := journal.KeyRegisteredBody{
		APIKeyID: e.bundle.APIKeyID, BLSPublicKey: hex.EncodeToString(e.pk[:]),
		ECPublicKey: e.bundle.ECPublicKey, ActionID: id, Status: status,
	}
	if e.sess.Locked() {
		return // the entry must be signed: settle at the next unlock
	}
	if _, err := e.jr.AppendSigned(journal.KindKeyRegistered, body, e.signer()); err != nil {
		e.emit(Notice{Text: "journal: " + err.Error()})
		return
	}
	b := *e.bundle
	b.AwaitingAdmin = ""
	if status == StatusRegistered {
		now := time.Now().UTC()
		b.Registered = &now
	}
	if err := secrets.SaveBundle(e.backend, e.opts.Profile, &b); err != nil {
		e.emit(Notice{Text: "the key update was decided but the keystore could not be updated: " + err.Error()})
		return
	}
	*e.bundle = b
	if status == StatusRegistered {
		e.emit(Notice{Text: "key registration approved under the Admin Policy: the key is registered"})
	} else {
		e.emit(Notice{Text: fmt.Sprintf("key registration action %s was not approved (%s): this key cannot approve", id, client.StatusName(a.Status))})
	}
}
