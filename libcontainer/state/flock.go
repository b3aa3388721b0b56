package state

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Lock is a flock(2) held on a directory or file.
type Lock struct{ f *os.File }

// LockDir flocks directory dir: how is unix.LOCK_EX or unix.LOCK_SH. A
// missing directory is reported with an error that wraps fs.ErrNotExist.
func LockDir(dir string, how int) (*Lock, error) {
	return lockOpen(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, how)
}

// LockFile flocks file path, creating it (mode 0600) if needed.
func LockFile(path string, how int) (*Lock, error) {
	return lockOpen(path, os.O_RDONLY|os.O_CREATE|unix.O_CLOEXEC, how)
}

func lockOpen(path string, flags, how int) (*Lock, error) {
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// IsAt says whether the locked directory or file is still the one at path:
// it may have been removed, and another made there, while this process
// waited for the lock.
func (l *Lock) IsAt(path string) bool {
	var locked, now unix.Stat_t
	if unix.Fstat(int(l.f.Fd()), &locked) != nil || unix.Stat(path, &now) != nil {
		return false
	}
	return locked.Dev == now.Dev && locked.Ino == now.Ino
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
