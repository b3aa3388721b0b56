package main

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/cgroups"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a process in a running container",
	ArgsUsage: "ID [COMMAND [ARG...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "read the process (runtime-spec JSON) from `FILE`"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "give the process a terminal"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix `SOCKET` that receives the pty master"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process has started"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's host pid to `FILE`"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory inside the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add `KEY=VALUE` to the environment"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`UID[:GID]` to run as"},
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "add a supplementary `GID`"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability (bounding, effective, permitted; never inheritable)"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privileges"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` fds after stderr to the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an existing cgroup below the container's: `[CONTROLLER[,CONTROLLER]:]PATH` (repeatable)"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec into a paused container too: the process is frozen until `gorun resume`, and exec waits for it"},
	},
	SkipFlagParsing: false,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() < 1 {
			return errs.Field("arguments", "", "usage: gorun exec [OPTIONS] ID COMMAND [ARG...]", "missing container id")
		}
		if n := ctx.Int("preserve-fds"); n < 0 {
			return errs.Field("--preserve-fds", ctx.String("preserve-fds"), "give a count of 0 or more", "negative")
		}
		c, err := loadID(ctx, ctx.Args().First())
		if err != nil {
			return err
		}
		var sigs *forwarder
		if !ctx.Bool("detach") {
			sigs = catchForwarded()
		}
		p, err := execProcess(ctx, c)
		if err != nil {
			return err
		}
		if err := specs.ValidateProcess(p); err != nil {
			return err
		}
		subs, err := cgroups.ParseSubCgroups(ctx.StringSlice("cgroup"))
		if err != nil {
			return err
		}
		var tty *ttyProxy
		var console *os.File
		if p.Terminal && ctx.String("console-socket") == "" && !ctx.Bool("detach") {
			if tty, err = newTTYProxy(); err != nil {
				return err
			}
			console = tty.childEnd
		}
		proc, err := c.Exec(libcontainer.ExecOpts{
			Process:       p,
			ConsoleSocket: ctx.String("console-socket"),
			Console:       console,
			PidFile:       ctx.String("pid-file"),
			PreserveFDs:   ctx.Int("preserve-fds"),
			IgnorePaused:  ctx.Bool("ignore-paused"),
			SubCgroups:    subs,
		})
		if tty != nil {
			tty.childEnd.Close()
		}
		if err != nil {
			return err
		}
		if ctx.Bool("detach") {
			return nil
		}
		if tty != nil {
			if err := tty.attach(); err != nil {
				return err
			}
			defer tty.restore()
		}
		sigs.forward(proc.Pid, tty)
		ws, err := proc.Wait()
		if err != nil {
			return err
		}
		if tty != nil {
			tty.drain()
		}
		return exitCode(statusCode(ws))
	},
}

// execProcess builds the process of `gorun exec`: from --process, or from
// the container's own process with the command line's changes (only then
// is the container's config read: containerd and podman pass --process).
func execProcess(ctx *cli.Context, c *libcontainer.Container) (*rspec.Process, error) {
	if f := ctx.String("process"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, &errs.Error{Field: "--process", Value: f, Err: err}
		}
		var p rspec.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, &errs.Error{Field: "--process", Value: f, Err: err, Hint: "the file must hold a runtime-spec process object"}
		}
		return &p, nil
	}
	if ctx.NArg() < 2 {
		return nil, errs.Field("arguments", "", "usage: gorun exec [OPTIONS] ID COMMAND [ARG...], or --process FILE", "missing command")
	}
	base, err := c.BaseProcess()
	if err != nil {
		return nil, err
	}
	p := *base
	p.Args = ctx.Args().Slice()[1:]
	p.Terminal = ctx.Bool("tty")
	p.ConsoleSize = nil
	p.Env = append(slices.Clone(base.Env), ctx.StringSlice("env")...)
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := ctx.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User = rspec.User{UID: uid, GID: gid, Umask: base.User.Umask}
	}
	for _, g := range ctx.StringSlice("additional-gids") {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, errs.Field("--additional-gids", g, "give a numeric gid", "not a number")
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
	}
	if add := ctx.StringSlice("cap"); len(add) > 0 {
		c := rspec.LinuxCapabilities{}
		if base.Capabilities != nil {
			c = *base.Capabilities
		}
		c.Bounding = append(slices.Clone(c.Bounding), add...)
		c.Effective = append(slices.Clone(c.Effective), add...)
		c.Permitted = append(slices.Clone(c.Permitted), add...)
		// Never inheritable (CVE-2022-29162): a capability added here must
		// not survive the exec of a program without file capabilities.
		p.Capabilities = &c
	}
	if ctx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if a := ctx.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if l := ctx.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	return &p, nil
}

// parseUser parses "UID[:GID]".
func parseUser(u string) (uint32, uint32, error) {
	us, gs, hasGid := strings.Cut(u, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, errs.Field("--user", u, "give UID or UID:GID, numeric", "not a number")
	}
	gid := uint64(0)
	if hasGid {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return 0, 0, errs.Field("--user", u, "give UID or UID:GID, numeric", "not a number")
		}
	}
	return uint32(uid), uint32(gid), nil
}
