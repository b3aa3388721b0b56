package cgroups

import (
	"maps"
	"testing"
)

func TestParseSubCgroups(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want map[string]string
	}{
		{nil, nil},
		{[]string{"sub"}, map[string]string{"": "sub"}},
		{[]string{"/a/b"}, map[string]string{"": "a/b"}},
		{[]string{"memory,pids:m", "cpu:c"}, map[string]string{"memory": "m", "pids": "m", "cpu": "c"}},
	} {
		got, err := ParseSubCgroups(tc.in)
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseSubCgroups(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{""}, {"../x"}, {"memory:"}, {"a/../../b"}, {"memory:a", "memory:b"}, {"x", "y"}} {
		if got, err := ParseSubCgroups(bad); err == nil {
			t.Errorf("ParseSubCgroups(%q) = %v, want an error", bad, got)
		}
	}
}
