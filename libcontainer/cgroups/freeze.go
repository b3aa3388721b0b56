package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// freezeTimeout bounds how long Freeze waits for every process to stop: a
// process stuck in the kernel (uninterruptible sleep) can keep a cgroup
// "FREEZING" for ever. The library's own Freeze waits without a bound.
const freezeTimeout = 5 * time.Second

// setFrozen freezes or thaws a cgroup: write writes the request, done
// reads whether the cgroup has reached the state. A freeze that has not
// completed after a while is undone and started again: a process can keep
// the cgroup "FREEZING" while it waits, unfreezable, for a frozen one (an
// execve waiting for the process's other threads to exit, for instance);
// thawing lets it through. When freezing does not complete in time, the
// cgroup is thawed again and an error returned.
func setFrozen(freeze bool, write func(freeze bool) error, done func(freeze bool) (bool, error)) error {
	deadline := time.Now().Add(freezeTimeout)
	delay, thawFor := 100*time.Microsecond, time.Millisecond
	for i := 1; ; i++ {
		if err := write(freeze); err != nil {
			return err
		}
		ok, err := done(freeze)
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
		if freeze && i%10 == 0 {
			// Thaw for a while, longer each time: the stuck process
			// needs the others to run (to exit, say) on a busy host.
			if err := write(false); err != nil {
				return err
			}
			time.Sleep(thawFor)
			thawFor = min(2*thawFor, 20*time.Millisecond)
		}
	}
	if freeze {
		write(false)
		return fmt.Errorf("freeze: processes still running after %v (one may be stuck in the kernel); the container was thawed again", freezeTimeout)
	}
	return fmt.Errorf("thaw: processes still frozen after %v", freezeTimeout)
}

// v1Freezer freezes the v1 freezer cgroup dir through freezer.state.
func v1Freezer(dir string, freeze bool) error {
	want := "THAWED"
	if freeze {
		want = "FROZEN"
	}
	file := filepath.Join(dir, "freezer.state")
	return setFrozen(freeze,
		func(bool) error { return writeFile(file, want) },
		func(bool) (bool, error) {
			b, err := os.ReadFile(file)
			return strings.TrimSpace(string(b)) == want, err
		})
}

// v2Freezer freezes the cgroup2 cgroup dir through cgroup.freeze; the
// "frozen" key of cgroup.events says when every process has stopped.
func v2Freezer(dir string, freeze bool) error {
	return setFrozen(freeze,
		func(f bool) error { return writeFile(filepath.Join(dir, "cgroup.freeze"), boolNum(f)) },
		func(f bool) (bool, error) {
			b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
			if err != nil {
				return false, err
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "frozen "); ok {
					return v == boolNum(f), nil
				}
			}
			return false, fmt.Errorf("%s has no frozen key", filepath.Join(dir, "cgroup.events"))
		})
}
