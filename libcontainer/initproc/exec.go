package initproc

import "github.com/gorun/gorun/libcontainer/lsm"

// execProcess runs a process in a running container (`gorun exec`): the
// namespaces were joined before this code ran (the parent's thread for most,
// nsenter for user and mount), so only the process is left to set up.
func (c *child) execProcess() error {
	if err := lsm.Check(c.spec.Process, nil); err != nil {
		return err
	}
	if c.spec.Process.Terminal {
		console, err := setupConsole(c.cfg.ConsoleFD, c.spec.Process.ConsoleSize, false, c.spec.Process.User.UID)
		if err != nil {
			return err
		}
		defer console.Close()
	}
	t, err := c.prepareProcess(c.spec.Process)
	if err != nil {
		return err
	}
	if err := c.ready(); err != nil {
		return err
	}
	return fatal("exec", t.exec())
}
