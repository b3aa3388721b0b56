package specs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// bindMount is a valid bind mount appended as mounts[7] in cases below.
func bindMount(opts ...string) rspec.Mount {
	return rspec.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: opts}
}

func withUserNS(s *rspec.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: rspec.UserNamespace})
	s.Linux.UIDMappings = []rspec.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []rspec.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestValidateBad(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(s *rspec.Spec, bundle string)
		field string
		value string
	}{
		{"no version", func(s *rspec.Spec, _ string) { s.Version = "" }, "ociVersion", "missing"},
		{"version 2", func(s *rspec.Spec, _ string) { s.Version = "2.0.0" }, "ociVersion", "2.0.0"},
		{"version v1", func(s *rspec.Spec, _ string) { s.Version = "v1.0.0" }, "ociVersion", "v1.0.0"},
		{"no root", func(s *rspec.Spec, _ string) { s.Root = nil }, "root", "missing"},
		{"empty root path", func(s *rspec.Spec, _ string) { s.Root.Path = "" }, "root.path", "empty"},
		{"missing rootfs", func(s *rspec.Spec, _ string) { s.Root.Path = "nope" }, "root.path", "nope"},
		{"rootfs is a file", func(s *rspec.Spec, b string) {
			os.WriteFile(filepath.Join(b, "file"), nil, 0o644)
			s.Root.Path = "file"
		}, "root.path", "not a directory"},
		{"rootfs symlink loop", func(s *rspec.Spec, b string) {
			os.Symlink("loop", filepath.Join(b, "loop"))
			s.Root.Path = "loop"
		}, "root.path", "symlink loop"},
		{"rootfs is host root", func(s *rspec.Spec, _ string) { s.Root.Path = "/" }, "root.path", `"/"`},
		{"rootfs links to host root", func(s *rspec.Spec, b string) {
			os.Symlink("/", filepath.Join(b, "host"))
			s.Root.Path = "host"
		}, "root.path", "host"},
		{"no process", func(s *rspec.Spec, _ string) { s.Process = nil }, "process", "missing"},
		{"no args", func(s *rspec.Spec, _ string) { s.Process.Args = nil }, "process.args", "empty"},
		{"empty args[0]", func(s *rspec.Spec, _ string) { s.Process.Args = []string{""} }, "process.args[0]", "empty"},
		{"relative cwd", func(s *rspec.Spec, _ string) { s.Process.Cwd = "tmp" }, "process.cwd", "tmp"},
		{"empty cwd", func(s *rspec.Spec, _ string) { s.Process.Cwd = "" }, "process.cwd", "empty"},
		{"env without =", func(s *rspec.Spec, _ string) { s.Process.Env = append(s.Process.Env, "FOO") }, "process.env[2]", "FOO"},
		{"env empty name", func(s *rspec.Spec, _ string) { s.Process.Env = append(s.Process.Env, "=x") }, "process.env[2]", "=x"},
		{"unknown capability", func(s *rspec.Spec, _ string) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_FOO")
		}, "process.capabilities.bounding[3]", "CAP_FOO"},
		{"lowercase capability", func(s *rspec.Spec, _ string) {
			s.Process.Capabilities.Ambient = []string{"chown"}
		}, "process.capabilities.ambient[0]", "did you mean CAP_CHOWN"},
		{"unknown rlimit", func(s *rspec.Spec, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, rspec.POSIXRlimit{Type: "RLIMIT_FOO"})
		}, "process.rlimits[1].type", "RLIMIT_FOO"},
		{"soft above hard", func(s *rspec.Spec, _ string) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0].soft", "2048"},
		{"duplicate rlimit", func(s *rspec.Spec, _ string) {
			s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0])
		}, "process.rlimits[1].type", "RLIMIT_NOFILE"},
		{"oom score", func(s *rspec.Spec, _ string) { s.Process.OOMScoreAdj = ptr(1001) }, "process.oomScoreAdj", "1001"},
		{"umask", func(s *rspec.Spec, _ string) { s.Process.User.Umask = ptr(uint32(0o1000)) }, "process.user.umask", "512"},
		{"io priority", func(s *rspec.Spec, _ string) {
			s.Process.IOPriority = &rspec.LinuxIOPriority{Class: "IOPRIO_CLASS_FAST"}
		}, "process.ioPriority.class", "IOPRIO_CLASS_FAST"},
		{"empty destination", func(s *rspec.Spec, _ string) { s.Mounts[0].Destination = "" }, "mounts[0].destination", "empty"},
		{"relative destination", func(s *rspec.Spec, _ string) {
			s.Mounts = append(s.Mounts, rspec.Mount{Destination: "data", Type: "tmpfs", Source: "tmpfs"})
		}, "mounts[7].destination", "data"},
		{"bind without source", func(s *rspec.Spec, _ string) {
			m := bindMount("rbind")
			m.Source = ""
			s.Mounts = append(s.Mounts, m)
		}, "mounts[7].source", "without a source"},
		{"bind unknown option", func(s *rspec.Spec, _ string) {
			s.Mounts = append(s.Mounts, bindMount("rbind", "rwx"))
		}, "mounts[7].options[1]", "rwx"},
		{"none-type unknown option", func(s *rspec.Spec, _ string) {
			m := bindMount("bind", "nosiud")
			m.Type = "none"
			s.Mounts = append(s.Mounts, m)
		}, "mounts[7].options[1]", "nosiud"},
		{"empty option", func(s *rspec.Spec, _ string) { s.Mounts[1].Options[1] = "" }, "mounts[1].options[1]", "empty"},
		{"no mount type", func(s *rspec.Spec, _ string) { s.Mounts[0].Type = "" }, "mounts[0].type", "empty"},
		{"idmapped mount size", func(s *rspec.Spec, _ string) {
			m := bindMount("rbind", "idmap")
			m.UIDMappings = []rspec.LinuxIDMapping{{ContainerID: 0, HostID: 1000}}
			s.Mounts = append(s.Mounts, m)
		}, "mounts[7].uidMappings[0].size", "0"},
		{"hook relative path", func(s *rspec.Spec, _ string) {
			s.Hooks = &rspec.Hooks{Prestart: []rspec.Hook{{Path: "hook.sh"}}}
		}, "hooks.prestart[0].path", "hook.sh"},
		{"hook empty path", func(s *rspec.Spec, _ string) {
			s.Hooks = &rspec.Hooks{CreateRuntime: []rspec.Hook{{Path: "/bin/true"}, {}}}
		}, "hooks.createRuntime[1].path", "empty"},
		{"hook zero timeout", func(s *rspec.Spec, _ string) {
			s.Hooks = &rspec.Hooks{Poststop: []rspec.Hook{{Path: "/bin/true", Timeout: ptr(0)}}}
		}, "hooks.poststop[0].timeout", "0"},
		{"hook bad env", func(s *rspec.Spec, _ string) {
			s.Hooks = &rspec.Hooks{StartContainer: []rspec.Hook{{Path: "/bin/true", Env: []string{"X"}}}}
		}, "hooks.startContainer[0].env[0]", "X"},
		{"unknown namespace", func(s *rspec.Spec, _ string) { s.Linux.Namespaces[1].Type = "net" }, "linux.namespaces[1].type", "did you mean network"},
		{"duplicate namespace", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: "pid"})
		}, "linux.namespaces[6].type", "pid"},
		{"relative namespace path", func(s *rspec.Spec, _ string) { s.Linux.Namespaces[0].Path = "proc/1/ns/pid" }, "linux.namespaces[0].path", "proc/1/ns/pid"},
		{"mappings without userns", func(s *rspec.Spec, _ string) {
			s.Linux.UIDMappings = []rspec.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings", "but no user namespace"},
		{"userns without gid mappings", func(s *rspec.Spec, _ string) {
			withUserNS(s)
			s.Linux.GIDMappings = nil
		}, "linux.gidMappings", "needs gidMappings"},
		{"mapping size 0", func(s *rspec.Spec, _ string) {
			withUserNS(s)
			s.Linux.UIDMappings[0].Size = 0
		}, "linux.uidMappings[0].size", "0"},
		{"container ranges overlap", func(s *rspec.Spec, _ string) {
			withUserNS(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, rspec.LinuxIDMapping{ContainerID: 65535, HostID: 200000, Size: 10})
		}, "linux.uidMappings[1].containerID", "65535"},
		{"host ranges overlap", func(s *rspec.Spec, _ string) {
			withUserNS(s)
			s.Linux.GIDMappings = append(s.Linux.GIDMappings, rspec.LinuxIDMapping{ContainerID: 70000, HostID: 99999, Size: 2})
		}, "linux.gidMappings[1].hostID", "99999"},
		{"mapping overflows", func(s *rspec.Spec, _ string) {
			withUserNS(s)
			s.Linux.UIDMappings[0].ContainerID = 4294967290
		}, "linux.uidMappings[0].size", "overflows"},
		{"hostname without uts", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces[3].Path = ""
			s.Linux.Namespaces = s.Linux.Namespaces[:3]
		}, "hostname", "gorun"},
		{"hostname with the host's uts joined", func(s *rspec.Spec, _ string) { s.Linux.Namespaces[3].Path = "/proc/self/ns/uts" }, "hostname", "host's"},
		{"domainname without uts", func(s *rspec.Spec, _ string) {
			s.Hostname = ""
			s.Domainname = "example.org"
			s.Linux.Namespaces = s.Linux.Namespaces[:3]
		}, "domainname", "example.org"},
		{"sysctl not namespaced", func(s *rspec.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1", "vm.swappiness": "0"}
		}, "linux.sysctl", "vm.swappiness"},
		{"net sysctl without netns", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = slicesDelete(s.Linux.Namespaces, 1)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, "linux.sysctl", "net.ipv4.ip_forward"},
		{"ipc sysctl without ipcns", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = slicesDelete(s.Linux.Namespaces, 2)
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, "linux.sysctl", "kernel.shmmax"},
		{"malformed sysctl", func(s *rspec.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net/../../x": "1"}
		}, "linux.sysctl", "net/../../x"},
		{"time offsets without timens", func(s *rspec.Spec, _ string) {
			s.Linux.TimeOffsets = map[string]rspec.LinuxTimeOffset{"boottime": {Secs: 1}}
		}, "linux.timeOffsets", "boottime"},
		{"cgroups path escapes", func(s *rspec.Spec, _ string) { s.Linux.CgroupsPath = "/a/../../b" }, "linux.cgroupsPath", "/a/../../b"},
		{"systemd cgroups path escapes", func(s *rspec.Spec, _ string) { s.Linux.CgroupsPath = "system.slice:gorun:.." }, "linux.cgroupsPath", "system.slice:gorun:.."},
		{"device rule type", func(s *rspec.Spec, _ string) { s.Linux.Resources.Devices[0].Type = "x" }, "linux.resources.devices[0].type", "x"},
		{"device rule access", func(s *rspec.Spec, _ string) { s.Linux.Resources.Devices[0].Access = "rwx" }, "linux.resources.devices[0].access", "rwx"},
		{"memory limit", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Memory = &rspec.LinuxMemory{Limit: ptr(int64(-2))}
		}, "linux.resources.memory.limit", "-2"},
		{"swap below limit", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Memory = &rspec.LinuxMemory{Limit: ptr(int64(2 << 20)), Swap: ptr(int64(1 << 20))}
		}, "linux.resources.memory.swap", "1048576"},
		{"swappiness", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Memory = &rspec.LinuxMemory{Swappiness: ptr(uint64(101))}
		}, "linux.resources.memory.swappiness", "101"},
		{"cpu shares", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.CPU = &rspec.LinuxCPU{Shares: ptr(uint64(1))}
		}, "linux.resources.cpu.shares", "1"},
		{"cpu quota", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.CPU = &rspec.LinuxCPU{Quota: ptr(int64(-5))}
		}, "linux.resources.cpu.quota", "-5"},
		{"cpu period", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.CPU = &rspec.LinuxCPU{Period: ptr(uint64(500))}
		}, "linux.resources.cpu.period", "500"},
		{"cpuset", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.CPU = &rspec.LinuxCPU{Cpus: "0-3,5-4"}
		}, "linux.resources.cpu.cpus", "0-3,5-4"},
		{"pids limit", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Pids = &rspec.LinuxPids{Limit: ptr(int64(-2))}
		}, "linux.resources.pids.limit", "-2"},
		{"blkio weight", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.BlockIO = &rspec.LinuxBlockIO{Weight: ptr(uint16(5))}
		}, "linux.resources.blockIO.weight", "5"},
		{"hugepage size", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.HugepageLimits = []rspec.LinuxHugepageLimit{{Pagesize: "2M"}}
		}, "linux.resources.hugepageLimits[0].pageSize", "2M"},
		{"unified key with slash", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Unified = map[string]string{"../memory.max": "1"}
		}, "linux.resources.unified", "../memory.max"},
		{"device type", func(s *rspec.Spec, _ string) {
			s.Linux.Devices = []rspec.LinuxDevice{{Path: "/dev/fuse", Type: "x", Major: 10, Minor: 229}}
		}, "linux.devices[0].type", "x"},
		{"device relative path", func(s *rspec.Spec, _ string) {
			s.Linux.Devices = []rspec.LinuxDevice{{Path: "dev/fuse", Type: "c", Major: 10, Minor: 229}}
		}, "linux.devices[0].path", "dev/fuse"},
		{"device without major", func(s *rspec.Spec, _ string) {
			s.Linux.Devices = []rspec.LinuxDevice{{Path: "/dev/fifo", Type: "p"}, {Path: "/dev/fuse", Type: "c"}}
		}, "linux.devices[1].major", "0"},
		{"seccomp default action", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"}
		}, "linux.seccomp.defaultAction", "SCMP_ACT_FOO"},
		{"seccomp rule action", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow,
				Syscalls: []rspec.LinuxSyscall{{Names: []string{"mount"}, Action: "SCMP_ACT_DENY"}}}
		}, "linux.seccomp.syscalls[0].action", "SCMP_ACT_DENY"},
		{"seccomp op", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow,
				Syscalls: []rspec.LinuxSyscall{{Names: []string{"personality"}, Action: rspec.ActErrno,
					Args: []rspec.LinuxSeccompArg{{Index: 0, Value: 8, Op: "SCMP_CMP_EQUAL"}}}}}
		}, "linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_EQUAL"},
		{"seccomp arch", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Architectures: []rspec.Arch{"SCMP_ARCH_Z80"}}
		}, "linux.seccomp.architectures[0]", "SCMP_ARCH_Z80"},
		{"seccomp no names", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow,
				Syscalls: []rspec.LinuxSyscall{{Action: rspec.ActErrno}}}
		}, "linux.seccomp.syscalls[0].names", "empty"},
		{"seccomp notify without listener", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow,
				Syscalls: []rspec.LinuxSyscall{{Names: []string{"mknod"}, Action: rspec.ActNotify}}}
		}, "linux.seccomp.listenerPath", "missing"},
		{"rootfs propagation", func(s *rspec.Spec, _ string) { s.Linux.RootfsPropagation = "rshare" }, "linux.rootfsPropagation", "rshare"},
		{"masked path", func(s *rspec.Spec, _ string) { s.Linux.MaskedPaths[1] = "proc/asound" }, "linux.maskedPaths[1]", "proc/asound"},
		{"readonly path", func(s *rspec.Spec, _ string) { s.Linux.ReadonlyPaths[0] = "bus" }, "linux.readonlyPaths[0]", "bus"},
		{"personality", func(s *rspec.Spec, _ string) {
			s.Linux.Personality = &rspec.LinuxPersonality{Domain: "LINUX64"}
		}, "linux.personality.domain", "LINUX64"},
		{"personality flags", func(s *rspec.Spec, _ string) {
			s.Linux.Personality = &rspec.LinuxPersonality{Domain: rspec.PerLinux32, Flags: []rspec.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, "linux.personality.flags", "ADDR_NO_RANDOMIZE"},
		{"scheduler ISO", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: "SCHED_ISO"}
		}, "process.scheduler.policy", "SCHED_ISO"},
		{"scheduler flag", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: rspec.SchedBatch, Flags: []rspec.LinuxSchedulerFlag{"SCHED_FLAG_FAST"}}
		}, "process.scheduler.flags[0]", "SCHED_FLAG_FAST"},
		{"scheduler FIFO without priority", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: rspec.SchedFIFO}
		}, "process.scheduler.priority", "0"},
		{"scheduler priority for BATCH", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: rspec.SchedBatch, Priority: 5}
		}, "process.scheduler.priority", "5"},
		{"scheduler deadline params for OTHER", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: rspec.SchedOther, Runtime: 10000}
		}, "process.scheduler.runtime", "runtime 10000, deadline 0, period 0"},
		{"scheduler deadline runtime > deadline", func(s *rspec.Spec, _ string) {
			s.Process.Scheduler = &rspec.Scheduler{Policy: rspec.SchedDeadline, Runtime: 20000, Deadline: 10000}
		}, "process.scheduler.runtime", "runtime 20000, deadline 10000, period 0"},
		{"execCPUAffinity", func(s *rspec.Spec, _ string) {
			s.Process.ExecCPUAffinity = &rspec.CPUAffinity{Final: "0-x"}
		}, "process.execCPUAffinity.final", "0-x"},
		{"memoryPolicy mode", func(s *rspec.Spec, _ string) {
			s.Linux.MemoryPolicy = &rspec.LinuxMemoryPolicy{Mode: "MPOL_RANDOM"}
		}, "linux.memoryPolicy.mode", "MPOL_RANDOM"},
		{"memoryPolicy bind without nodes", func(s *rspec.Spec, _ string) {
			s.Linux.MemoryPolicy = &rspec.LinuxMemoryPolicy{Mode: rspec.MpolBind}
		}, "linux.memoryPolicy.nodes", ""},
		{"memoryPolicy local with nodes", func(s *rspec.Spec, _ string) {
			s.Linux.MemoryPolicy = &rspec.LinuxMemoryPolicy{Mode: rspec.MpolLocal, Nodes: "0"}
		}, "linux.memoryPolicy.nodes", "0"},
		{"memoryPolicy static and relative", func(s *rspec.Spec, _ string) {
			s.Linux.MemoryPolicy = &rspec.LinuxMemoryPolicy{Mode: rspec.MpolBind, Nodes: "0",
				Flags: []rspec.MemoryPolicyFlagType{rspec.MpolFStaticNodes, rspec.MpolFRelativeNodes}}
		}, "linux.memoryPolicy.flags", "MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES"},
		{"intelRdt", func(s *rspec.Spec, _ string) {
			s.Linux.IntelRdt = &rspec.LinuxIntelRdt{ClosID: "gold"}
		}, "linux.intelRdt", "gold"},
		{"netDevices without a network namespace", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.NetworkNamespace })
			s.Linux.NetDevices = map[string]rspec.LinuxNetDevice{"dummy0": {}}
		}, "linux.netDevices", ""},
		{"netDevices bad host name", func(s *rspec.Spec, _ string) {
			s.Linux.NetDevices = map[string]rspec.LinuxNetDevice{"a/b": {}}
		}, "linux.netDevices", "a/b"},
		{"netDevices bad name", func(s *rspec.Spec, _ string) {
			s.Linux.NetDevices = map[string]rspec.LinuxNetDevice{"dummy0": {Name: "a-very-long-interface-name"}}
		}, "linux.netDevices[dummy0].name", "a-very-long-interface-name"},
		{"netDevices same name twice", func(s *rspec.Spec, _ string) {
			s.Linux.NetDevices = map[string]rspec.LinuxNetDevice{"dummy0": {Name: "eth1"}, "dummy1": {Name: "eth1"}}
		}, "linux.netDevices[dummy1].name", "eth1"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBundle(t)
			s := Default()
			tt.edit(s, b)
			wantFieldErr(t, Validate(s, b, true), tt.field, tt.value)
		})
	}
}

