package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	units "github.com/docker/go-units"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer/errs"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "read linux.resources JSON from `FILE` (- for stdin)"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with a k/m/g suffix)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit (-1: unlimited)"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (deprecated by the kernel)"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "kernel TCP memory limit"},
		&cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU time in microseconds per period (-1: unlimited)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU time in microseconds a period may borrow from earlier idle ones"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1: schedule the container as SCHED_IDLE; 0: normally"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "realtime runtime in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "realtime period in microseconds"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use"},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes (-1: unlimited)"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight, 10 to 1000"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema (runc's flag: gorun has no Intel RDT support and refuses it)"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (runc's flag: refused, as --l3-cache-schema)"},
	},
	Action: func(ctx *cli.Context) error {
		for _, f := range []string{"l3-cache-schema", "mem-bw-schema"} {
			if ctx.IsSet(f) {
				return errs.Field("--"+f, ctx.String(f), "drop the flag: gorun does not implement Intel RDT (linux.intelRdt)", "not supported")
			}
		}
		c, err := load(ctx)
		if err != nil {
			return err
		}
		r := &rspec.LinuxResources{}
		if f := ctx.String("resources"); f != "" {
			var data []byte
			if f == "-" {
				data, err = io.ReadAll(os.Stdin)
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				return &errs.Error{Field: "--resources", Value: f, Err: err}
			}
			if err := json.Unmarshal(data, r); err != nil {
				return &errs.Error{Field: "--resources", Value: f, Err: err, Hint: "give a runtime-spec linux.resources object"}
			}
		}
		if err := resourceFlags(ctx, r); err != nil {
			return err
		}
		return c.Update(r)
	},
}

// resourceFlags applies update's individual flags on top of r.
func resourceFlags(ctx *cli.Context, r *rspec.LinuxResources) error {
	mem := func() *rspec.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &rspec.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *rspec.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &rspec.LinuxCPU{}
		}
		return r.CPU
	}
	bytes := func(name string) (*int64, error) {
		v := ctx.String(name)
		if v == "-1" {
			n := int64(-1)
			return &n, nil
		}
		n, err := units.RAMInBytes(v)
		if err != nil {
			return nil, errs.Field("--"+name, v, "give bytes, or a number with a k, m or g suffix", "not a size")
		}
		return &n, nil
	}
	num := func(name string) (int64, error) {
		v := ctx.String(name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errs.Field("--"+name, v, "give a whole number", "not a number")
		}
		return n, nil
	}
	for _, f := range []struct {
		name string
		set  func(*int64)
	}{
		{"memory", func(v *int64) { mem().Limit = v }},
		{"memory-reservation", func(v *int64) { mem().Reservation = v }},
		{"memory-swap", func(v *int64) { mem().Swap = v }},
		{"kernel-memory", func(v *int64) { mem().Kernel = v }},
		{"kernel-memory-tcp", func(v *int64) { mem().KernelTCP = v }},
	} {
		if ctx.IsSet(f.name) {
			v, err := bytes(f.name)
			if err != nil {
				return err
			}
			f.set(v)
		}
	}
	for _, f := range []struct {
		name string
		max  int64 // for unsigned values: the largest; 0 for signed ones
		set  func(int64)
	}{
		{"cpu-share", math.MaxInt64, func(v int64) { u := uint64(v); cpu().Shares = &u }},
		{"cpu-quota", 0, func(v int64) { cpu().Quota = &v }},
		{"cpu-period", math.MaxInt64, func(v int64) { u := uint64(v); cpu().Period = &u }},
		{"cpu-burst", math.MaxInt64, func(v int64) { u := uint64(v); cpu().Burst = &u }},
		{"cpu-idle", 0, func(v int64) { cpu().Idle = &v }},
		{"cpu-rt-runtime", 0, func(v int64) { cpu().RealtimeRuntime = &v }},
		{"cpu-rt-period", math.MaxInt64, func(v int64) { u := uint64(v); cpu().RealtimePeriod = &u }},
		{"pids-limit", 0, func(v int64) { r.Pids = &rspec.LinuxPids{Limit: &v} }},
		{"blkio-weight", math.MaxUint16, func(v int64) { w := uint16(v); r.BlockIO = &rspec.LinuxBlockIO{Weight: &w} }},
	} {
		if !ctx.IsSet(f.name) {
			continue
		}
		v, err := num(f.name)
		if err != nil {
			return err
		}
		if f.max != 0 && (v < 0 || v > f.max) {
			return errs.Field("--"+f.name, ctx.String(f.name), fmt.Sprintf("give a number from 0 to %d", f.max), "out of range")
		}
		f.set(v)
	}
	if ctx.IsSet("cpuset-cpus") {
		cpu().Cpus = ctx.String("cpuset-cpus")
	}
	if ctx.IsSet("cpuset-mems") {
		cpu().Mems = ctx.String("cpuset-mems")
	}
	return nil
}
