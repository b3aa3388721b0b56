package main

import (
	"os"
	"strings"
	"testing"
)

// cliUnsafe are the commands (and aliases) the fuzz test never runs: they
// could start a container.
var cliUnsafe = map[string]bool{"create": true, "run": true, "exec": true}

// fuzzArgs splits the fuzz input into arguments at NUL bytes (an argument
// cannot hold one) and says whether they are safe to run: no command that
// starts a container, and no path that leaves the test's directory (no
// "/", no ".."), so that --log, --root, --bundle and `spec` write only
// there. --log is left out too: every parse opens the file again, and in
// one process those files would add up.
func fuzzArgs(input string) ([]string, bool) {
	if input == "" {
		return nil, true
	}
	args := strings.Split(input, "\x00")
	for _, a := range args {
		flag := strings.TrimLeft(a, "-")
		switch {
		case cliUnsafe[a], strings.Contains(a, "/"), strings.Contains(a, ".."),
			flag == "log" || strings.HasPrefix(flag, "log="):
			return nil, false
		}
	}
	return args, true
}

// FuzzCLIArgs runs gorun's argument parsing and the commands that cannot
// start a container (state, list, kill, delete, spec, ...) on arbitrary
// arguments, with --root in a temporary directory, and checks that it
// never panics and exits 0 or 1. No container exists under that root, so
// the commands on containers fail after parsing.
func FuzzCLIArgs(f *testing.F) {
	for _, seed := range []string{
		"",
		"list",
		"list\x00--format\x00json",
		"list\x00-q",
		"state\x00x",
		"kill\x00x\x00SIGKILL",
		"kill\x00--all\x00x\x00RTMIN+3",
		"delete\x00--force\x00x",
		"spec\x00--rootless",
		"--log-format\x00json\x00state",
		"--debug\x00delete\x00-f\x00a\x00b",
		"--frobnicate",
		"frobnicate",
		"--help",
		"features",
	} {
		f.Add(seed)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { devnull.Close() })
	f.Fuzz(func(t *testing.T, input string) {
		args, ok := fuzzArgs(input)
		if !ok {
			t.Skip("could start a container or write outside the test's directory")
		}
		dir := t.TempDir()
		t.Chdir(dir)
		// gorun writes its output and errors to os.Stdout and os.Stderr.
		stdout, stderr := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = devnull, devnull
		defer func() { os.Stdout, os.Stderr = stdout, stderr }()
		argv := append([]string{"gorun", "--root", "state"}, args...)
		if code := run(argv); code != 0 && code != 1 {
			t.Fatalf("run(%q) = %d, want 0 or 1", argv, code)
		}
	})
}

// TestCLIErrorsExit1 checks a few argument errors through run(): exit 1,
// never a panic or os.Exit (which would end this test binary).
func TestCLIErrorsExit1(t *testing.T) {
	t.Chdir(t.TempDir())
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = devnull, devnull
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	for _, args := range [][]string{
		{"frobnicate"},
		{"--frobnicate", "list"},
		{"list", "--frobnicate"},
		{"state"},
		{"kill", "x", "SIGFROB"},
		{"--log-format", "xml", "list"},
	} {
		if code := run(append([]string{"gorun", "--root", "state"}, args...)); code != 1 {
			t.Errorf("gorun %s: exit %d, want 1", strings.Join(args, " "), code)
		}
	}
}
