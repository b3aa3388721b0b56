// Package initmsg is the typed protocol between gorun (the parent) and the
// init it re-execs (the child), over a unix socketpair: one JSON object per
// message, each with a named type. The parent sends the configuration; the
// child asks for the runtime's hooks to run, then reports ready or an error.
package initmsg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gorun/gorun/libcontainer/errs"
	"github.com/gorun/gorun/libcontainer/seccomp"
)

// Type names a message.
type Type string

const (
	// Config (parent → child) carries the InitConfig.
	Config Type = "config"
	// RunHooks (child → parent): the container's namespaces and mounts
	// exist, pivot_root has not happened; run prestart and createRuntime.
	RunHooks Type = "run-hooks"
	// HooksDone (parent → child): the hooks ran; go on.
	HooksDone Type = "hooks-done"
	// Placed (parent → child): the child is in its cgroup. The parent
	// sends the config first and moves the child while it sets up; the
	// child waits for this before anything that needs its cgroup (a
	// cgroup namespace, hooks, ready).
	Placed Type = "placed"
	// Ready (child → parent): the init is set up and waits for start, or an
	// exec'd process is about to exec (Pid is its pid in the container).
	Ready Type = "ready"
	// Error (child → parent): the child failed; it exits after sending.
	Error Type = "error"
	// Forked (child → parent, from nsenter): the child joined a pid
	// namespace and forked; Pid is the process that goes on.
	Forked Type = "forked"
)

// What the init writes into the exec fifo once `gorun start` opened it:
// FifoStarted, then it execs the program; or FifoFailed and a message (a
// startContainer hook failed), then it exits.
const (
	FifoStarted = '0'
	FifoFailed  = 'E'
)

