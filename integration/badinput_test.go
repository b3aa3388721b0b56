package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/tests/bundle"
	"github.com/gorun/gorun/tests/leakcheck"
)

// badEnv is what one bad-input case works with: its own state root, and
// the containers it made on purpose (which the failing command must leave
// as they were).
type badEnv struct {
	t        *testing.T
	root     string
	id       string // the id the case's command uses
	fixtures []string
}

// bundle makes a busybox bundle running a long sleep, lets mutate change
// its spec and writes it.
func (e *badEnv) bundle(mutate func(b *bundle.Bundle)) *bundle.Bundle {
	b := bundle.New(e.t, "sleep", "100")
	if mutate != nil {
		mutate(b)
	}
	writeBundle(e.t, b)
	return b
}

// rawBundle makes a bundle whose config.json holds exactly content.
func (e *badEnv) rawBundle(content string) *bundle.Bundle {
	b := bundle.New(e.t, "true")
	if err := os.WriteFile(b.ConfigPath(), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// created makes a fixture container in the created state.
func (e *badEnv) created(id string) {
	create(e.t, e.root, e.bundle(nil), id)
	e.fixtures = append(e.fixtures, id)
}

// running makes a fixture container in the running state.
func (e *badEnv) running(id string) {
	e.created(id)
	mustGorun(e.t, e.root, "start", id)
}

// stopped makes a fixture container whose process has exited.
func (e *badEnv) stopped(id string) {
	b := bundle.New(e.t, "true")
	create(e.t, e.root, b, id)
	e.fixtures = append(e.fixtures, id)
	mustGorun(e.t, e.root, "start", id)
	waitStatus(e.t, e.root, id, "stopped", 5*time.Second)
}

// badCase is one input gorun must refuse: exit 1, one line on stderr that
// contains every string of want, the same message at level error in the
// --log file, and nothing left behind.
type badCase struct {
	name string
	// args returns the command line after `--root ROOT`. Unless ownLog is
	// set, `--log FILE --log-format json` goes before it.
	args func(e *badEnv) []string
	want []string
	// ownLog: args sets --log itself (to logPlaceholder) and the format
	// is text.
	ownLog bool
}

const logPlaceholder = "@LOG@"

// createWith is the usual case: `create` of a bundle built by mutate.
func createWith(mutate func(b *bundle.Bundle)) func(e *badEnv) []string {
	return func(e *badEnv) []string {
		b := e.bundle(mutate)
		return []string{"create", "--bundle", b.Dir, e.id}
	}
}

// createRaw: `create` of a bundle whose config.json is content.
func createRaw(content string) func(e *badEnv) []string {
	return func(e *badEnv) []string {
		b := e.rawBundle(content)
		return []string{"create", "--bundle", b.Dir, e.id}
	}
}

// cli: a fixed command line; "@ID@" is replaced by the case's id.
func cliArgs(args ...string) func(e *badEnv) []string {
	return func(e *badEnv) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.ReplaceAll(a, "@ID@", e.id)
		}
		return out
	}
}

func userNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

