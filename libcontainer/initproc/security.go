package initproc

import (
	"errors"

	"github.com/gorun/gorun/libcontainer/seccomp"
)

// buildSeccomp compiles linux.seccomp, if any, before the process is set
// up, so that a profile libseccomp rejects fails create or exec with an
// error rather than the container's process with a message on its stderr.
// Syscall names libseccomp does not know are left out, as the runtime-spec
// asks.
func (c *child) buildSeccomp() (*seccomp.Filter, error) {
	if c.spec.Linux == nil || c.spec.Linux.Seccomp == nil {
		return nil, nil
	}
	return seccomp.Build(c.spec.Linux.Seccomp)
}

// loadSeccomp loads the filter on this thread (and, TSYNC, the others) and
// hands the notify fd, if the profile has SCMP_ACT_NOTIFY rules, to the
// agent at listenerPath over the connection the parent made.
func (c *child) loadSeccomp(f *seccomp.Filter) error {
	defer f.Release()
	fd, err := f.Load()
	if err != nil || fd < 0 {
		return err
	}
	if c.cfg.SeccompFD == 0 || c.cfg.SeccompState == nil {
		return errors.New("seccomp: the profile has SCMP_ACT_NOTIFY rules but gorun has no connection to linux.seccomp.listenerPath")
	}
	return seccomp.SendNotifyFd(c.cfg.SeccompFD, fd, c.cfg.SeccompState)
}
