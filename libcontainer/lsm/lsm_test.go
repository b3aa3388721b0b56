package lsm

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
)

// fakeHost replaces the host's LSMs for one test and records what would
// have been written.
type fakeHost struct {
	attrs               map[string]string
	execLabel, keyLabel string
}

func useFake(t *testing.T, apparmor, selinux bool) *fakeHost {
	f := &fakeHost{attrs: map[string]string{}}
	saved := host
	t.Cleanup(func() { host = saved })
	host.apparmorEnabled = func() bool { return apparmor }
	host.selinuxEnabled = func() bool { return selinux }
	host.writeAttr = func(name, value string) error {
		f.attrs[name] = value
		return nil
	}
	host.setExecLabel = func(l string) error { f.execLabel = l; return nil }
	host.setKeyLabel = func(l string) error { f.keyLabel = l; return nil }
	return f
}

const label = "system_u:system_r:container_t:s0:c1,c2"

func TestCheckWithoutLSMs(t *testing.T) {
	useFake(t, false, false)
	cases := []struct {
		p     *rspec.Process
		l     *rspec.Linux
		field string
	}{
		{&rspec.Process{ApparmorProfile: "gorun-default"}, nil, "process.apparmorProfile"},
		{&rspec.Process{SelinuxLabel: label}, nil, "process.selinuxLabel"},
		{&rspec.Process{}, &rspec.Linux{MountLabel: label}, "linux.mountLabel"},
	}
	for _, c := range cases {
		err := Check(c.p, c.l)
		var e *errs.Error
		if !errors.As(err, &e) || e.Field != c.field || !strings.Contains(err.Error(), "not enabled on this host") {
			t.Errorf("Check(%+v, %+v) = %v, want an error for %s", c.p, c.l, err, c.field)
		}
	}
	if err := Check(&rspec.Process{}, &rspec.Linux{}); err != nil {
		t.Errorf("nothing asked: %v", err)
	}
}

func TestCheckWithLSMs(t *testing.T) {
	useFake(t, true, true)
	if err := Check(&rspec.Process{ApparmorProfile: "p", SelinuxLabel: label}, &rspec.Linux{MountLabel: label}); err != nil {
		t.Error(err)
	}
}

func TestApplyExec(t *testing.T) {
	f := useFake(t, true, true)
	if err := ApplyExec(&rspec.Process{ApparmorProfile: "gorun-default", SelinuxLabel: label}); err != nil {
		t.Fatal(err)
	}
	if got := f.attrs["apparmor/exec"]; got != "exec gorun-default" {
		t.Errorf("attr/apparmor/exec = %q", got)
	}
	if f.execLabel != label {
		t.Errorf("exec label %q", f.execLabel)
	}
	if err := SetKeyLabel(&rspec.Process{SelinuxLabel: label}); err != nil || f.keyLabel != label {
		t.Errorf("key label %q, %v", f.keyLabel, err)
	}
}

// TestApplyExecOldKernel: without attr/apparmor/ (before Linux 5.8) the
// profile goes to attr/exec.
func TestApplyExecOldKernel(t *testing.T) {
	f := useFake(t, true, false)
	host.writeAttr = func(name, value string) error {
		if strings.HasPrefix(name, "apparmor/") {
			return fmt.Errorf("open attr/%s: %w", name, os.ErrNotExist)
		}
		f.attrs[name] = value
		return nil
	}
	if err := ApplyExec(&rspec.Process{ApparmorProfile: "p"}); err != nil {
		t.Fatal(err)
	}
	if f.attrs["exec"] != "exec p" {
		t.Errorf("attrs %v", f.attrs)
	}
}

func TestNothingAskedNothingWritten(t *testing.T) {
	f := useFake(t, true, true)
	if err := ApplyExec(&rspec.Process{}); err != nil {
		t.Fatal(err)
	}
	if err := SetKeyLabel(&rspec.Process{}); err != nil {
		t.Fatal(err)
	}
	if len(f.attrs) != 0 || f.execLabel != "" || f.keyLabel != "" {
		t.Errorf("wrote %v %q %q", f.attrs, f.execLabel, f.keyLabel)
	}
}

func TestMountData(t *testing.T) {
	cases := []struct{ typ, data, label, want string }{
		{"tmpfs", "mode=755,size=65536k", label, `mode=755,size=65536k,context="` + label + `"`},
		{"devpts", "", label, `context="` + label + `"`},
		{"mqueue", "", "", ""},
		{"proc", "hidepid=2", label, "hidepid=2"},
		{"sysfs", "", label, ""},
		{"cgroup", "memory", label, "memory"},
	}
	for _, c := range cases {
		if got := MountData(c.typ, c.data, c.label); got != c.want {
			t.Errorf("MountData(%q, %q, %q) = %q, want %q", c.typ, c.data, c.label, got, c.want)
		}
	}
}

func TestLooksLikeSELinuxContext(t *testing.T) {
	for s, want := range map[string]bool{
		"system_u:system_r:unconfined_t:s0-s0:c0.c1023\x00": true,
		"unconfined_u:unconfined_r:unconfined_t:s0\n":       true,
		"unconfined\n":               false,
		"docker-default (enforce)\n": false,
		"":                           false,
	} {
		if looksLikeSELinuxContext(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}

// TestThisHost: on a host without either module (this project's test
// machines) the real probes say so.
func TestThisHost(t *testing.T) {
	t.Logf("apparmor %v, selinux %v", apparmorEnabled(), selinuxEnabled())
	if _, err := readThreadAttr("current"); err != nil {
		t.Logf("attr/current: %v", err)
	}
}