func slicesDelete(ns []rspec.LinuxNamespace, i int) []rspec.LinuxNamespace {
	return append(ns[:i:i], ns[i+1:]...)
}

func TestValidateGood(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *rspec.Spec, bundle string)
	}{
		{"absolute rootfs", func(s *rspec.Spec, b string) { s.Root.Path = filepath.Join(b, "rootfs") }},
		{"rootfs symlink", func(s *rspec.Spec, b string) {
			os.Symlink("rootfs", filepath.Join(b, "link"))
			s.Root.Path = "link"
		}},
		{"bind mount", func(s *rspec.Spec, _ string) {
			s.Mounts = append(s.Mounts, bindMount("rbind", "ro", "rprivate", "nosymfollow", "rro", "idmap=uids=0-1000-1"))
		}},
		{"fs data words", func(s *rspec.Spec, _ string) {
			s.Mounts = append(s.Mounts, rspec.Mount{Destination: "/x", Type: "overlay", Source: "overlay",
				Options: []string{"lowerdir=/a:/b", "userxattr", "volatile"}})
		}},
		{"no process when not needed", func(s *rspec.Spec, _ string) { s.Process = nil }},
		{"zero means unset", func(s *rspec.Spec, _ string) {
			s.Linux.Resources.Memory = &rspec.LinuxMemory{Limit: ptr(int64(0)), Swap: ptr(int64(-1)),
				Swappiness: ptr(^uint64(0))}
			s.Linux.Resources.CPU = &rspec.LinuxCPU{Shares: ptr(uint64(0)), Quota: ptr(int64(-1)), Period: ptr(uint64(100000)), Cpus: "0-3,8", Mems: "0"}
			s.Linux.Resources.Pids = &rspec.LinuxPids{Limit: ptr(int64(0))}
		}},
		{"namespaced sysctls", func(s *rspec.Spec, _ string) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1",
				"fs.mqueue.msg_max": "10", "kernel.domainname": "x", "net/ipv4/conf/eth0.100/forwarding": "1"}
		}},
		{"user namespace", func(s *rspec.Spec, _ string) { withUserNS(s) }},
		{"joined user namespace", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"})
		}},
		{"seccomp", func(s *rspec.Spec, _ string) {
			s.Linux.Seccomp = &rspec.LinuxSeccomp{DefaultAction: rspec.ActErrno, Architectures: []rspec.Arch{rspec.ArchX86_64},
				ListenerPath: "/run/agent.sock",
				Syscalls: []rspec.LinuxSyscall{{Names: []string{"read"}, Action: rspec.ActAllow},
					{Names: []string{"mknod"}, Action: rspec.ActNotify,
						Args: []rspec.LinuxSeccompArg{{Index: 5, Op: rspec.OpMaskedEqual}}}}}
		}},
		{"devices", func(s *rspec.Spec, _ string) {
			s.Linux.Devices = []rspec.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}, {Path: "/dev/p", Type: "p"}}
		}},
		{"hooks", func(s *rspec.Spec, _ string) {
			s.Hooks = &rspec.Hooks{CreateRuntime: []rspec.Hook{{Path: "/bin/true", Timeout: ptr(5), Env: []string{"A=b"}}}}
		}},
		{"time namespace", func(s *rspec.Spec, _ string) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]rspec.LinuxTimeOffset{"monotonic": {Secs: -5}}
		}},
		{"no linux, no hostname", func(s *rspec.Spec, _ string) { s.Linux = nil; s.Hostname = "" }},
		{"cgroups path", func(s *rspec.Spec, _ string) { s.Linux.CgroupsPath = "system.slice:gorun:abc..def" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBundle(t)
			s := Default()
			tt.edit(s, b)
			if err := Validate(s, b, s.Process != nil); err != nil {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	wantFieldErr(t, Validate(nil, ".", true), ConfigName, "no config")
}

func TestValidateOrder(t *testing.T) {
	// Several problems: the first in check order wins, every time.
	b := newBundle(t)
	for range 20 {
		s := Default()
		s.Linux.Sysctl = map[string]string{"b.x": "1", "a.x": "1", "c.x": "1"}
		s.Linux.MaskedPaths[0] = "rel"
		wantFieldErr(t, Validate(s, b, true), "linux.sysctl", "a.x")
	}
}
