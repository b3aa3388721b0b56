package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer"
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
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between usage reports"},
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

// streamEvents prints usage every interval and each OOM kill, until the
// container stops.
func streamEvents(c *libcontainer.Container, enc *json.Encoder, interval time.Duration) error {
	ooms, err := c.OOMEvents()
	if err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-ooms:
			if !ok {
				return nil
			}
			enc.Encode(event{Type: "oom", ID: c.ID()})
		case <-tick.C:
			if c.Status() == "stopped" {
				return nil
			}
			if s, err := c.Stats(); err == nil {
				enc.Encode(event{Type: "stats", ID: c.ID(), Data: s})
			}
		}
	}
}
