package leakcheck

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

type mountEntry struct {
	dev    string // major:minor
	root   string // root of the mount within its filesystem
	point  string
	fstype string
	source string
}

// readMountinfo parses /proc/self/mountinfo.
func readMountinfo() []mountEntry {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mounts []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			continue
		}
		mounts = append(mounts, mountEntry{
			dev:    fields[2],
			root:   unescape(fields[3]),
			point:  unescape(fields[4]),
			fstype: fields[sep+1],
			source: unescape(fields[sep+2]),
		})
	}
	return mounts
}

// unescape decodes the octal escapes (\040 etc.) of mountinfo fields.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
