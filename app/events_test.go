package app

import (
	"fmt"
	"testing"
	"time"
)

// next reads one event, failing the test if none comes.
func next(t *testing.T, o *outbox) Event {
	t.Helper()
	select {
	case ev := <-o.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event delivered")
		return nil
	}
}

// A full channel loses no state event: they arrive later, in order;
// notices are dropped meanwhile, and the next one says how many.
func TestOutboxDeliversStateEventsWhenFull(t *testing.T) {
	o := newOutbox(4, func() []Item { return nil })
	defer o.close()
	for i := range 4 {
		o.emit(Notice{Text: fmt.Sprint("fill ", i)})
	}
	for i := range 10 {
		o.emit(ActionRemoved{ID: fmt.Sprint(i), Why: RemovedExpired})
		o.emit(Notice{Text: "lost"})
	}
	o.emit(LockChanged{Locked: true, Reason: "idle"})
	o.emit(Conn{State: ConnOffline})
	for i := range 4 {
		if ev := next(t, o); ev != (Notice{Text: fmt.Sprint("fill ", i)}) {
			t.Fatalf("event %d: %#v", i, ev)
		}
	}
	for i := range 10 {
		if ev := next(t, o); ev != (ActionRemoved{ID: fmt.Sprint(i), Why: RemovedExpired}) {
			t.Fatalf("removal %d: got %#v", i, ev)
		}
	}
	if ev := next(t, o); ev != (LockChanged{Locked: true, Reason: "idle"}) {
		t.Fatalf("lock change: got %#v", ev)
	}
	if ev := next(t, o); ev != (Conn{State: ConnOffline}) {
		t.Fatalf("connection: got %#v", ev)
	}
	// Once the pump is done, a notice gets through with the count.
	waitPumped(o)
	o.emit(Notice{Text: "hello"})
	if ev := next(t, o); ev != (Notice{Text: "10 notices dropped (the console was behind)"}) {
		t.Fatalf("dropped count: got %#v", ev)
	}
	if ev := next(t, o); ev != (Notice{Text: "hello"}) {
		t.Fatalf("notice: got %#v", ev)
	}
}

// An overflow past its bound folds its list events into one ActionsLoaded
// of the current list; the other state events keep their order.
func TestOutboxFoldsLongOverflow(t *testing.T) {
	current := []Item{{LastErr: "the current list"}}
	o := newOutbox(1, func() []Item { return current })
	defer o.close()
	o.max = 5
	o.emit(Notice{Text: "fill"})
	o.mu.Lock() // hold the pump back while the overflow grows
	o.overflow = append(o.overflow, LockChanged{Locked: true})
	for i := range 10 {
		o.overflow = append(o.overflow, ActionRemoved{ID: fmt.Sprint(i)})
	}
	o.pumping = true
	o.mu.Unlock()
	go o.pump()
	if ev := next(t, o); ev != (Notice{Text: "fill"}) {
		t.Fatalf("got %#v", ev)
	}
	l, ok := next(t, o).(ActionsLoaded)
	if !ok || len(l.Items) != 1 || l.Items[0].LastErr != "the current list" {
		t.Fatalf("no ActionsLoaded of the current list: %#v", l)
	}
	if ev := next(t, o); ev != (LockChanged{Locked: true}) {
		t.Fatalf("got %#v", ev)
	}
	waitPumped(o)
	if len(o.ch) != 0 {
		t.Fatalf("an event after the folded list: %#v", <-o.ch)
	}
}

// waitPumped waits until the pump has moved the whole overflow.
func waitPumped(o *outbox) {
	for {
		o.mu.Lock()
		done := !o.pumping
		o.mu.Unlock()
		if done {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
