package libcontainer

import (
	"os"
	"testing"
)

func TestProcStatSelf(t *testing.T) {
	st, start, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st != 'R' && st != 'S' {
		t.Errorf("state %c", st)
	}
	if start == 0 {
		t.Error("start time 0")
	}
	if !alive(os.Getpid(), start) {
		t.Error("self not alive")
	}
	if alive(os.Getpid(), start+1) {
		t.Error("a different start time must mean another process")
	}
	if alive(0, 0) || alive(1<<30, 0) {
		t.Error("impossible pid alive")
	}
}
