package integration

import (
	"strconv"
	"testing"
)

// TestResourcePauseRightAfterStart pauses containers the moment start
// returns, while their init may still be in the middle of exec: a process
// waiting there for its frozen threads cannot itself be frozen, and the
// freeze must still complete.
func TestResourcePauseRightAfterStart(t *testing.T) {
	root := setup(t)
	b := sh(t, "sleep 300")
	for i := 0; i < 15; i++ {
		id := containerID(t, strconv.Itoa(i))
		create(t, root, b, id)
		mustGorun(t, root, "start", id)
		mustGorun(t, root, "pause", id)
		if s := state(t, root, id).Status; s != "paused" {
			t.Errorf("%s: state %q after pause", id, s)
		}
		mustGorun(t, root, "delete", "--force", id)
	}
}