var badCases = []badCase{
	// ---- config.json: syntax and types ----
	{name: "config_not_json", args: createRaw("this is not JSON\n"),
		want: []string{"config.json", "not valid JSON", "line 1, column 2"}},
	{name: "config_truncated", args: createRaw(`{"ociVersion": "1.0.0", "root": {"path": "rootfs"`),
		want: []string{"config.json", "unexpected end of file"}},
	{name: "config_empty", args: createRaw(""),
		want: []string{"config.json", "empty"}},
	{name: "config_top_level_array", args: createRaw(`[1, 2]`),
		want: []string{"config.json", "top-level value is an array"}},
	{name: "config_trailing_data", args: createRaw(`{"ociVersion": "1.0.0"} {}`),
		want: []string{"config.json", "after the JSON object"}},
	{name: "type_process_args_string",
		args: createRaw(`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": "sh", "cwd": "/"}}`),
		want: []string{"process.args", `"sh"`, "expected"}},
	{name: "type_root_path_number",
		args: createRaw(`{"ociVersion": "1.0.0", "root": {"path": 42}}`),
		want: []string{"root.path", `"42"`}},
	{name: "type_mount_options_string",
		args: createRaw(`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "mounts": [{"destination": "/proc", "type": "proc"}, {"destination": "/x", "type": "tmpfs", "options": "ro"}]}`),
		want: []string{"mounts[1].options", `"ro"`}},
	{name: "type_uid_negative",
		args: createRaw(`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/", "user": {"uid": -1}}}`),
		want: []string{"process.user.uid", `"-1"`}},

	// ---- config.json: required fields ----
	{name: "missing_ociVersion", args: createWith(func(b *bundle.Bundle) { b.Spec.Version = "" }),
		want: []string{"ociVersion", "missing"}},
	{name: "unsupported_ociVersion", args: createWith(func(b *bundle.Bundle) { b.Spec.Version = "2.0.0" }),
		want: []string{`ociVersion "2.0.0"`}},
	{name: "missing_root", args: createWith(func(b *bundle.Bundle) { b.Spec.Root = nil }),
		want: []string{"root", "missing"}},
	{name: "missing_process_on_create", args: createWith(func(b *bundle.Bundle) { b.Spec.Process = nil }),
		want: []string{"process", "missing"}},
	{name: "empty_process_args", args: createWith(func(b *bundle.Bundle) { b.Spec.Process.Args = nil }),
		want: []string{"process.args", "empty"}},
	{name: "relative_cwd", args: createWith(func(b *bundle.Bundle) { b.Spec.Process.Cwd = "tmp" }),
		want: []string{`process.cwd "tmp"`, "absolute"}},
	{name: "env_without_equals", args: createWith(func(b *bundle.Bundle) { b.Spec.Process.Env = append(b.Spec.Process.Env, "NOVALUE") }),
		want: []string{`process.env[2] "NOVALUE"`}},
	{name: "scheduler_fifo_without_priority", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO}
	}), want: []string{`process.scheduler.priority "0"`, "1 to 99"}},
	{name: "io_priority_out_of_range", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 9}
	}), want: []string{`process.ioPriority.priority "9"`}},
	{name: "memory_policy_node_beyond_host", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1000"}
	}), want: []string{"linux.memoryPolicy", "set_mempolicy", "/sys/devices/system/node"}},
	{name: "intel_rdt", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=f"}
	}), want: []string{`linux.intelRdt "gold"`, "not supported"}},

	// ---- config.json: root ----
	{name: "root_relative_outside_bundle",
		args: createWith(func(b *bundle.Bundle) { b.Spec.Root.Path = "../../no-such-rootfs" }),
		want: []string{`root.path "../../no-such-rootfs"`, "does not exist"}},
	{name: "root_is_host_root", args: createWith(func(b *bundle.Bundle) { b.Spec.Root.Path = "/" }),
		want: []string{`root.path "/"`, "host's root"}},

	// ---- config.json: mounts ----
	{name: "mount_empty_destination", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Type: "tmpfs", Source: "tmpfs"})
	}), want: []string{"mounts[7].destination", "empty"}},
	{name: "mount_relative_destination", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "data", Type: "tmpfs", Source: "tmpfs"})
	}), want: []string{`mounts[7].destination "data"`, "absolute"}},
	{name: "mount_bind_unknown_option", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "bogusopt"}})
	}), want: []string{`mounts[7].options[1] "bogusopt"`, "unknown option"}},
	{name: "mount_tmpfs_unknown_option", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"bogusopt"}})
	}), want: []string{"mounts[7]", "bogusopt"}},
	{name: "mount_bind_without_source", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Options: []string{"rbind"}})
	}), want: []string{"mounts[7].source", "without a source"}},
	{name: "mount_bind_missing_source", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/no-such-dir-for-gorun", Options: []string{"rbind"}})
	}), want: []string{"mounts[7]", "/no-such-dir-for-gorun"}},

	// ---- config.json: process ----
	{name: "unknown_capability", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, "CAP_BOGUS")
	}), want: []string{`process.capabilities.bounding[3] "CAP_BOGUS"`, "unknown capability"}},
	{name: "unknown_rlimit", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Process.Rlimits = append(b.Spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
	}), want: []string{`process.rlimits[1].type "RLIMIT_BOGUS"`, "unknown rlimit"}},
	{name: "rlimit_soft_above_hard", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}}
	}), want: []string{`process.rlimits[0].soft "2048"`}},
	{name: "oom_score_adj_out_of_range", args: createWith(func(b *bundle.Bundle) {
		v := 5000
		b.Spec.Process.OOMScoreAdj = &v
	}), want: []string{`process.oomScoreAdj "5000"`, "out of range"}},
	{name: "terminal_without_console_socket", args: createWith(func(b *bundle.Bundle) { b.Spec.Process.Terminal = true }),
		want: []string{`process.terminal "true"`, "console socket"}},

	// ---- config.json: linux ----
	{name: "uid_mappings_overlap", args: createWith(func(b *bundle.Bundle) {
		userNS(b.Spec)
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{
			{ContainerID: 0, HostID: 100000, Size: 65536},
			{ContainerID: 1000, HostID: 300000, Size: 10},
		}
	}), want: []string{`linux.uidMappings[1].containerID "1000"`, "overlaps"}},
	{name: "uid_mappings_host_overlap", args: createWith(func(b *bundle.Bundle) {
		userNS(b.Spec)
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{
			{ContainerID: 0, HostID: 100000, Size: 1000},
			{ContainerID: 5000, HostID: 100500, Size: 10},
		}
	}), want: []string{`linux.uidMappings[1].hostID "100500"`, "overlaps"}},
	{name: "uid_mappings_without_userns", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1}}
	}), want: []string{"linux.uidMappings", "no user namespace"}},
	{name: "unknown_namespace", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	}), want: []string{`linux.namespaces[6].type "bogus"`, "unknown namespace"}},
	{name: "duplicate_namespace", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}), want: []string{`linux.namespaces[6].type "pid"`, "duplicate"}},
	{name: "namespace_path_not_a_namespace", args: createWith(func(b *bundle.Bundle) {
		for i, ns := range b.Spec.Linux.Namespaces {
			if ns.Type == specs.MountNamespace {
				b.Spec.Linux.Namespaces[i].Path = "/etc/hostname"
			}
		}
	}), want: []string{`linux.namespaces[mnt].path "/etc/hostname"`, "setns", "/proc/PID/ns/TYPE"}},
	{name: "seccomp_bad_default_action", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}
	}), want: []string{`linux.seccomp.defaultAction "SCMP_ACT_BOGUS"`, "unknown seccomp action"}},
	{name: "seccomp_bad_rule_action", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: "SCMP_ACT_NOPE"}}}
	}), want: []string{`linux.seccomp.syscalls[0].action "SCMP_ACT_NOPE"`}},
	{name: "cgroups_path_dotdot", args: createWith(func(b *bundle.Bundle) { b.Spec.Linux.CgroupsPath = "/gorun/../../escape" }),
		want: []string{`linux.cgroupsPath "/gorun/../../escape"`}},
	{name: "sysctl_not_namespaced", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Sysctl = map[string]string{"kernel.panic": "1"}
	}), want: []string{`linux.sysctl "kernel.panic"`, "not namespaced"}},
	{name: "sysctl_without_its_namespace", args: createWith(func(b *bundle.Bundle) {
		dropNamespace(b.Spec, specs.NetworkNamespace)
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	}), want: []string{`linux.sysctl "net.ipv4.ip_forward"`, "network"}},
	{name: "hostname_without_uts", args: createWith(func(b *bundle.Bundle) {
		dropNamespace(b.Spec, specs.UTSNamespace)
	}), want: []string{`hostname "` + bundle.Hostname + `"`, "uts"}},
	{name: "device_bad_type", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "x", Major: 10, Minor: 229}}
	}), want: []string{`linux.devices[0].type "x"`}},
	{name: "masked_path_relative", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "proc/kcore")
	}), want: []string{`linux.maskedPaths[11] "proc/kcore"`}},
	{name: "memory_swappiness_out_of_range", args: createWith(func(b *bundle.Bundle) {
		v := uint64(200)
		b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Swappiness: &v}
	}), want: []string{"memory.swappiness", `"200"`}},

	// ---- config.json: hooks ----
	{name: "hook_path_relative", args: createWith(func(b *bundle.Bundle) {
		b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "hooks/setup.sh"}}}
	}), want: []string{`hooks.createRuntime[0].path "hooks/setup.sh"`, "absolute"}},
	{name: "hook_timeout_zero", args: createWith(func(b *bundle.Bundle) {
		zero := 0
		b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}
	}), want: []string{`hooks.poststart[0].timeout "0"`}},

	// ---- bundles ----
	{name: "bundle_missing", args: cliArgs("create", "--bundle", "/no-such-bundle-for-gorun", "@ID@"),
		want: []string{`bundle "/no-such-bundle-for-gorun"`, "does not exist"}},
	{name: "bundle_is_a_file", args: cliArgs("create", "--bundle", "/etc/hostname", "@ID@"),
		want: []string{`bundle "/etc/hostname"`, "not a directory"}},
	{name: "bundle_without_config", args: func(e *badEnv) []string {
		return []string{"create", "--bundle", e.t.TempDir(), e.id}
	}, want: []string{"bundle", "config.json not found"}},
	{name: "rootfs_missing", args: createWith(func(b *bundle.Bundle) {
		if err := os.RemoveAll(b.Rootfs); err != nil {
			panic(err)
		}
	}), want: []string{`root.path "rootfs"`, "does not exist"}},
	{name: "rootfs_is_a_file", args: createWith(func(b *bundle.Bundle) {
		os.RemoveAll(b.Rootfs)
		if err := os.WriteFile(b.Rootfs, []byte("not a directory\n"), 0o644); err != nil {
			panic(err)
		}
	}), want: []string{`root.path "rootfs"`, "not a directory"}},
	{name: "rootfs_symlink_loop", args: createWith(func(b *bundle.Bundle) {
		os.RemoveAll(b.Rootfs)
		os.Symlink("rootfs2", b.Rootfs)
		if err := os.Symlink("rootfs", filepath.Join(b.Dir, "rootfs2")); err != nil {
			panic(err)
		}
	}), want: []string{`root.path "rootfs"`, "symlink loop"}},

	// ---- command line ----
	{name: "cli_unknown_command", args: cliArgs("frobnicate"),
		want: []string{`unknown command "frobnicate"`}},
	{name: "cli_unknown_flag", args: cliArgs("create", "--frobnicate", "@ID@"),
		want: []string{"-frobnicate", "gorun create --help"}},
	{name: "cli_unknown_global_flag", args: cliArgs("--frobnicate", "list"),
		want: []string{"-frobnicate", "gorun --help"}},
	{name: "cli_missing_id_start", args: cliArgs("start"),
		want: []string{"arguments", "got 0 arguments", "gorun start ID"}},
	{name: "cli_missing_id_delete", args: cliArgs("delete", "--force"),
		want: []string{"arguments", "got 0 arguments", "gorun delete ID"}},
	{name: "cli_two_ids", args: cliArgs("state", "a", "b"),
		want: []string{"arguments", "got 2 arguments"}},
	{name: "cli_invalid_id", args: cliArgs("state", "../etc"),
		want: []string{`container id "../etc"`, "invalid container id"}},
	{name: "cli_unknown_signal", args: cliArgs("kill", "@ID@", "SIGFROB"),
		want: []string{`signal "SIGFROB"`, "unknown signal"}},
	{name: "cli_signal_out_of_range", args: cliArgs("kill", "@ID@", "65"),
		want: []string{`signal "65"`}},
	{name: "cli_negative_preserve_fds", args: func(e *badEnv) []string {
		return []string{"create", "--preserve-fds", "-1", "--bundle", e.bundle(nil).Dir, e.id}
	}, want: []string{`--preserve-fds "-1"`}},
	{name: "cli_exec_negative_preserve_fds", args: func(e *badEnv) []string {
		e.running(e.id)
		return []string{"exec", "--preserve-fds", "-3", e.id, "true"}
	}, want: []string{`--preserve-fds "-3"`}},
	{name: "cli_pid_file_unwritable", args: func(e *badEnv) []string {
		return []string{"create", "--pid-file", "/no-such-dir-for-gorun/init.pid", "--bundle", e.bundle(nil).Dir, e.id}
	}, want: []string{`--pid-file "/no-such-dir-for-gorun/init.pid"`}},
	{name: "cli_console_socket_missing", args: func(e *badEnv) []string {
		b := e.bundle(func(b *bundle.Bundle) { b.Spec.Process.Terminal = true })
		return []string{"create", "--console-socket", "/no-such-dir-for-gorun/tty.sock", "--bundle", b.Dir, e.id}
	}, want: []string{`--console-socket "/no-such-dir-for-gorun/tty.sock"`}},
	{name: "cli_root_unwritable", args: func(e *badEnv) []string {
		return []string{"--root", "/sys/gorun-unwritable", "create", "--bundle", e.bundle(nil).Dir, e.id}
	}, want: []string{`--root "/sys/gorun-unwritable"`, "operation not permitted"}},
	{name: "cli_root_under_a_file", args: func(e *badEnv) []string {
		return []string{"--root", "/etc/hostname/gorun", "create", "--bundle", e.bundle(nil).Dir, e.id}
	}, want: []string{`--root "/etc/hostname/gorun"`, "not a directory"}},
	{name: "cli_list_unknown_format", args: cliArgs("list", "--format", "yaml"),
		want: []string{`--format "yaml"`}},
	{name: "cli_unknown_log_format", ownLog: true, args: cliArgs("--log", logPlaceholder, "--log-format", "xml", "list"),
		want: []string{`--log-format "xml"`}},
	{name: "cli_systemd_cgroup", args: cliArgs("--systemd-cgroup", "list"),
		want: []string{"--systemd-cgroup"}},

	// ---- container state ----
	{name: "state_id_exists", args: func(e *badEnv) []string {
		e.created(e.id)
		return []string{"create", "--bundle", e.bundle(nil).Dir, e.id}
	}, want: []string{`container id "@ID@"`, "already exists"}},
	{name: "state_no_such_id", args: cliArgs("state", "@ID@"),
		want: []string{`container id "@ID@"`, "does not exist"}},
	{name: "start_no_such_id", args: cliArgs("start", "@ID@"),
		want: []string{`container id "@ID@"`, "does not exist"}},
	{name: "delete_no_such_id", args: cliArgs("delete", "@ID@"),
		want: []string{`container id "@ID@"`, "does not exist"}},
	{name: "kill_no_such_id", args: cliArgs("kill", "@ID@", "KILL"),
		want: []string{`container id "@ID@"`, "does not exist"}},
	{name: "start_running", args: func(e *badEnv) []string {
		e.running(e.id)
		return []string{"start", e.id}
	}, want: []string{`container @ID@ "running"`, "wrong state"}},
	{name: "delete_running", args: func(e *badEnv) []string {
		e.running(e.id)
		return []string{"delete", e.id}
	}, want: []string{`container @ID@ "running"`, "wrong state", "--force"}},
	{name: "kill_stopped", args: func(e *badEnv) []string {
		e.stopped(e.id)
		return []string{"kill", e.id, "TERM"}
	}, want: []string{`container @ID@ "stopped"`, "wrong state"}},
	{name: "start_stopped", args: func(e *badEnv) []string {
		e.stopped(e.id)
		return []string{"start", e.id}
	}, want: []string{`container @ID@ "stopped"`, "wrong state"}},
	{name: "resume_not_paused", args: func(e *badEnv) []string {
		e.running(e.id)
		return []string{"resume", e.id}
	}, want: []string{`container @ID@ "running"`, "paused"}},
}

