package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/specs"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json into the bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "the bundle `DIR`"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for the calling user, in a user namespace"},
	},
	Action: func(ctx *cli.Context) error {
		s := specs.Default()
		if ctx.Bool("rootless") {
			specs.ToRootless(s, uint32(os.Geteuid()), uint32(os.Getegid()))
		}
		path := filepath.Join(ctx.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return errs.Field("--bundle", ctx.String("bundle"), "remove it first, or choose another --bundle", "config.json exists already")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		data, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(data, '\n'), 0o644)
	},
}
