//go:build !gorunfault

// Package fault is a test-only switch that kills gorun at a named step, to
// prove that a create killed half way can be cleaned up. It is compiled in
// only with the build tag gorunfault; in normal builds Point does nothing.
package fault

// Point is a named step of gorun; in normal builds it does nothing.
func Point(name string) {}
