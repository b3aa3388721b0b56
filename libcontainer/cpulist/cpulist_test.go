package cpulist

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"0", []int{0}},
		{"0-3,7", []int{0, 1, 2, 3, 7}},
		{"5,1", []int{5, 1}},
		{"1023", []int{1023}},
	} {
		got, err := Parse(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{",", "a", "3-1", "1-", "-1", "0,,1", "1024", "0-1024", " 1", "99999"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", bad, got)
		}
	}
}

func TestMask(t *testing.T) {
	m, err := Mask("1,3-4")
	if err != nil {
		t.Fatal(err)
	}
	if m.Count() != 3 || !m.IsSet(1) || !m.IsSet(3) || !m.IsSet(4) || m.IsSet(2) {
		t.Errorf("Mask(1,3-4) = %v", m)
	}
}
