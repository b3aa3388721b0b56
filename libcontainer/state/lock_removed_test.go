package state

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gorun/gorun/libcontainer/errs"
)

// lockAfter starts Lock(id) on another goroutine and returns its result
// channel; the caller holds the lock, so Lock waits.
func lockAfter(s Store, id string) chan error {
	ch := make(chan error, 1)
	go func() {
		l, err := s.Lock(id)
		if err == nil {
			l.Unlock()
		}
		ch <- err
	}()
	// Let it open the directory and block on the flock.
	time.Sleep(50 * time.Millisecond)
	return ch
}

// TestLockRemovedWhileWaiting: a Lock waiting while the holder removes the
// container reports that it does not exist, instead of locking the
// removed directory.
func TestLockRemovedWhileWaiting(t *testing.T) {
	s := Store{Root: t.TempDir()}
	l, err := s.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	ch := lockAfter(s, "c")
	if err := s.Remove("c"); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if err := <-ch; !errors.Is(err, errs.ErrNotExist) {
		t.Fatalf("Lock of a container removed while it waited: %v, want ErrNotExist", err)
	}
}

// TestLockRecreatedWhileWaiting: when the container is removed and made
// again meanwhile, the waiting Lock ends up holding the new one's lock.
func TestLockRecreatedWhileWaiting(t *testing.T) {
	s := Store{Root: t.TempDir()}
	l, err := s.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	ch := lockAfter(s, "c")
	if err := os.RemoveAll(s.Dir("c")); err != nil {
		t.Fatal(err)
	}
	l2, err := s.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	select {
	case err := <-ch:
		t.Fatalf("Lock returned (%v) while the new container's lock was held", err)
	case <-time.After(100 * time.Millisecond):
	}
	l2.Unlock()
	if err := <-ch; err != nil {
		t.Fatalf("Lock of the re-made container: %v", err)
	}
}
