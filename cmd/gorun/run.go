package main

import (
	"os"
	"os/signal"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
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
		&cli.BoolFlag{Name: "keep", Usage: "in the foreground, keep the container (stopped) after its process exits, for `gorun delete`"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "in the foreground, do not adopt and reap orphans of the container's processes"},
	}, createFlags...),
	Action: func(ctx *cli.Context) error {
		// In the foreground without a console socket, gorun proxies the
		// container's terminal, if its config asks for one.
		var tty *ttyProxy
		console := func(s *rspec.Spec) (*os.File, error) {
			if ctx.Bool("detach") || ctx.String("console-socket") != "" || s.Process == nil || !s.Process.Terminal {
				return nil, nil
			}
			var err error
			if tty, err = newTTYProxy(); err != nil {
				return nil, err
			}
			return tty.childEnd, nil
		}
		var sigs *forwarder
		if !ctx.Bool("detach") {
			if !ctx.Bool("no-subreaper") {
				// Orphans of the container are reparented to gorun,
				// which reaps them (Wait reaps only the init).
				unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
			}
			sigs = catchForwarded()
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
		return runForeground(c, tty, sigs, ctx.Bool("keep"))
	},
}

// runForeground starts c, forwards signals to its init, waits for it to
// exit, deletes it (unless keep) and returns its status as gorun's exit
// code.
func runForeground(c *libcontainer.Container, tty *ttyProxy, sigs *forwarder, keep bool) error {
	if tty != nil {
		if err := tty.attach(); err != nil {
			c.Delete(true)
			return err
		}
		defer tty.restore()
	}
	sigs.wait()
	if err := c.Start(); err != nil {
		c.Delete(true)
		return err
	}
	sigs.forward(c.Pid(), tty)
	ws, err := c.Wait()
	if tty != nil {
		tty.drain()
	}
	if !keep {
		if derr := c.Delete(true); err == nil {
			err = derr
		}
	}
	if err != nil {
		return err
	}
	return exitCode(statusCode(ws))
}

// forwarded are the signals a foreground run or exec passes on to the
// container's process: those a person or a supervisor sends to stop,
// reload, suspend or resize it. Only these are caught: installing a handler
// for every signal, and removing them again, costs milliseconds per call,
// and gorun exits right after the process does (no signal.Stop).
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGWINCH, unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
}

// forwarder catches the signals gorun passes on to the container's
// process. Each signal.Notify of a new signal is a round trip to the
// runtime's signal thread (12 of them: ~1.9 ms here), so it is started in
// the background, before the container is made, and waited for before the
// process starts (run) or forwarding begins (exec).
type forwarder struct {
	sigs      chan os.Signal
	installed chan struct{}
}

func catchForwarded() *forwarder {
	f := &forwarder{sigs: make(chan os.Signal, 32), installed: make(chan struct{})}
	go func() {
		signal.Notify(f.sigs, forwarded...)
		close(f.installed)
	}()
	return f
}

// wait returns once the handlers are in place.
func (f *forwarder) wait() { <-f.installed }

// forward passes the signals caught, from now on and before, to pid;
// SIGWINCH resizes its terminal instead when gorun proxies one.
func (f *forwarder) forward(pid int, tty *ttyProxy) {
	f.wait()
	go func() {
		for s := range f.sigs {
			sig := s.(unix.Signal)
			if sig == unix.SIGWINCH && tty != nil {
				tty.resize()
				continue
			}
			unix.Kill(pid, sig)
		}
	}()
}

// statusCode turns a wait status into a shell-style exit code: the exit
// status, or 128+N for death by signal N.
func statusCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
