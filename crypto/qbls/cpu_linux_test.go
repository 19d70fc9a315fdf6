package qbls

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the CPU time used so far by the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPair runs a and b alternately on one locked thread and reports the
// CPU time of each per call, and b/a: a fair comparison on a machine that
// other jobs share, where wall time depends on them.
func benchPair(b *testing.B, names [2]string, fa, fb func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ta, tb time.Duration
	n := 0
	for b.Loop() {
		t0 := threadCPU()
		fa()
		t1 := threadCPU()
		fb()
		t2 := threadCPU()
		ta += t1 - t0
		tb += t2 - t1
		n++
	}
	b.ReportMetric(float64(ta.Nanoseconds())/float64(n), names[0]+"-cpu-ns")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(n), names[1]+"-cpu-ns")
	if ta > 0 {
		b.ReportMetric(float64(tb)/float64(ta), names[1]+"/"+names[0])
	}
}
