package journal

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// benchAppend measures append+fsync and reports the median per entry.
func benchAppend(b *testing.B, signed bool, anchors bool) {
	dir := b.TempDir()
	s := newSigner(b)
	opts := Options{}
	if anchors {
		opts.Anchors = FileAnchors(filepath.Join(dir, "anchor.json"))
	}
	j, err := Create(filepath.Join(dir, "journal.jsonl"), s, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	var times []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		if signed {
			_, err = j.AppendSigned(KindDecision, decision(i), s)
		} else {
			_, err = j.Append(KindOutcome, OutcomeBody{ActionID: "act-" + strconv.Itoa(i), Result: OutcomeAccepted})
		}
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t))
		i++
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "median-µs/entry")
}

func BenchmarkAppendUnsignedFsync(b *testing.B)         { benchAppend(b, false, false) }
func BenchmarkAppendSignedFsync(b *testing.B)           { benchAppend(b, true, false) }
func BenchmarkAppendSignedFsyncFileAnchor(b *testing.B) { benchAppend(b, true, true) }

// writeBigJournal writes n chained entries directly (no fsync per line):
// mostly unsigned outcomes, a signed decision every signEvery lines.
func writeBigJournal(b *testing.B, path string, n, signEvery int) (*testSigner, int64) {
	s := newSigner(b)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var jid [16]byte
	copy(jid[:], "bench-journal-id")
	var prev [32]byte
	ts := formatTS(time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC))
	var size int64
	for seq := 0; seq < n; seq++ {
		var kind Kind
		var body []byte
		sign := seq == 0 || seq%signEvery == 0
		switch {
		case seq == 0:
			kind = KindGenesis
			body = fmt.Appendf(nil, `{"journal_id":"%x","public_key":"%x","profile":"bench","created":"2026-03-01T12:00:00Z"}`, jid, s.pk)
		case sign:
			kind = KindDecision
			body = fmt.Appendf(nil, `{"action_id":"act-%08d","decision":"approve","message_sha256":"%x","verdict":"approve","rules":["testnet","small-amount"]}`, seq, sha256.Sum256([]byte(strconv.Itoa(seq))))
		default:
			kind = KindOutcome
			body = fmt.Appendf(nil, `{"action_id":"act-%08d","result":"refused","error":"HTTP 409: action %d is already approved by this key"}`, seq, seq)
		}
		var sig *qbls.Signature
		if sign {
			d := digest(jid, uint64(seq), prev, sha256.Sum256(body), kind, []byte(ts))
			sg := s.sk.Sign(d[:])
			sig = &sg
		}
		line := encodeLine(uint64(seq), ts, kind, prev, body, sig)
		prev = sha256.Sum256(line)
		// bufio errors are sticky: the Flush below reports them.
		_, _ = w.Write(line)
		_ = w.WriteByte('\n')
		size += int64(len(line) + 1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return s, size
}

// peakRSS returns VmHWM in MiB after resetting it with reset.
func peakRSS(reset bool) float64 {
	if reset {
		// Without /proc (or the right to reset), the peak is since start: still an upper bound.
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		return 0
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func benchVerify(b *testing.B, n, signEvery int, noSigs bool) {
	path := filepath.Join(b.TempDir(), "journal.jsonl")
	s, size := writeBigJournal(b, path, n, signEvery)
	runtime.GC()
	var rep *Report
	var err error
	peakRSS(true)
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		rep, err = Verify(path, VerifyOptions{ExpectedPublicKey: &s.pk, noSigs: noSigs})
		cpu = cpuTime() - c0
		if err != nil || !rep.Intact || rep.Entries != uint64(n) {
			b.Fatalf("verify: %v %+v", err, rep)
		}
	}
	b.ReportMetric(rep.ChainDuration.Seconds(), "chain-s")
	b.ReportMetric(float64(size)/(1<<20)/rep.ChainDuration.Seconds(), "chain-MiB/s")
	b.ReportMetric(cpu.Seconds(), "cpu-s")
	if !noSigs {
		b.ReportMetric(float64(rep.Signatures), "sigs")
		b.ReportMetric(rep.SignatureDuration.Seconds(), "sig-wall-s")
		b.ReportMetric(float64(rep.Signatures)/rep.SignatureDuration.Seconds(), "sigs/s")
	}
	b.ReportMetric(peakRSS(false), "peak-RSS-MiB")
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
}

// BenchmarkVerify1MChain: 1,000,000 entries, hash chain and parsing only.
func BenchmarkVerify1MChain(b *testing.B) { benchVerify(b, 1_000_000, 1000, true) }

// BenchmarkVerify1MFull: 1,000,000 entries with 1,000 signatures, all checked.
func BenchmarkVerify1MFull(b *testing.B) { benchVerify(b, 1_000_000, 1000, false) }

// BenchmarkVerifySignatures: 2,000 signed entries, for the signature rate.
func BenchmarkVerifySignatures(b *testing.B) { benchVerify(b, 2000, 1, false) }

// cpuTime is the user+system CPU time of this process: on a shared machine
// it shows the work done, whatever the wall clock says.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
