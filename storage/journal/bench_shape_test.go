package journal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// writeRealisticJournal writes n chained entries in the shape real use
// gives while unlocked: per session an unlock, then per action a signed
// decision and a signed outcome, one abandoned attempt (unsigned) in ten
// actions, and a checkpoint and a lock at the end of each 100-action
// session; a wrong passphrase (unsigned) before one session in four. About
// 96% of lines are signed. Signatures are random bytes: only the chain
// and parse benchmarks use these journals.
func writeRealisticJournal(tb testing.TB, path string, n int) (pk qbls.PublicKey, size int64, signed int) {
	s := newSigner(tb)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var jid [16]byte
	copy(jid[:], "bench-journal-id")
	var prev [32]byte
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	emit := func(seq int, kind Kind, body []byte, sign bool) {
		ts := formatTS(t0.Add(time.Duration(seq) * 1234567 * time.Microsecond))
		var sig *qbls.Signature
		if sign {
			var sg qbls.Signature
			_, _ = rand.Read(sg[:])
			if seq == 0 {
				d := digest(jid, 0, prev, sha256.Sum256(body), kind, []byte(ts))
				sg = s.sk.Sign(d[:])
			}
			sig = &sg
			signed++
		}
		line := encodeLine(uint64(seq), ts, kind, prev, body, sig)
		prev = sha256.Sum256(line)
		_, _ = w.Write(line) // bufio errors are sticky: Flush reports them
		_ = w.WriteByte('\n')
		size += int64(len(line) + 1)
	}
	emit(0, KindGenesis, fmt.Appendf(nil, `{"journal_id":"%x","public_key":"%x","profile":"bench","created":"2026-03-01T12:00:00Z"}`, jid, s.pk), true)
	seq, action, session := 1, 0, 0
	for seq < n {
		switch {
		case action%100 == 0 && session%4 == 3 && seq%7 != 0:
			emit(seq, KindUnlockFailed, []byte(`{"attempt":1,"backoff":"1s"}`), false)
			session++
		case action%100 == 0:
			emit(seq, KindUnlock, []byte(`{"method":"passphrase"}`), true)
			session++
			action++
		case action%100 == 99:
			emit(seq, KindCheckpoint, fmt.Appendf(nil, `{"entries":%d,"head":"%x","reason":"lock"}`, seq, prev), true)
			seq++
			if seq < n {
				emit(seq, KindLock, []byte(`{"reason":"operator"}`), true)
			}
			action++
		case action%10 == 5 && seq%2 == 0:
			emit(seq, KindAbandoned, fmt.Appendf(nil, `{"action_id":"act-%08d","decision":"approve","why":"cancelled"}`, action), false)
		default:
			m := sha256.Sum256([]byte(strconv.Itoa(seq)))
			emit(seq, KindDecision, fmt.Appendf(nil, `{"action_id":"act-%08d","decision":"approve","message_sha256":"%x","verdict":"approve","rules":["testnet","small-amount"],"confirmation":"key","binding":"bound","summary":{"amount":"0.25","asset":"ETH","to":"0x52908400098527886E0F7030069857D2E4169EE7","network":"ethereum"}}`, action, m), true)
			seq++
			if seq < n {
				emit(seq, KindOutcome, fmt.Appendf(nil, `{"action_id":"act-%08d","result":"accepted"}`, action), true)
			}
			action++
		}
		seq++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return s.pk, size, signed
}

// splitHashFloor is the floor chain+parse is measured against: one Go
// loop that reads the file in 1 MiB chunks, splits it into lines and
// hashes each line, nothing else.
func splitHashFloor(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 2<<20)
	n, have := 0, 0
	var sink [32]byte
	for {
		m, err := io.ReadFull(f, buf[have:have+chunkSize])
		data := buf[:have+m]
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			h := sha256.Sum256(data[:i])
			sink[0] ^= h[0]
			n++
			data = data[i+1:]
		}
		have = copy(buf, data)
		if err != nil {
			break
		}
	}
	_ = sink
	return n, nil
}