// InitConfig is what the child needs to set up the container or the exec'd
// process.
type InitConfig struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Rootfs string `json:"rootfs"`
	// Spec is the container's config, for an init (set by SetSpec, read
	// by DecodeSpec); Process is what an exec'd process gets instead. The
	// config travels as raw JSON: a message type holding an *rspec.Spec
	// makes encoding/json build its tables for all of runtime-spec in
	// every process that sends or receives one (~0.5 ms), and exec's
	// processes need none of it.
	Spec    json.RawMessage `json:"spec,omitempty"`
	Process *rspec.Process  `json:"process,omitempty"`
	// Personality and MemoryPolicy are the container's linux.personality
	// and linux.memoryPolicy, for an exec'd process (the init finds them
	// in Spec).
	Personality  *rspec.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy *rspec.LinuxMemoryPolicy `json:"memory_policy,omitempty"`
	// Pid is the child's pid on the host, for the state given to hooks.
	Pid int `json:"pid"`
	// Cgroup is the container's cgroup path ("" for none).
	Cgroup string `json:"cgroup,omitempty"`
	// Exec is set for `gorun exec`: the child joined the namespaces of a
	// running container and only sets up its process.
	Exec bool `json:"exec,omitempty"`
	// NewCgroupNS asks the child to unshare the cgroup namespace (it has
	// been placed in its cgroup by then).
	NewCgroupNS bool `json:"new_cgroupns,omitempty"`
	// CgroupMadeLate says the cgroup's directories are made only when
	// the parent places the child (the systemd driver's scope): the
	// child waits for that before it mounts them into the container.
	CgroupMadeLate bool `json:"cgroup_made_late,omitempty"`
	NoPivot        bool `json:"no_pivot,omitempty"`
	NoNewKeyring   bool `json:"no_new_keyring,omitempty"`
	// PreserveFDs is how many fds above stderr the process keeps.
	PreserveFDs int `json:"preserve_fds,omitempty"`
	// FifoFD is the O_PATH fd of the exec fifo (init only), ConsoleFD the
	// console socket's (-1 for none).
	FifoFD int `json:"fifo_fd"`
	// IDMapped maps a mount's index in spec.mounts to the fd of the
	// idmapped tree the parent prepared for it.
	IDMapped  map[int]int `json:"idmapped,omitempty"`
	ConsoleFD int         `json:"console_fd"`
	// SeccompFD is the connection to linux.seccomp.listenerPath (0 for
	// none): the child sends SeccompState and the notify fd on it once it
	// has loaded the filter.
	SeccompFD int `json:"seccomp_fd,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent (nil for none).
	Seccomp      *seccomp.Program             `json:"seccomp,omitempty"`
	SeccompState *rspec.ContainerProcessState `json:"seccomp_state,omitempty"`
}

// Message is one message of the protocol.
type Message struct {
	Type   Type        `json:"type"`
	Config *InitConfig `json:"config,omitempty"`
	Err    *ErrorInfo  `json:"error,omitempty"`
	Pid    int         `json:"pid,omitempty"`
}

// ErrorInfo carries an errs.Error across the pipe.
type ErrorInfo struct {
	Op    string `json:"op,omitempty"`
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	Msg   string `json:"msg"`
	Hint  string `json:"hint,omitempty"`
}

// FromError turns err into an ErrorInfo.
func FromError(err error) *ErrorInfo {
	var e *errs.Error
	if errors.As(err, &e) {
		msg := "invalid"
		if e.Err != nil {
			msg = e.Err.Error()
		}
		return &ErrorInfo{Op: e.Op, Field: e.Field, Value: e.Value, Msg: msg, Hint: e.Hint}
	}
	return &ErrorInfo{Msg: err.Error()}
}

// AsError turns an ErrorInfo back into an *errs.Error.
func (i *ErrorInfo) AsError() error {
	return &errs.Error{Op: i.Op, Field: i.Field, Value: i.Value, Err: errors.New(i.Msg), Hint: i.Hint}
}

// Conn sends and receives messages.
type Conn struct {
	enc *json.Encoder
	dec *json.Decoder
}

// NewConn wraps a stream.
func NewConn(rw io.ReadWriter) *Conn {
	return &Conn{enc: json.NewEncoder(rw), dec: json.NewDecoder(rw)}
}

// Send writes one message.
func (c *Conn) Send(m Message) error {
	if m.Config == nil {
		return c.enc.Encode(reply{Type: m.Type, Err: m.Err, Pid: m.Pid})
	}
	return c.enc.Encode(&m)
}

// reply is a Message without a config, as the child sends them: the same
// JSON, but encoding it does not build encoders for every type a config
// holds (the whole runtime-spec: ~0.15 ms of the child's start).
type reply struct {
	Type Type       `json:"type"`
	Err  *ErrorInfo `json:"error,omitempty"`
	Pid  int        `json:"pid,omitempty"`
}

// Recv reads one message; io.EOF means the peer closed without a word.
func (c *Conn) Recv() (Message, error) {
	var m Message
	if err := c.dec.Decode(&m); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return m, io.EOF
		}
		return m, err
	}
	switch m.Type {
	case Config, RunHooks, HooksDone, Placed, Ready, Forked:
	case Error:
		if m.Err == nil {
			return m, fmt.Errorf("init protocol: error message without an error")
		}
	default:
		return m, fmt.Errorf("init protocol: unknown message type %q", m.Type)
	}
	return m, nil
}

// Expect reads one message and checks its type; an Error message becomes
// the returned error.
func (c *Conn) Expect(t Type) (Message, error) {
	m, err := c.Recv()
	if err != nil {
		return m, err
	}
	if m.Type == Error {
		return m, m.Err.AsError()
	}
	if m.Type != t {
		return m, fmt.Errorf("init protocol: got %q, want %q", m.Type, t)
	}
	return m, nil
}

// SetSpec puts the container's config into c.
func (c *InitConfig) SetSpec(s *rspec.Spec) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode the config for the init: %w", err)
	}
	c.Spec = b
	return nil
}

// DecodeSpec returns the config SetSpec put in c, without the sections
// the init does not read (initspec.go), or, for an exec'd process, a
// config holding only c.Process, c.Personality and c.MemoryPolicy.
func (c *InitConfig) DecodeSpec() (*rspec.Spec, error) {
	if len(c.Spec) == 0 {
		s := &rspec.Spec{Version: rspec.Version, Process: c.Process}
		if c.Personality != nil || c.MemoryPolicy != nil {
			s.Linux = &rspec.Linux{Personality: c.Personality, MemoryPolicy: c.MemoryPolicy}
		}
		return s, nil
	}
	var s initSpec
	if err := json.Unmarshal(c.Spec, &s); err != nil {
		return nil, fmt.Errorf("decode the config from gorun: %w", err)
	}
	return s.spec(), nil
}
