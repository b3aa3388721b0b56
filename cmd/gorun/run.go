package main

import (
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; in the foreground, wait for it and exit with its status",
	ArgsUsage: "ID",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container has started"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		var tty *ttyProxy
		if !ctx.Bool("detach") && ctx.String("console-socket") == "" {
			var err error
			if tty, err = newTTYProxyIfNeeded(ctx.String("bundle")); err != nil {
				return err
			}
		}
		var console *os.File
		if tty != nil {
			console = tty.childEnd
		}
		if !ctx.Bool("detach") {
			// Orphans of the container are reparented to gorun, which
			// reaps them (Wait reaps only the init).
			unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
		}
		c, err := create(ctx, console)
		if tty != nil {
			tty.childEnd.Close()
		}
		if err != nil {
			return err
		}
		if ctx.Bool("detach") {
			if err := c.Start(); err != nil {
				c.Delete(true)
				return err
			}
			return nil
		}
		return runForeground(c, tty)
	},
}

// runForeground starts c, forwards signals to its init, waits for it to
// exit, deletes it and returns its status as gorun's exit code.
func runForeground(c *libcontainer.Container, tty *ttyProxy) error {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	defer signal.Stop(sigs)
	if tty != nil {
		if err := tty.attach(); err != nil {
			c.Delete(true)
			return err
		}
		defer tty.restore()
	}
	if err := c.Start(); err != nil {
		c.Delete(true)
		return err
	}
	go forwardSignals(sigs, c.Pid(), tty)
	ws, err := c.Wait()
	if tty != nil {
		tty.drain()
	}
	if derr := c.Delete(true); err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	return exitCode(statusCode(ws))
}

// forwardSignals passes every signal gorun receives on to the container's
// init, except those that are gorun's own business.
func forwardSignals(sigs chan os.Signal, pid int, tty *ttyProxy) {
	for s := range sigs {
		sig := s.(unix.Signal)
		switch sig {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE:
			continue
		case unix.SIGWINCH:
			if tty != nil {
				tty.resize()
				continue
			}
		}
		unix.Kill(pid, sig)
	}
}

// statusCode turns a wait status into a shell-style exit code: the exit
// status, or 128+N for death by signal N.
func statusCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
