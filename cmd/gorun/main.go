// Command gorun is a low-level OCI container runtime with runc's command
// line: containerd, podman and Kubernetes drive it as they drive runc.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/sys/userns"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/gorun/gorun/libcontainer"
	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/initproc"
	_ "github.com/gorun/gorun/libcontainer/nsenter"
)

// Set at build time by the Makefile.
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func init() {
	// Keep the main goroutine on the main thread: a goroutine that locks a
	// thread to join a container's namespaces then exits must never leave
	// the main thread in them, and the init sets per-thread credentials.
	runtime.LockOSThread()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv(initproc.SyncEnv) != "" {
		initproc.Main()
		return
	}
	if os.Getenv(libcontainer.HoldEnv) != "" {
		libcontainer.HoldMain()
	}
	os.Exit(run(os.Args))
}

func run(args []string) int {
	app := newApp()
	err := app.Run(args)
	if e, ok := app.Metadata[unknownCommand].(error); ok && err == nil {
		err = e
	}
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			return int(ec)
		}
		report(err)
		return 1
	}
	return 0
}

// exitCode is returned by a command that exits with a status of its own
// (run and exec pass on the container process's).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// report prints one error line on stderr and logs it at level "error".
func report(err error) {
	msg := err.Error()
	fmt.Fprintln(os.Stderr, "gorun: "+msg)
	if logToFile {
		slog.Error(msg)
	}
}

var logToFile bool

// unknownCommand is the app.Metadata key of an unknown command's error.
const unknownCommand = "gorun.unknownCommand"

func newApp() *cli.App {
	app := &cli.App{
		Name:  "gorun",
		Usage: "run OCI containers (a runc-compatible runtime)",
		Description: `gorun runs a container from an OCI bundle: a directory with a config.json
and a root filesystem. The container is an ordinary process of the host's one
kernel, given its own view of it: namespaces (pid, mount, network, uts, ipc,
cgroup, user, time) and a cgroup that limits what it may use.`,
		Version:                fmt.Sprintf("%s\ncommit: %s\nspec: %s", version, commit, rspec.Version),
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for the containers' state"},
			&cli.StringFlag{Name: "log", Usage: "write logs to `FILE` (default: stderr)", Destination: &logFlags.path},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json", Destination: &logFlags.format},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "have systemd make each new container's cgroup, a transient scope named by linux.cgroupsPath as slice:prefix:name (default system.slice:gorun:ID; needs systemd)"},
			&cli.StringFlag{Name: "criu", Hidden: true},
			&cli.StringFlag{Name: "rootless", Value: "auto", Hidden: true},
		},
		Before: setup,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, listCommand,
			killCommand, deleteCommand, execCommand, psCommand, pauseCommand, resumeCommand,
			updateCommand, eventsCommand, specCommand, featuresCommand,
			podCommand,
		},
		ExitErrHandler: func(*cli.Context, error) {},
		Writer:         os.Stdout,
		ErrWriter:      os.Stderr,
		// urfave/cli returns success after CommandNotFound: the error is
		// left for run() to report, as every other one (no os.Exit here,
		// so that tests can call run()).
		CommandNotFound: func(ctx *cli.Context, name string) {
			ctx.App.Metadata[unknownCommand] = fmt.Errorf("unknown command %q (`gorun --help` lists the commands)", name)
		},
		Metadata:     map[string]any{},
		OnUsageError: usageError,
	}
	for _, c := range app.Commands {
		setUsageError(c)
	}
	return app
}

// usageError turns a flag error into one line, without the usage text.
func usageError(ctx *cli.Context, err error, _ bool) error {
	if !logToFile && logFlags.path != "" {
		// A global flag did not parse, so setup has not run: log this
		// error to the --log given before it all the same.
		_ = setupLog(logFlags.path, logFlags.format, false)
	}
	name := "gorun"
	if ctx.Command != nil && ctx.Command.Name != "" && ctx.Command.Name != "gorun" {
		name += " " + ctx.Command.Name
	}
	return fmt.Errorf("%v (`%s --help` lists the options)", err, name)
}

// setUsageError sets usageError on c and every command below it, once
// each: urfave/cli adds its shared help command below the commands it runs,
// so in a process that runs the app more than once (the fuzz test) the
// command tree can loop.
func setUsageError(c *cli.Command) {
	seen := map[*cli.Command]bool{}
	var walk func(*cli.Command)
	walk = func(c *cli.Command) {
		if seen[c] {
			return
		}
		seen[c] = true
		c.OnUsageError = usageError
		for _, sub := range c.Subcommands {
			walk(sub)
		}
	}
	walk(c)
}

// defaultRoot is the state root without --root: $XDG_RUNTIME_DIR/gorun for
// a user without root, and for root of a user namespace that is not the
// host's root user (rootless podman runs the runtime so, with no --root);
// /run/gorun otherwise.
func defaultRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && honorXDG() {
		return d + "/gorun"
	}
	return "/run/gorun"
}

func honorXDG() bool {
	if os.Geteuid() != 0 {
		return true
	}
	if !userns.RunningInUserNS() {
		return false
	}
	u, ok := os.LookupEnv("USER")
	return !ok || u != "root"
}

// logFlags are --log and --log-format, stored as they are parsed: they are
// known even when a later global flag fails to parse (urfave/cli then
// drops the parsed flags).
var logFlags struct{ path, format string }

// setup configures logging from the global flags.
func setup(ctx *cli.Context) error {
	if err := setupLog(ctx.String("log"), ctx.String("log-format"), ctx.Bool("debug")); err != nil {
		return err
	}
	// An absolute --root, as runc makes it: paths recorded under it (a
	// pod's namespaces) must not depend on the directory of the call.
	if r := ctx.String("root"); r != "" && !filepath.IsAbs(r) {
		abs, err := filepath.Abs(r)
		if err != nil {
			return &errs.Error{Field: "--root", Value: r, Err: err}
		}
		if err := ctx.Set("root", abs); err != nil {
			return err
		}
	}
	if ctx.Bool("systemd-cgroup") {
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			return errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); drop the flag to use cgroupfs")
		}
	}
	return nil
}

// setupLog sends slog's records to the file p (stderr if p is empty) in
// format (text or json).
func setupLog(p, format string, debug bool) error {
	var w io.Writer = os.Stderr
	if p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--log %q: %w", p, err)
		}
		w = f
		logToFile = true
	}
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: lowerLevel}
	switch format {
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(w, opts)))
	case "text":
		slog.SetDefault(slog.New(slog.NewTextHandler(w, opts)))
	default:
		// Log this error too, in the default format.
		slog.SetDefault(slog.New(slog.NewTextHandler(w, opts)))
		return fmt.Errorf("--log-format %q: unknown format (use text or json)", format)
	}
	return nil
}

// lowerLevel writes levels as runc's logrus does ("error", not "ERROR"):
// containerd's shim shows the user only lines whose level is "error".
func lowerLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
	}
	return a
}
