package signals

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	good := map[string]unix.Signal{
		"9": unix.SIGKILL, "KILL": unix.SIGKILL, "SIGKILL": unix.SIGKILL, "sigterm": unix.SIGTERM,
		"term": unix.SIGTERM, "HUP": unix.SIGHUP, "SIGUSR1": unix.SIGUSR1, "RTMIN+3": unix.Signal(37),
		"SIGRTMAX-1": unix.Signal(63), "WINCH": unix.SIGWINCH, "64": unix.Signal(64), "0": 0,
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "65", "-1", "SIGFOO", "KILLL", "RTMIN+31", "SIG"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}
