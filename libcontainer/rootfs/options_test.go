package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	cases := []struct {
		in        []string
		flags     uintptr
		data      string
		bind, rec bool
		props     int
	}{
		{[]string{"nosuid", "noexec", "nodev", "ro"}, unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY, "", false, false, 0},
		{[]string{"ro", "rw"}, 0, "", false, false, 0},
		{[]string{"nosuid", "strictatime", "mode=755", "size=65536k"}, unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k", false, false, 0},
		{[]string{"rbind", "rprivate", "ro"}, unix.MS_RDONLY, "", true, true, 1},
		{[]string{"bind"}, 0, "", true, false, 0},
		{[]string{"newinstance", "ptmxmode=0666", "gid=5"}, 0, "newinstance,ptmxmode=0666,gid=5", false, false, 0},
	}
	for _, c := range cases {
		o := ParseOptions(c.in)
		if o.Flags != c.flags || o.Data != c.data || o.Bind != c.bind || o.Recursive != c.rec || len(o.Propagation) != c.props {
			t.Errorf("ParseOptions(%v) = %+v", c.in, o)
		}
	}
	if f, ok := PropagationFlags("rslave"); !ok || f != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("rslave = %x %v", f, ok)
	}
	if _, ok := PropagationFlags("sideways"); ok {
		t.Error("unknown propagation accepted")
	}
}
