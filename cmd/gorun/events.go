package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/errs"
)

// event is one line of `gorun events`, in runc's format.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print the container's resource usage and OOM events as JSON lines",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print usage once and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between usage reports (runc's default: 5s)"},
	},
	Action: func(ctx *cli.Context) error {
		c, err := load(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		if ctx.Bool("stats") {
			s, err := c.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(event{Type: "stats", ID: c.ID(), Data: s})
		}
		return streamEvents(c, enc, ctx.Duration("interval"))
	},
}

// streamEvents prints usage every interval and each OOM notification,
// until the container stops or its cgroup goes. Without a memory
// controller there are no OOM notifications, only usage.
func streamEvents(c *libcontainer.Container, enc *json.Encoder, interval time.Duration) error {
	if interval <= 0 {
		return errs.Field("--interval", interval.String(), "give a positive duration, e.g. 5s", "not positive")
	}
	// A container without a cgroup (rootless) has no usage to report:
	// say so now rather than stay silent until it exits.
	if _, err := c.Stats(); err != nil {
		return err
	}
	ooms, err := c.OOMEvents()
	if err != nil {
		slog.Warn("events: no OOM notifications: " + err.Error())
		ooms = nil // a nil channel never delivers
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-ooms:
			if !ok {
				return nil
			}
			if err := enc.Encode(event{Type: "oom", ID: c.ID()}); err != nil {
				return err
			}
		case <-tick.C:
			if c.Status() == "stopped" {
				return nil
			}
			s, err := c.Stats()
			if err != nil {
				slog.Debug("events: stats: " + err.Error())
				continue
			}
			if err := enc.Encode(event{Type: "stats", ID: c.ID(), Data: s}); err != nil {
				// The reader went away (a closed pipe).
				return err
			}
		}
	}
}
