// Package signals parses the signal argument of `gorun kill`.
package signals

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// Parse accepts a signal name with or without "SIG" ("TERM", "SIGKILL",
// case-insensitive), a number ("9"; 0 checks that the process exists, as
// kill(2) and runc take it), or a real-time signal ("RTMIN+3").
func Parse(s string) (unix.Signal, error) {
	bad := func() error {
		return errs.Field("signal", s, "use a name such as TERM or SIGKILL, or a number from 0 to 64", "unknown signal")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, bad()
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		sign   int
	}{{"SIGRTMIN+", 34, 1}, {"SIGRTMAX-", 64, -1}} {
		if strings.HasPrefix(name, rt.prefix) {
			n, err := strconv.Atoi(name[len(rt.prefix):])
			if err != nil || n < 0 || n > 30 {
				return 0, bad()
			}
			return unix.Signal(rt.base + rt.sign*n), nil
		}
	}
	switch name {
	case "SIGRTMIN":
		return unix.Signal(34), nil
	case "SIGRTMAX":
		return unix.Signal(64), nil
	}
	return 0, bad()
}
