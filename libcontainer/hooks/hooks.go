// Package hooks runs the config's lifecycle hooks: each hook's path with
// its args and env, the container's state JSON on stdin, within its
// timeout.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/nsenter"
)

// Run runs hooks of one kind ("prestart", "poststart", ...) in order and
// stops at the first that fails.
func Run(kind string, hooks []rspec.Hook, st *rspec.State) error {
	return run(kind, hooks, st, false)
}

// RunAll runs every hook of one kind, whatever fails (poststop: runtime-spec
// asks for a warning and the remaining hooks), and returns the failures.
func RunAll(kind string, hooks []rspec.Hook, st *rspec.State) error {
	return run(kind, hooks, st, true)
}

func run(kind string, hooks []rspec.Hook, st *rspec.State, all bool) error {
	if len(hooks) == 0 {
		return nil
	}
	stdin, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var failed []error
	for i, h := range hooks {
		if err := runOne(h, stdin); err != nil {
			err = &errs.Error{Field: fmt.Sprintf("hooks.%s[%d]", kind, i), Value: h.Path, Err: err}
			if !all {
				return err
			}
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

func runOne(h rspec.Hook, stdin []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := nsenter.WithCallerTimerSlack(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, firstLine(msg))
		}
		return err
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