// BenchmarkChainVsFloor verifies the hash chain and the strict parse of
// realistic journals (no signatures) and, in the same run, the split+hash
// floor over the same file; ratio = chain / floor, wall clock, alternating
// runs so both see the same machine.
func BenchmarkChainVsFloor(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "journal.jsonl")
			pk, size, signed := writeRealisticJournal(b, path, n)
			var floor, chain, floorCPU, chainCPU time.Duration
			runs := 0
			for b.Loop() {
				t, c := time.Now(), cpuTime()
				if got, err := splitHashFloor(path); err != nil || got != n {
					b.Fatalf("floor: %d lines, %v", got, err)
				}
				floor += time.Since(t)
				floorCPU += cpuTime() - c
				t, c = time.Now(), cpuTime()
				rep, err := Verify(path, VerifyOptions{ExpectedPublicKey: &pk, noSigs: true})
				chain += time.Since(t)
				chainCPU += cpuTime() - c
				if err != nil || !rep.Intact || rep.Entries != uint64(n) {
					b.Fatalf("verify: %v %+v", err, rep.Problem)
				}
				runs++
			}
			b.ReportMetric(floor.Seconds()/float64(runs), "floor-s")
			b.ReportMetric(chain.Seconds()/float64(runs), "chain-s")
			b.ReportMetric(float64(chain)/float64(floor), "ratio")
			b.ReportMetric(float64(chainCPU)/float64(floorCPU), "cpu-ratio")
			b.ReportMetric(float64(size)/(1<<20), "file-MiB")
			b.ReportMetric(float64(signed)/float64(n)*100, "signed-%")
		})
	}
}

// pct returns the p-th percentile of sorted durations, in µs.
func pct(d []time.Duration, p float64) float64 {
	return float64(d[int(float64(len(d)-1)*p)].Nanoseconds()) / 1e3
}

// benchAppendVsFloor measures, alternating in the same run, a signed
// decision append with its anchor saved (anchors), and the floor: one
// write of a line of the same size and an fdatasync, to a file in the
// same folder. It reports p50 and p99 of both and their ratios, and the
// signing time alone.
func benchAppendVsFloor(b *testing.B, anchors func(dir string) AnchorStore) {
	dir := b.TempDir()
	s := newSigner(b)
	j, err := Create(filepath.Join(dir, "journal.jsonl"), s, Options{Anchors: anchors(dir)})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	floorFile, err := os.OpenFile(filepath.Join(dir, "floor.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer floorFile.Close()
	var app, floor, sign []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		e, err := j.AppendSigned(KindDecision, decision(i), s)
		if err != nil {
			b.Fatal(err)
		}
		app = append(app, time.Since(t))
		line := make([]byte, len(e.Body)+300)
		line[len(line)-1] = '\n'
		t = time.Now()
		if _, err := floorFile.Write(line); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(floorFile); err != nil {
			b.Fatal(err)
		}
		floor = append(floor, time.Since(t))
		t = time.Now()
		_ = s.sk.Sign(line[:32])
		sign = append(sign, time.Since(t))
		i++
	}
	for _, d := range [][]time.Duration{app, floor, sign} {
		slices.Sort(d)
	}
	b.ReportMetric(pct(app, 0.5), "append-p50-µs")
	b.ReportMetric(pct(app, 0.99), "append-p99-µs")
	b.ReportMetric(pct(floor, 0.5), "floor-p50-µs")
	b.ReportMetric(pct(floor, 0.99), "floor-p99-µs")
	b.ReportMetric(pct(app, 0.5)/pct(floor, 0.5), "ratio-p50")
	b.ReportMetric(pct(app, 0.99)/pct(floor, 0.99), "ratio-p99")
	b.ReportMetric(pct(sign, 0.5), "sign-p50-µs")
}

// BenchmarkAppendVsFloor: the file keystore's anchor (two slots, one
// fdatasync per save).
func BenchmarkAppendVsFloor(b *testing.B) {
	benchAppendVsFloor(b, func(dir string) AnchorStore { return SlotAnchors(filepath.Join(dir, "anchor.slots"), nil, nil) })
}

// BenchmarkAppendVsFloorAtomicAnchor: the anchor written as a JSON file
// atomically (temp, fsync, rename, folder fsync), as before the slots.
func BenchmarkAppendVsFloorAtomicAnchor(b *testing.B) {
	benchAppendVsFloor(b, func(dir string) AnchorStore { return FileAnchors(filepath.Join(dir, "anchor.json")) })
}

// BenchmarkVerifyAllSigned20k: 20,000 entries, every one signed with a
// real signature, verified in full: the chain reader never waits for the
// signature workers, so chain-s is the chain's own time and sig-wall-s
// the signatures'.
func BenchmarkVerifyAllSigned20k(b *testing.B) { benchVerify(b, 20_000, 1, false) }
