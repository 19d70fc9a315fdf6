package bench

import (
	"syscall"
	"time"
	"unsafe"
)

// POSIX clocks of CPU time (Linux values).
const (
	clockProcessCPU = 2 // CLOCK_PROCESS_CPUTIME_ID
	clockThreadCPU  = 3 // CLOCK_THREAD_CPUTIME_ID
)

// cpuTime reads one of the CPU-time clocks: the calling OS thread's or the
// whole process's, to the nanosecond (getrusage splits it at tick
// granularity, too coarse for one operation).
func cpuTime(clock int) time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clock), uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return time.Duration(ts.Nano())
}
