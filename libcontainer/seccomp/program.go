package seccomp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gorun/gorun/libcontainer/errs"
)

// Program is a compiled filter that another process can load without
// libseccomp: the parent compiles the profile while the child starts (the
// default profile takes libseccomp about 3 ms here), and the child loads
// the instructions with one seccomp(2) call.
type Program struct {
	// BPF is the array of struct sock_filter that libseccomp generated.
	BPF []byte `json:"bpf"`
	// Flags are the SECCOMP_FILTER_FLAG_* to load it with.
	Flags uint `json:"flags"`
	// Notify: loading yields a notify fd for the agent at listenerPath.
	Notify bool `json:"notify,omitempty"`
}

// Program exports the compiled filter and the flags its profile asks for.
func (f *Filter) Program() (*Program, error) {
	mf, err := unix.MemfdCreate("gorun-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd for the compiled filter: %w", err)
	}
	file := os.NewFile(uintptr(mf), "gorun-seccomp")
	defer file.Close()
	if err := f.f.ExportBPF(file); err != nil {
		return nil, &errs.Error{Field: field, Err: fmt.Errorf("libseccomp: export the filter: %w", err)}
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	bpf, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	if len(bpf) == 0 || len(bpf)%int(unsafe.Sizeof(unix.SockFilter{})) != 0 {
		return nil, fmt.Errorf("seccomp: libseccomp exported %d bytes, not a whole number of BPF instructions", len(bpf))
	}
	// libseccomp-golang loads every filter with TSYNC (the Go runtime's
	// other threads get it too); the kernel takes TSYNC with a listener
	// only together with TSYNC_ESRCH.
	p := &Program{BPF: bpf, Flags: unix.SECCOMP_FILTER_FLAG_TSYNC | f.flags, Notify: f.notify}
	if f.notify {
		p.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	return p, nil
}

// Load loads the program for the calling thread and, TSYNC, the process's
// other threads. It returns the notify fd, or -1 without a listener. After
// Load every syscall of this process goes through the filter: call it as
// late as possible.
func (p *Program) Load() (int, error) {
	n := len(p.BPF) / int(unsafe.Sizeof(unix.SockFilter{}))
	if n == 0 || n > 0xffff {
		return -1, &errs.Error{Field: field, Err: fmt.Errorf("compiled filter of %d instructions", n)}
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: (*unix.SockFilter)(unsafe.Pointer(&p.BPF[0]))}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(p.Flags), uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		err := error(e)
		if errors.Is(err, unix.EACCES) {
			err = fmt.Errorf("%w (without no_new_privileges, loading a filter needs CAP_SYS_ADMIN)", err)
		}
		return -1, &errs.Error{Field: field, Err: fmt.Errorf("load the seccomp filter: %w", err)}
	}
	if p.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && p.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH == 0 && r != 0 {
		return -1, &errs.Error{Field: field, Err: fmt.Errorf("load the seccomp filter: thread %d could not be synchronised", r)}
	}
	if !p.Notify {
		return -1, nil
	}
	return int(r), nil
}
