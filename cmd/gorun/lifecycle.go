package main

import (
	"errors"
	"os"
	"path/filepath"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/signals"
	"github.com/gorun/gorun/pod"
	"github.com/gorun/gorun/specs"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle `DIR` (holds config.json)"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix `SOCKET` that receives the pty master when process.terminal is set"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the init's host pid to `FILE`"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "enter the rootfs with MS_MOVE and chroot instead of pivot_root (for a rootfs on ramfs)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring instead of a new one"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` fds after stderr (3..3+N-1) to the container"},
	&cli.StringFlag{Name: "pod", Usage: "create the container in pod `NAME` (`gorun pod create`): it joins the pod's network, IPC and UTS namespaces and its cgroup"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container; its process waits for `gorun start`",
	ArgsUsage: "ID",
	Flags:     createFlags,
	Action: func(ctx *cli.Context) error {
		_, err := create(ctx, nil)
		return err
	},
}

// containerID returns the one ID argument, validated.
func containerID(ctx *cli.Context) (string, error) {
	if ctx.NArg() != 1 {
		return "", errs.Field("arguments", "", "usage: gorun "+ctx.Command.Name+" "+ctx.Command.ArgsUsage, "want exactly one container id, got %d arguments", ctx.NArg())
	}
	id := ctx.Args().First()
	if err := specs.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// loadBundle reads and validates the bundle's config.json.
func loadBundle(dir string) (string, *rspec.Spec, error) {
	bundle, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	s, err := specs.Load(bundle)
	if err != nil {
		return "", nil, err
	}
	if err := specs.Validate(s, bundle, true); err != nil {
		return "", nil, errs.Wrap("config.json", err)
	}
	return bundle, s, nil
}

// create makes the container the command line names. console, if set, is
// given the checked config and returns the terminal's end for the
// container (nil for none).
func create(ctx *cli.Context, console func(*rspec.Spec) (*os.File, error)) (*libcontainer.Container, error) {
	id, err := containerID(ctx)
	if err != nil {
		return nil, err
	}
	bundle, s, err := loadBundle(ctx.String("bundle"))
	if err != nil {
		return nil, err
	}
	if n := ctx.Int("preserve-fds"); n < 0 {
		return nil, errs.Field("--preserve-fds", ctx.String("preserve-fds"), "give a count of 0 or more", "negative")
	}
	var term *os.File
	if console != nil {
		if term, err = console(s); err != nil {
			return nil, err
		}
	}
	if name := ctx.String("pod"); name != "" {
		if ctx.Bool("systemd-cgroup") {
			return nil, errs.Field("--systemd-cgroup", "true", "drop the flag to join a pod", "a pod's containers go in the pod's cgroup, which gorun makes with cgroupfs")
		}
		// The config is amended in memory; the pod stays locked (shared)
		// until the container is made.
		release, err := pod.Join(ctx.String("root"), name, id, bundle, s)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	return libcontainer.Create(libcontainer.CreateOpts{
		Root:          ctx.String("root"),
		ID:            id,
		Bundle:        bundle,
		Spec:          s,
		ConsoleSocket: ctx.String("console-socket"),
		Console:       term,
		PidFile:       ctx.String("pid-file"),
		NoPivot:       ctx.Bool("no-pivot"),
		NoNewKeyring:  ctx.Bool("no-new-keyring"),
		PreserveFDs:   ctx.Int("preserve-fds"),
		SystemdCgroup: ctx.Bool("systemd-cgroup"),
	})
}

// load opens the container named by the one argument.
func load(ctx *cli.Context) (*libcontainer.Container, error) {
	id, err := containerID(ctx)
	if err != nil {
		return nil, err
	}
	return libcontainer.Load(ctx.String("root"), id)
}

// loadID opens container id, validating it first.
func loadID(ctx *cli.Context, id string) (*libcontainer.Container, error) {
	if err := specs.ValidateID(id); err != nil {
		return nil, err
	}
	return libcontainer.Load(ctx.String("root"), id)
}

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		c, err := load(ctx)
		if err != nil {
			return err
		}
		return c.Start()
	},
}

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to the container's init",
	ArgsUsage: "ID [SIGNAL]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container's cgroup"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() < 1 || ctx.NArg() > 2 {
			return errs.Field("arguments", "", "usage: gorun kill [--all] ID [SIGNAL]", "want a container id and an optional signal, got %d arguments", ctx.NArg())
		}
		sigArg := "SIGTERM"
		if ctx.NArg() == 2 {
			sigArg = ctx.Args().Get(1)
		}
		sig, err := signals.Parse(sigArg)
		if err != nil {
			return err
		}
		c, err := loadID(ctx, ctx.Args().First())
		if err != nil {
			return err
		}
		return c.Signal(sig, ctx.Bool("all"))
	},
}

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a container: its processes (with --force), cgroup and state",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container's processes if it is running"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := containerID(ctx)
		if err != nil {
			return err
		}
		c, err := libcontainer.Load(ctx.String("root"), id)
		if err != nil {
			if ctx.Bool("force") && !errors.Is(err, errs.ErrNotExist) {
				// Half-made or corrupt state: remove what can be found.
				return libcontainer.ForceRemove(ctx.String("root"), id)
			}
			if ctx.Bool("force") && errors.Is(err, errs.ErrNotExist) {
				// runc: delete --force of a missing container succeeds.
				return nil
			}
			return err
		}
		err = c.Delete(ctx.Bool("force"))
		if ctx.Bool("force") && errors.Is(err, errs.ErrNotExist) {
			// Deleted by another gorun while this one waited for it.
			return nil
		}
		return err
	},
}
