package seccomp

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// NeedsListener reports whether sc has SCMP_ACT_NOTIFY rules, whose notify
// fd goes to the agent at sc.ListenerPath.
func NeedsListener(sc *rspec.LinuxSeccomp) bool {
	if sc == nil {
		return false
	}
	for _, s := range sc.Syscalls {
		if s.Action == rspec.ActNotify {
			return true
		}
	}
	return false
}

// DialListener connects to the agent's unix socket at linux.seccomp.
// listenerPath. The parent dials, on the host, before it starts the child
// (which may no longer see the host's filesystem when it loads the filter)
// and passes the connection on.
func DialListener(path string) (*os.File, error) {
	if path == "" {
		return nil, errs.Field(field+".listenerPath", "", "set it to the unix socket of the agent that handles SCMP_ACT_NOTIFY", "missing")
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, &errs.Error{Field: field + ".listenerPath", Value: path, Err: err, Hint: "a seccomp agent must listen on that unix socket"}
	}
	defer conn.Close()
	return conn.(*net.UnixConn).File()
}

// ProcessState is the runtime-spec ContainerProcessState sent with the
// notify fd: the process's pid, listenerMetadata and the container's state.
func ProcessState(sc *rspec.LinuxSeccomp, pid int, st rspec.State) *rspec.ContainerProcessState {
	return &rspec.ContainerProcessState{
		Version:  rspec.Version,
		Fds:      []string{rspec.SeccompFdName},
		Pid:      pid,
		Metadata: sc.ListenerMetadata,
		State:    st,
	}
}

// SendNotifyFd sends st as JSON with the notify fd (SCM_RIGHTS, in one
// message) on the connection to the agent, then closes both fds: the agent
// reads until EOF.
func SendNotifyFd(conn, notifyFd int, st *rspec.ContainerProcessState) error {
	defer unix.Close(conn)
	defer unix.Close(notifyFd)
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := unix.Sendmsg(conn, data, unix.UnixRights(notifyFd), nil, 0); err != nil {
		return &errs.Error{Field: field + ".listenerPath", Err: fmt.Errorf("send the seccomp notify fd to the agent: %w", err)}
	}
	return nil
}
