package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
)

// createMustFail runs `gorun create` on b and checks that it fails with
// exit 1 and one line on stderr that contains every string of want and at
// least one of anyOf (if given), and that nothing is left in the state
// root. It returns the error line.
func createMustFail(t *testing.T, root string, dir string, want, anyOf []string) string {
	t.Helper()
	id := containerID(t)
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", dir, id)
	expectFailure(t, "create", out, errOut, code, want...)
	line := errorLine(t, errOut)
	t.Logf("error: %s", line)
	if len(anyOf) > 0 {
		found := false
		for _, a := range anyOf {
			found = found || strings.Contains(line, a)
		}
		if !found {
			t.Errorf("error %q names none of %q", line, anyOf)
		}
	}
	if ents := containerDirs(root); len(ents) != 0 {
		t.Errorf("state root not empty after a failed create: %v", ents)
	}
	return line
}

// writeRawConfig writes b's spec as JSON after edit has changed its
// generic form.
func writeRawConfig(t *testing.T, b *bundle.Bundle, edit func(m map[string]any)) {
	t.Helper()
	data, err := json.Marshal(b.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.ConfigPath(), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestErrNoConfig(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	if err := os.Remove(b.ConfigPath()); err != nil {
		t.Fatal(err)
	}
	createMustFail(t, root, b.Dir, []string{"config.json"}, nil)
}

func TestErrConfigNotJSON(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	if err := os.WriteFile(b.ConfigPath(), []byte("{\"ociVersion\": \"1.0.2\", this is not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	createMustFail(t, root, b.Dir, []string{"config.json"}, nil)
}

func TestErrArgsWrongType(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	writeRawConfig(t, b, func(m map[string]any) {
		m["process"].(map[string]any)["args"] = "sh"
	})
	createMustFail(t, root, b.Dir, []string{"process.args"}, nil)
}

func TestErrMissingRootfs(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	if err := os.RemoveAll(b.Rootfs); err != nil {
		t.Fatal(err)
	}
	createMustFail(t, root, b.Dir, nil, []string{"root.path", b.Rootfs, `"rootfs"`})
}

func TestErrUnknownNamespace(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
	writeBundle(t, b)
	createMustFail(t, root, b.Dir, []string{"foo"}, nil)
}

func TestErrRelativeMountDestination(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "data", Type: "tmpfs", Source: "tmpfs"})
	writeBundle(t, b)
	field := "mounts[" + strconv.Itoa(len(b.Spec.Mounts)-1) + "].destination"
	createMustFail(t, root, b.Dir, nil, []string{field, `"data"`})
}

func TestErrUnknownSignal(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	create(t, root, bundle.New(t, "sleep", "100"), id)
	out, errOut, code := gorun(t, root, "kill", id, "SIGFOO")
	expectFailure(t, "kill SIGFOO", out, errOut, code, "SIGFOO")
	if st := state(t, root, id); st.Status != "created" {
		t.Errorf("after kill SIGFOO: status %q", st.Status)
	}
}

func TestErrIDExists(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := bundle.New(t, "sleep", "100")
	create(t, root, b, id)
	before := state(t, root, id)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, id)
	expectFailure(t, "second create", out, errOut, code, id)
	after := state(t, root, id)
	if after.Status != "created" || after.Pid != before.Pid || !pidAlive(before.Pid) {
		t.Errorf("the first container was disturbed: before %+v, after %+v", before, after)
	}
	if ids := lines(mustGorun(t, root, "list", "-q")); len(ids) != 1 {
		t.Errorf("list -q: %v", ids)
	}
}

func TestErrInvalidID(t *testing.T) {
	root := setup(t)
	b := bundle.New(t)
	out, errOut, code := gorun(t, root, "create", "--bundle", b.Dir, "a/b")
	expectFailure(t, "create a/b", out, errOut, code, "a/b")
	if ents := containerDirs(root); len(ents) != 0 {
		t.Errorf("state root not empty: %v", ents)
	}
	if _, err := os.Lstat(filepath.Join(root, "a")); err == nil {
		t.Error("a/b created a directory a")
	}
}

func TestErrStateUnknownID(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	out, errOut, code := gorun(t, root, "state", id)
	expectFailure(t, "state of an unknown id", out, errOut, code, id)
	if out != "" {
		t.Errorf("stdout %q", out)
	}
}

// TestErrLogJSON: with --log and --log-format json, a failing command logs
// a JSON line at level "error" (lowercase, as containerd's shim expects)
// whose msg is the error printed on stderr.
func TestErrLogJSON(t *testing.T) {
	root := setup(t)
	id := containerID(t)
	b := bundle.New(t)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
	writeBundle(t, b)
	logFile := filepath.Join(t.TempDir(), "gorun.log")
	mustDelete(t, root, id)
	out, errOut, code := gorun(t, root, "--log", logFile, "--log-format", "json", "create", "--bundle", b.Dir, id)
	expectFailure(t, "create", out, errOut, code, "foo")
	stderrMsg := strings.TrimPrefix(errorLine(t, errOut), "gorun: ")

	var errMsgs []string
	for _, l := range lines(readFileOrEmpty(logFile)) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("log line is not JSON: %q: %v", l, err)
			continue
		}
		if entry["level"] == "error" {
			msg, _ := entry["msg"].(string)
			errMsgs = append(errMsgs, msg)
		}
	}
	if len(errMsgs) == 0 {
		t.Fatalf("no line with \"level\":\"error\" in the log:\n%s", readFileOrEmpty(logFile))
	}
	if last := errMsgs[len(errMsgs)-1]; last != stderrMsg {
		t.Errorf("last error msg in the log %q, stderr says %q", last, stderrMsg)
	}
}
