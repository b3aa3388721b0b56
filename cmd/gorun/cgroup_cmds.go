package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/nsenter"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of the container (cgroup freezer)",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		c, err := load(ctx)
		if err != nil {
			return err
		}
		return c.Pause()
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "ID",
	Action: func(ctx *cli.Context) error {
		c, err := load(ctx)
		if err != nil {
			return err
		}
		return c.Resume()
	},
}

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the container's processes (host pids)",
	ArgsUsage: "ID [-- PS-OPTIONS]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() < 1 {
			return errs.Field("arguments", "", "usage: gorun ps [--format table|json] ID [-- PS-OPTIONS]", "missing container id")
		}
		c, err := loadID(ctx, ctx.Args().First())
		if err != nil {
			return err
		}
		pids, err := c.Pids()
		if err != nil {
			return err
		}
		switch ctx.String("format") {
		case "json":
			if pids == nil {
				pids = []int{} // [], not null
			}
			return printJSON(pids)
		case "table":
		default:
			return errs.Field("--format", ctx.String("format"), "use table or json", "unknown format")
		}
		psArgs := []string{"-ef"}
		if ctx.NArg() > 1 {
			psArgs = ctx.Args().Slice()[1:]
		}
		var out []byte
		err = nsenter.WithCallerTimerSlack(func() (err error) {
			out, err = exec.Command("ps", psArgs...).Output()
			return err
		})
		if err != nil {
			return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
		}
		return printPsTable(string(out), pids)
	},
}

// printPsTable keeps the header and the lines of ps whose PID column is one
// of pids.
func printPsTable(out string, pids []int) error {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps printed no PID column")
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	fmt.Fprintln(os.Stdout, lines[0])
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > col {
			if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
				fmt.Fprintln(os.Stdout, l)
			}
		}
	}
	return nil
}
