package qbls

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentSignVerify signs and verifies from many goroutines at once
// (run it with -race); every result must match the single-threaded one.
func TestConcurrentSignVerify(t *testing.T) {
	const workers, rounds = 8, 6
	sk, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Zero()
	pk := sk.Public()
	want := make([]Signature, rounds)
	for i := range want {
		want[i] = sk.Sign(fmt.Appendf(nil, "msg %d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			own, err := Generate(rand.Reader)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer own.Zero()
			ownPK := own.Public()
			for i := range rounds {
				msg := fmt.Appendf(nil, "msg %d", i)
				if got := sk.Sign(msg); got != want[i] {
					errs <- fmt.Sprintf("worker %d: signature %d differs", w, i)
				}
				if !Verify(pk, msg, want[i]) {
					errs <- fmt.Sprintf("worker %d: verify %d failed", w, i)
				}
				s := own.Sign(msg)
				if !Verify(ownPK, msg, s) || Verify(pk, msg, s) {
					errs <- fmt.Sprintf("worker %d: own key round trip %d wrong", w, i)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