// TestBadInput runs every bad-input case against the built binary.
func TestBadInput(t *testing.T) {
	setup(t)
	if n := len(badCases); n < 40 {
		t.Fatalf("only %d bad-input cases", n)
	}
	seen := map[string]bool{}
	for _, c := range badCases {
		if seen[c.name] {
			t.Fatalf("two cases named %s", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) { runBadCase(t, c) })
	}
}

func runBadCase(t *testing.T, c badCase) {
	root := t.TempDir()
	leakcheck.Register(t, root)
	e := &badEnv{t: t, root: root, id: containerID(t)}
	logFile := filepath.Join(t.TempDir(), "gorun.log")
	args := c.args(e)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, logPlaceholder, logFile)
	}
	if !c.ownLog {
		args = append([]string{"--log", logFile, "--log-format", "json"}, args...)
	}
	mustDelete(t, root, e.id)
	before := rootEntries(t, root)

	stdout, stderr, code := gorun(t, root, args...)
	want := make([]string, len(c.want))
	for i, w := range c.want {
		want[i] = strings.ReplaceAll(w, "@ID@", e.id)
	}
	what := "gorun " + strings.Join(args, " ")
	expectFailure(t, what, stdout, stderr, code, want...)
	line := errorLine(t, stderr)
	msg, ok := strings.CutPrefix(line, "gorun: ")
	if !ok {
		t.Errorf("%s: error line %q does not start with \"gorun: \"", what, line)
	}
	if stdout != "" {
		t.Errorf("%s: wrote to stdout: %q", what, stdout)
	}
	checkErrorLogged(t, logFile, msg, !c.ownLog)

	// Nothing new under --root: the failed command left no container.
	if after := rootEntries(t, root); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("%s: state root had %v, now %v", what, before, after)
	}
	// The fixtures are as they were: the failed command did not
	// corrupt them.
	for _, id := range e.fixtures {
		var s containerState
		out := mustGorun(t, root, "state", id)
		if err := json.Unmarshal([]byte(out), &s); err != nil || s.ID != id {
			t.Errorf("fixture %s after the failure: state %q (%v)", id, out, err)
		}
	}
}

