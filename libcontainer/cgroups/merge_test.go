package cgroups

import (
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// Memory made unlimited by an update that names no swap makes swap
// unlimited too, rather than leaving a swap limit without a memory limit.
func TestMergeUnlimitedMemory(t *testing.T) {
	lim, swap, unl := int64(64<<20), int64(64<<20), int64(-1)
	cur := &rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: &lim, Swap: &swap}}
	got := Merge(cur, &rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: &unl}})
	if *got.Memory.Limit != -1 || got.Memory.Swap == nil || *got.Memory.Swap != -1 {
		t.Errorf("merged memory %d, swap %v; want -1 and -1", *got.Memory.Limit, got.Memory.Swap)
	}
	if _, err := v2Settings(got); err != nil {
		t.Errorf("v2 settings of the merge: %v", err)
	}
	// A swap the update names stays.
	s2 := int64(128 << 20)
	got = Merge(cur, &rspec.LinuxResources{Memory: &rspec.LinuxMemory{Limit: &lim, Swap: &s2}})
	if *got.Memory.Swap != s2 {
		t.Errorf("merged swap %d, want %d", *got.Memory.Swap, s2)
	}
}
