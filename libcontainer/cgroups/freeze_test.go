package cgroups

import (
	"errors"
	"testing"
)

// TestSetFrozenKicks: a freeze that does not complete is undone and
// retried, and a freeze that completes late succeeds.
func TestSetFrozenKicks(t *testing.T) {
	var writes []bool
	reads := 0
	err := setFrozen(true,
		func(f bool) error { writes = append(writes, f); return nil },
		func(bool) (bool, error) { reads++; return reads > 12, nil })
	if err != nil {
		t.Fatal(err)
	}
	thaws := 0
	for _, w := range writes {
		if !w {
			thaws++
		}
	}
	if thaws != 1 || writes[len(writes)-1] != true {
		t.Errorf("writes %v: want one thaw in between, a freeze last", writes)
	}
	wantErr := errors.New("gone")
	if err := setFrozen(false, func(bool) error { return nil }, func(bool) (bool, error) { return false, wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("read error: %v", err)
	}
}
