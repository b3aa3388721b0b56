package initproc

import (
	"errors"

	"github.com/gorun/gorun/libcontainer/seccomp"
)

// loadSeccomp loads the filter the parent compiled on this thread (and,
// TSYNC, the others) and hands the notify fd, if the profile has
// SCMP_ACT_NOTIFY rules, to the agent at listenerPath over the connection
// the parent made.
func (c *child) loadSeccomp(p *seccomp.Program) error {
	fd, err := p.Load()
	if err != nil || fd < 0 {
		return err
	}
	if c.cfg.SeccompFD == 0 || c.cfg.SeccompState == nil {
		return errors.New("seccomp: the profile has SCMP_ACT_NOTIFY rules but gorun has no connection to linux.seccomp.listenerPath")
	}
	return seccomp.SendNotifyFd(c.cfg.SeccompFD, fd, c.cfg.SeccompState)
}
