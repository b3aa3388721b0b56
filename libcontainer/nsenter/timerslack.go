package nsenter

// extern unsigned long gorun_caller_timerslack;
import "C"

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// callerTimerSlack is the timer slack, in ns, the process was started
// with, or 0 when the constructor left the slack alone.
func callerTimerSlack() uintptr {
	return uintptr(C.gorun_caller_timerslack)
}

// WithCallerTimerSlack calls start, which starts a program, on a thread
// whose timer slack is the one gorun was started with, so the program
// inherits that and not gorun's raised slack. Wrap every Start of a child
// process in it.
func WithCallerTimerSlack(start func() error) error {
	s := callerTimerSlack()
	if s == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || uintptr(prev) == s {
		return start()
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, s, 0, 0, 0); err != nil {
		return start()
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(prev), 0, 0, 0)
	return start()
}

// RestoreTimerSlack gives the calling thread the timer slack gorun was
// started with, for good, and locks the goroutine to it. Call it on the
// thread that will exec the container's process, before a seccomp filter
// could forbid prctl.
func RestoreTimerSlack() error {
	s := callerTimerSlack()
	if s == 0 {
		return nil
	}
	runtime.LockOSThread()
	return unix.Prctl(unix.PR_SET_TIMERSLACK, s, 0, 0, 0)
}
