package qbls

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time used so far by the process, all threads
// (user + system, from getrusage).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPair runs a and b alternately and reports the process
// CPU time of each per call (per item when per > 1), and b/a: a fair
// comparison on a machine that other jobs share, where wall time depends
// on them.
func benchPair(b *testing.B, per int, names [2]string, fa, fb func()) {
	var ta, tb time.Duration
	n := 0
	for b.Loop() {
		t0 := processCPU()
		fa()
		t1 := processCPU()
		fb()
		t2 := processCPU()
		ta += t1 - t0
		tb += t2 - t1
		n++
	}
	b.ReportMetric(float64(ta.Nanoseconds())/float64(n*per), names[0]+"-cpu-ns")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(n*per), names[1]+"-cpu-ns")
	if ta > 0 {
		b.ReportMetric(float64(tb)/float64(ta), names[1]+"/"+names[0])
	}
}
