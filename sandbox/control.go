package sandbox

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// ActionInfo is a snapshot of an action for tests.
type ActionInfo struct {
	ID        string
	Type      int
	Status    int
	Threshold int
	Approvals int
	Expires   time.Time
	Message   []byte
	Decisions map[string]int // API key ID → StatusApproved / StatusRejected
	Signers   []string       // API key IDs in decision order
	Members   []string       // policy members (API key IDs)
	Payload   []byte         // payload bytes exactly as sent (nil for a key update in minimal mode)
	// AwaitingAdmin: a key update whose proof of possession is in and
	// which waits for an admin (ApproveKeyUpdate).
	AwaitingAdmin bool
}

// Action returns a snapshot of action id.
func (s *Server) Action(id string) (ActionInfo, bool) {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	a, ok := s.ws.actions[id]
	if !ok {
		return ActionInfo{}, false
	}
	info := ActionInfo{ID: a.id, Type: a.typ, Status: a.status, Threshold: a.pol.threshold, Approvals: a.approvals(),
		Expires: a.expires, Message: append([]byte(nil), a.message...), Decisions: map[string]int{},
		Signers: append([]string(nil), a.signers...), Members: append([]string(nil), a.pol.members...),
		Payload: append([]byte(nil), a.payload...), AwaitingAdmin: a.keyUpdate && a.status == StatusPending && a.proven() && !a.adminOK}
	for k, v := range a.decisions {
		info.Decisions[k] = v
	}
	return info, true
}

// ActionIDs lists every action ID in creation order.
func (s *Server) ActionIDs() []string {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	var ids []string
	for _, a := range s.ws.sorted("", 0) {
		ids = append(ids, a.id)
	}
	return ids
}

// AddAction creates a pending transaction action and announces it on the
// feed. The spec's wallet and asset are scenario IDs.
func (s *Server) AddAction(spec ActionSpec) (string, error) {
	s.ws.mu.Lock()
	a, err := s.ws.txAction(spec, s.now())
	s.ws.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.announce(a)
	return a.id, nil
}

// ExpireAction makes a pending action expire now (in minimal mode its
// status stays 1; it is no longer replayed and cannot be decided).
func (s *Server) ExpireAction(id string) error {
	s.ws.mu.Lock()
	a, ok := s.ws.actions[id]
	if ok && a.status == StatusPending {
		a.expires = s.now()
		s.ws.expiryChanged(a.expires)
		s.ws.expire(a.expires)
	}
	s.ws.mu.Unlock()
	if !ok {
		return fmt.Errorf("no action %s", id)
	}
	s.publish(a)
	return nil
}

// DecideAsOther makes the first simulated policy member who has not decided
// approve or reject the action, with a real BLS signature checked like any
// other ("decided elsewhere").
func (s *Server) DecideAsOther(id string, approve bool) error {
	st := StatusRejected
	if approve {
		st = StatusApproved
	}
	s.ws.mu.Lock()
	a, ok := s.ws.actions[id]
	var err error
	changed := false
	if !ok {
		err = fmt.Errorf("no action %s", id)
	} else {
		err = errors.New("no simulated member of this action's policy is left to decide")
		for _, m := range a.pol.members {
			k := s.ws.keys[m]
			if _, done := a.decisions[m]; done || k == nil || k.sim == nil {
				continue
			}
			sig := k.sim.Sign(a.message)
			changed, err = s.ws.decide(m, id, st, []string{hex.EncodeToString(sig[:])}, s.now())
			break
		}
	}
	s.ws.mu.Unlock()
	if changed {
		s.publish(a)
	}
	return err
}

// scheduleCoApprovers lets simulated members approve after the configured
// delay, one at a time, until the threshold is met.
func (s *Server) scheduleCoApprovers(id string) {
	d := s.opts.CoApproverDelay
	if d <= 0 {
		return
	}
	t := time.AfterFunc(d, func() {
		if err := s.DecideAsOther(id, true); err == nil {
			if info, ok := s.Action(id); ok && info.Status == StatusPending {
				s.scheduleCoApprovers(id)
			}
		}
	})
	s.mu.Lock()
	s.timers = append(s.timers, t)
	s.mu.Unlock()
}

// SetOperatorBLSKey registers pk as the operator's BLS key directly (tests
// and the demo that do not exercise the registration flow).
func (s *Server) SetOperatorBLSKey(pk qbls.PublicKey) {
	s.ws.mu.Lock()
	s.ws.keys[s.ws.operator].bls = &pk
	s.ws.mu.Unlock()
}

// OperatorRegistered reports whether the operator has a BLS key.
func (s *Server) OperatorRegistered() bool {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return s.ws.keys[s.ws.operator].bls != nil
}

// scheduleAdmin lets an admin approve a proven key update after
// Options.AdminApproveAfter (never when 0).
func (s *Server) scheduleAdmin(id string) {
	d := s.opts.AdminApproveAfter
	if d <= 0 {
		return
	}
	t := time.AfterFunc(d, func() {
		// The action may have been decided or expired meanwhile: nothing to do.
		_ = s.ApproveKeyUpdate(id)
	})
	s.mu.Lock()
	s.timers = append(s.timers, t)
	s.mu.Unlock()
}

// ApproveKeyUpdate is an admin's approval of key-update action id under
// the Admin Policy: the keys are registered once the proof of possession
// is in too.
func (s *Server) ApproveKeyUpdate(id string) error { return s.adminDecide(id, true) }

// RejectKeyUpdate is an admin's rejection of key-update action id.
func (s *Server) RejectKeyUpdate(id string) error { return s.adminDecide(id, false) }

func (s *Server) adminDecide(id string, approve bool) error {
	s.ws.mu.Lock()
	a, err := s.ws.adminDecide(id, approve)
	s.ws.mu.Unlock()
	if err == nil {
		s.publish(a)
	}
	return err
}

// ApproveKeyUpdates approves every key update awaiting an admin and
// returns their IDs.
func (s *Server) ApproveKeyUpdates() []string {
	s.ws.mu.Lock()
	var ids []string
	for _, a := range s.ws.order {
		if a.keyUpdate && a.status == StatusPending && a.proven() && !a.adminOK {
			ids = append(ids, a.id)
		}
	}
	s.ws.mu.Unlock()
	var done []string
	for _, id := range ids {
		if s.ApproveKeyUpdate(id) == nil {
			done = append(done, id)
		}
	}
	return done
}
