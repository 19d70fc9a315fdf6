package journal

import (
	"bufio"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// TestCrashChild is the child of TestCrashRecovery: it opens the journal
// (recovering it), then appends signed decisions and prints "ACK seq" after
// each append returns, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("JOURNAL_CRASH_PATH")
	if path == "" {
		t.Skip("child of TestCrashRecovery; runs only when re-executed by it")
	}
	raw, _ := hex.DecodeString(os.Getenv("JOURNAL_CRASH_KEY")) // a throw-away test key
	sk, err := qbls.SecretKeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := &testSigner{sk: sk, pk: sk.Public()}
	j, _, err := Open(path, Options{Anchors: FileAnchors(path + ".anchor")})
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		e, err := j.AppendSigned(KindDecision, decision(i), s)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := j.Append(KindOutcome, OutcomeBody{ActionID: "x", Result: OutcomeUnknown}); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = w.WriteString("ACK " + strconv.FormatUint(e.Seq, 10) + " " + e.Hash + "\n") // sticky: Flush reports it
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	anchors := FileAnchors(path + ".anchor")
	s := newSigner(t)
	j, err := Create(path, s, Options{Anchors: anchors})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	acked := map[uint64]string{}
	rounds, recovered := 30, 0
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), "JOURNAL_CRASH_PATH="+path, "JOURNAL_CRASH_KEY="+hex.EncodeToString(s.sk[:]))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan []string)
		go func() {
			var got []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			done <- got
		}()
		time.Sleep(time.Duration(20+rand.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		got := <-done
		_ = cmd.Wait() // killed on purpose: the error is "signal: killed"
		for _, l := range got {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "ACK" {
				n, _ := strconv.ParseUint(f[1], 10, 64)
				acked[n] = f[2]
			}
		}
		j, rec, err := Open(path, Options{Anchors: anchors, ExpectedPublicKey: &s.pk})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		if rec != nil {
			recovered++
		}
		j.Close()
	}
	rep, err := Verify(path, VerifyOptions{ExpectedPublicKey: &s.pk})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact {
		t.Fatalf("verify after crashes: %v", rep.Problem)
	}
	if len(acked) == 0 {
		t.Fatal("the child acknowledged nothing: crash test did not exercise appends")
	}
	// Every acknowledged decision is in the file with the same hash.
	seen := 0
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, MaxLineBytes+1)
	for sc.Scan() {
		e, err := ParseLine(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := acked[e.Seq]; ok {
			if h != e.Hash {
				t.Fatalf("acknowledged seq %d changed", e.Seq)
			}
			seen++
		}
	}
	if seen != len(acked) {
		t.Fatalf("%d of %d acknowledged decisions survived", seen, len(acked))
	}
	t.Logf("%d rounds, %d acknowledged decisions kept, %d torn tails recovered, %d entries", rounds, len(acked), recovered, rep.Entries)
}
