package cgroups

import (
	"slices"
	"testing"

	cg "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
)

// TestV1HierarchyMatchesDefault: the controllers v1Hierarchy finds are the
// library's, in its order.
func TestV1HierarchyMatchesDefault(t *testing.T) {
	if m := cg.Mode(); m != cg.Legacy && m != cg.Hybrid {
		t.Skip("skipped: this host has no v1 cgroup hierarchies (pure cgroup2); v1Hierarchy is not used here")
	}
	names := func(ss []cgroup1.Subsystem) []string {
		var out []string
		for _, s := range ss {
			out = append(out, string(s.Name()))
		}
		return out
	}
	want, err := cgroup1.Default()
	if err != nil {
		t.Fatal(err)
	}
	got, err := v1Hierarchy()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(got), names(want)) {
		t.Errorf("v1Hierarchy: %v, cgroup1.Default: %v", names(got), names(want))
	}
	if len(got) == 0 {
		t.Error("no v1 controllers found on a v1 host")
	}
}
