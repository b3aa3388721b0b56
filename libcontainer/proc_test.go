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

func TestParseStat(t *testing.T) {
	// Fields 3..22 after the name; start time (22) is 4242.
	tail := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 23 24\n"
	for _, tc := range []struct {
		line  string
		state byte
		start uint64
		ok    bool
	}{
		{"7 (sleep) " + tail, 'S', 4242, true},
		{"7 (a) b (c) d) " + tail, 'S', 4242, true},
		{"7 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99\n", 'Z', 99, true},
		{"7 (x) S 1 2 3", 0, 0, false},
		{"7 (x)", 0, 0, false},
		{"no parens at all", 0, 0, false},
		{"7 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -1 2", 0, 0, false},
	} {
		st, start, ok := parseStat([]byte(tc.line))
		if ok != tc.ok || (ok && (st != tc.state || start != tc.start)) {
			t.Errorf("parseStat(%q) = %c, %d, %v; want %c, %d, %v", tc.line, st, start, ok, tc.state, tc.start, tc.ok)
		}
	}
}
