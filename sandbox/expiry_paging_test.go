package sandbox

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// expire skips its scan until the earliest pending expiry; it must still
// expire every action at its time, in any order of expiries, and catch
// expiries lowered later (ExpireAction).
func TestExpireAtEachActionsTime(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, _ := startT(t, Options{ExtraActions: 200, Now: clock})
	s.ws.mu.Lock()
	var pending []*action
	for _, a := range s.ws.order {
		if a.status == StatusPending {
			pending = append(pending, a)
		}
	}
	s.ws.mu.Unlock()
	forced := pending[len(pending)/2]
	if err := s.ExpireAction(forced.id); err != nil {
		t.Fatal(err)
	}
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	if forced.status != StatusExpired {
		t.Fatal("ExpireAction did not expire the action")
	}
	times := []time.Time{}
	for _, a := range pending {
		if a != forced {
			times = append(times, a.expires)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for _, at := range []time.Time{times[0].Add(-time.Millisecond), times[0], times[len(times)/3], times[len(times)-1].Add(-time.Millisecond), times[len(times)-1]} {
		s.ws.expire(at)
		for _, a := range pending {
			if want := a == forced || !at.Before(a.expires); (a.status == StatusExpired) != want {
				t.Fatalf("at %v: action expiring at %v has status %d", at, a.expires, a.status)
			}
		}
	}
}

// A decision between two pages neither skips nor repeats an action: the
// page token is a position in the creation order, not a count.
func TestListPagesStableAcrossDecisions(t *testing.T) {
	s, base := startT(t, Options{ExtraActions: 120})
	wid, kid, _ := s.Credentials()
	tok := s.tok.issue(kid, wid, time.Now(), time.Minute)
	want := pendingIDs(s, kid)
	page := func(next string) (ids []string, token string) {
		u := base + "/workspaces/" + wid + "/actions?status=1&pageSize=25"
		if next != "" {
			u += "&pageToken=" + next
		}
		r := get(t, u, tok)
		var p struct {
			Actions       []struct{ ID string } `json:"actions"`
			NextPageToken string                `json:"nextPageToken"`
		}
		if r.StatusCode != 200 || json.NewDecoder(r.Body).Decode(&p) != nil {
			t.Fatalf("status %d", r.StatusCode)
		}
		for _, a := range p.Actions {
			ids = append(ids, a.ID)
		}
		return ids, p.NextPageToken
	}
	first, next := page("")
	if next == "" || len(first) != 25 {
		t.Fatalf("first page: %d actions, token %q", len(first), next)
	}
	// Another approver settles two actions already listed.
	s.ws.mu.Lock()
	s.ws.actions[first[0]].status = StatusApproved
	s.ws.actions[first[10]].status = StatusApproved
	s.ws.mu.Unlock()
	got := first
	for next != "" {
		var ids []string
		ids, next = page(next)
		got = append(got, ids...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %d actions, want the %d pending when the listing began, each once and in order", len(got), len(want))
	}
}
