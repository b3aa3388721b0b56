package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// startupCost lists packages that must not be linked into gorun: every
// gorun process (each command, the container's init, an exec'd process
// before it execs) runs the init functions of every package linked in,
// before main. These cost ~0.1 ms per process here and nothing in gorun
// needs them; each entry says what brought it in before.
var startupCost = map[string]string{
	// containernetworking/cni v1.3.1's pkg/invoke passes OpenTelemetry
	// trace context to plugins; v1.3.0, with the same libcni API, does not.
	"go.opentelemetry.io/otel/propagation": "containernetworking/cni newer than v1.3.0",
	"net/http":                             "OpenTelemetry's propagation package",
	"crypto/tls":                           "net/http",
	// urfave/cli's man page and markdown generator, left out by the
	// urfave_cli_no_docs build tag.
	"github.com/cpuguy83/go-md2man/v2/md2man": "urfave/cli built without urfave_cli_no_docs",
}

// TestStartupDependencies fails when a dependency update brings one of
// startupCost's packages into the binary the Makefile builds.
func TestStartupDependencies(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD_TAGS\s*:=\s*(\S+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no BUILD_TAGS in the Makefile")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("no go command to list the dependencies with")
		}
	}
	out, err := exec.Command(goBin, "list", "-deps", "-tags", string(m[1]), ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed %d packages: not gorun's", len(deps))
	}
	for _, d := range deps {
		if why, ok := startupCost[d]; ok {
			t.Errorf("gorun links %s (brought in by %s): its package init runs in every gorun process", d, why)
		}
	}
}
