package specs

import (
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	libseccomp "github.com/gorun/gorun/libcontainer/seccomp"
)

func TestDefaultSeccompBuilds(t *testing.T) {
	sc := Default().Linux.Seccomp
	if sc == nil || sc.DefaultAction != rspec.ActErrno {
		t.Fatalf("default profile %+v", sc)
	}
	if err := Validate(Default(), newBundle(t), true); err != nil {
		t.Fatal(err)
	}
	f, err := libseccomp.Build(sc)
	if err != nil {
		t.Fatal(err)
	}
	f.Release()
	t.Logf("%d names unknown to this libseccomp, skipped: %v", len(f.Skipped), f.Skipped)
}

// TestDefaultSeccompRefuses: what reaches past the container is not on the
// allow list, and every name is there once.
func TestDefaultSeccompRefuses(t *testing.T) {
	allowed := map[string]int{}
	for _, r := range DefaultSeccomp().Syscalls {
		if r.Action == rspec.ActAllow && len(r.Args) == 0 {
			for _, n := range r.Names {
				allowed[n]++
			}
		}
	}
	for _, n := range []string{
		"mount", "umount", "umount2", "pivot_root", "unshare", "setns", "keyctl", "add_key",
		"request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "init_module",
		"finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon",
		"swapoff", "clock_settime", "settimeofday", "open_by_handle_at", "fsopen", "fsmount",
		"move_mount", "open_tree", "quotactl", "syslog", "acct", "clone", "clone3", "personality",
	} {
		if allowed[n] > 0 {
			t.Errorf("%s is allowed without conditions", n)
		}
	}
	for n, c := range allowed {
		if c > 1 {
			t.Errorf("%s listed %d times", n, c)
		}
	}
	if kernelAtLeast(4, 8) != (allowed["ptrace"] == 1) {
		t.Errorf("ptrace allowed %v on a kernel >= 4.8: %v", allowed["ptrace"] == 1, kernelAtLeast(4, 8))
	}
	if !kernelAtLeast(2, 6) || kernelAtLeast(999, 0) {
		t.Error("kernelAtLeast is wrong")
	}
}