// rootEntries lists the names under a state root (none if it is missing).
func rootEntries(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() != "@cache" { // compiled seccomp profiles, kept on purpose
			names = append(names, e.Name())
		}
	}
	return names
}

// checkErrorLogged checks that the --log file holds exactly one record at
// level error, and that its message is msg: a JSON line with
// "level":"error", or with jsonFormat false a text line with level=error.
func checkErrorLogged(t *testing.T, logFile, msg string, jsonFormat bool) {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Errorf("--log file: %v", err)
		return
	}
	var errorLines []string
	for _, l := range lines(string(data)) {
		if jsonFormat {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Errorf("--log file: line is not JSON: %q", l)
				continue
			}
			if rec["level"] == "error" {
				errorLines = append(errorLines, l)
				if rec["msg"] != msg {
					t.Errorf("--log file: error message %q, want %q (as on stderr)", rec["msg"], msg)
				}
			}
		} else if strings.Contains(l, "level=error") {
			errorLines = append(errorLines, l)
			if !strings.Contains(l, "msg="+strconv.Quote(msg)) {
				t.Errorf("--log file: line %q lacks msg=%s", l, strconv.Quote(msg))
			}
		}
	}
	if len(errorLines) != 1 {
		t.Errorf("--log file: %d lines at level error, want 1:\n%s", len(errorLines), data)
	}
}
