// Command bench measures gorun against runc and crun on this host: run to
// exit, each lifecycle phase, exec, state and list with many containers,
// parallel lifecycles, delete --force, peak memory, and the floor (unshare +
// chroot) that no runtime can beat. Runtimes are interleaved sample by
// sample, each with its own --root. It prints a table of medians (min–max)
// with the ratios gorun/runc and gorun/crun, and writes the same as JSON, an
// SVG bar chart and a Markdown table under -out.
//
//	go run ./tests/bench            (make bench: 30 iterations)
//	go run ./tests/bench -smoke     (make bench-smoke: 1 iteration, fewer containers)
//
// It runs as root. It re-executes itself in a private mount namespace
// (unshare --mount --propagation private) where an empty file hides
// /sys/fs/cgroup/unified/cgroup.controllers, so that crun 1.8.1 accepts this
// hybrid cgroup host; the host's mount table is never changed. Every
// container is deleted and every --root removed before it exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options are the command-line flags.
type Options struct {
	N         int           // iterations per scenario
	ParallelN int           // iterations of the parallel scenario
	Smoke     bool          // one iteration, few containers: a test that it works
	Out       string        // results directory ("" writes nothing)
	Gorun     string        // gorun binary
	Gap       time.Duration // idle gap before each sample of the idle variants
	ListN     int           // containers present for state and list
	Parallel  int           // lifecycles run at once
	Only      map[string]bool
	Verbose   bool
	Render    string // re-render results.md and results.svg from this results.json
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.Render != "" {
		if err := render(o.Render, o.Out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: must run as root (it creates containers with runc, crun and gorun)")
		os.Exit(1)
	}
	if os.Getenv(nsEnv) == "" {
		// First pass, on the host: install what is missing, then become
		// the same program in a private mount namespace.
		if err := ensureTools(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		err := reexecInPrivateMountNS()
		fmt.Fprintln(os.Stderr, "bench: re-exec under unshare:", err)
		os.Exit(1)
	}
	os.Exit(run(o))
}

func parseFlags() (*Options, error) {
	o := &Options{}
	flag.IntVar(&o.N, "n", 30, "iterations per scenario")
	flag.IntVar(&o.ParallelN, "parallel-n", 0, "iterations of the parallel scenario (default: n/3, at least 1)")
	flag.BoolVar(&o.Smoke, "smoke", false, "smoke test: 1 iteration, 10 containers for list, 4 parallel lifecycles")
	flag.StringVar(&o.Out, "out", "", "results directory (default bench-results, or bench-results/tmp/smoke with -smoke)")
	flag.StringVar(&o.Gorun, "gorun", "", "gorun binary (default $GORUN_BINARY, else ./gorun)")
	flag.DurationVar(&o.Gap, "gap", 200*time.Millisecond, "idle gap before each sample of the idle variants (not timed)")
	flag.IntVar(&o.ListN, "list", 100, "containers present for state and list")
	flag.IntVar(&o.Parallel, "parallel", 20, "lifecycles run in parallel")
	only := flag.String("only", "", "comma-separated scenario groups to run: "+strings.Join(groupNames(), ","))
	flag.BoolVar(&o.Verbose, "v", false, "print each sample")
	flag.StringVar(&o.Render, "render", "", "only re-render results.md and results.svg in -out from this results.json (no measuring)")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Smoke {
		o.N = 1
		if !set["list"] {
			o.ListN = 10
		}
		if !set["parallel"] {
			o.Parallel = 4
		}
		if !set["out"] {
			o.Out = filepath.Join("bench-results", "tmp", "smoke")
		}
	} else if !set["out"] {
		o.Out = "bench-results"
	}
	if o.ParallelN <= 0 {
		o.ParallelN = max(1, o.N/3)
	}
	if o.N < 1 || o.ListN < 1 || o.Parallel < 1 {
		return nil, fmt.Errorf("-n, -list and -parallel must be at least 1")
	}
	if *only != "" {
		o.Only = map[string]bool{}
		for _, g := range strings.Split(*only, ",") {
			if !validGroup(g) {
				return nil, fmt.Errorf("-only: unknown group %q (have %s)", g, strings.Join(groupNames(), ","))
			}
			o.Only[g] = true
		}
	}
	if o.Gorun == "" {
		o.Gorun = os.Getenv("GORUN_BINARY")
	}
	if o.Gorun == "" {
		o.Gorun = "gorun"
		if _, err := os.Stat(o.Gorun); err != nil {
			return nil, fmt.Errorf("no ./gorun: run `make build` or pass -gorun")
		}
	}
	abs, err := filepath.Abs(o.Gorun)
	if err != nil {
		return nil, err
	}
	o.Gorun = abs
	if o.Out != "" {
		if o.Out, err = filepath.Abs(o.Out); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// run measures everything, reports, cleans up, and returns the exit code:
// 0, or 1 if setup failed or any sample failed (never for a time).
func run(o *Options) int {
	b, err := newBench(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if b != nil {
			b.cleanup()
		}
		return 1
	}
	stopSignals := b.trapSignals()
	runErr := b.runAll()
	stopSignals()
	leftovers := b.cleanup()
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench:", runErr)
	}
	rep := b.report()
	rep.Meta.Leftovers = leftovers
	printReport(os.Stdout, rep)
	if o.Out != "" && runErr == nil {
		if err := writeResults(o.Out, rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Printf("\nresults: %s/{results.json,results.md,results.svg}\n", relPath(o.Out))
	}
	if runErr != nil || rep.Failures() > 0 || len(leftovers) > 0 {
		return 1
	}
	return 0
}

func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
