package rootfs

import (
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Options is a mount's options split into what mount(2) takes.
type Options struct {
	// Flags are MS_* flags for the mount itself: on an rbind, the top
	// mount of the tree only, as runc applies them.
	Flags uintptr
	// RecSet and RecClear are the MS_* flags the recursive options ("rro",
	// "rnosuid", "rrw", ...) set and clear on the mount and every mount
	// below it.
	RecSet, RecClear uintptr
	Propagation      []uintptr
	Data             string // filesystem options ("mode=755,size=64k")
	Bind             bool
	Recursive        bool
	// CopyUp (tmpcopyup): a tmpfs starts with a copy of what the image
	// has at its mount point.
	CopyUp bool
}

type flagOpt struct {
	clear bool
	flag  uintptr
}

var flagOpts = map[string]flagOpt{
	"defaults":      {false, 0},
	"rw":            {true, unix.MS_RDONLY},
	"ro":            {false, unix.MS_RDONLY},
	"suid":          {true, unix.MS_NOSUID},
	"nosuid":        {false, unix.MS_NOSUID},
	"dev":           {true, unix.MS_NODEV},
	"nodev":         {false, unix.MS_NODEV},
	"exec":          {true, unix.MS_NOEXEC},
	"noexec":        {false, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
}

// recFlagOpts are the recursive forms of flagOpts (runc's, from
// mount_setattr(2)'s AT_RECURSIVE): "rro" makes a whole bind tree read-only.
var recFlagOpts = map[string]flagOpt{
	"rro": {false, unix.MS_RDONLY}, "rrw": {true, unix.MS_RDONLY},
	"rnosuid": {false, unix.MS_NOSUID}, "rsuid": {true, unix.MS_NOSUID},
	"rnodev": {false, unix.MS_NODEV}, "rdev": {true, unix.MS_NODEV},
	"rnoexec": {false, unix.MS_NOEXEC}, "rexec": {true, unix.MS_NOEXEC},
	"rnodiratime": {false, unix.MS_NODIRATIME}, "rdiratime": {true, unix.MS_NODIRATIME},
	"rnoatime": {false, unix.MS_NOATIME}, "ratime": {true, unix.MS_NOATIME},
	"rstrictatime": {false, unix.MS_STRICTATIME}, "rnostrictatime": {true, unix.MS_STRICTATIME},
	"rrelatime": {false, unix.MS_RELATIME}, "rnorelatime": {true, unix.MS_RELATIME},
	"rnosymfollow": {false, unix.MS_NOSYMFOLLOW}, "rsymfollow": {true, unix.MS_NOSYMFOLLOW},
}

var propagationOpts = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// PropagationFlags returns the MS_* flags of a propagation name
// (linux.rootfsPropagation), and false for an unknown one.
func PropagationFlags(name string) (uintptr, bool) {
	f, ok := propagationOpts[name]
	return f, ok
}

// ParseOptions splits mount options. Words it does not know are passed on
// as filesystem data, as mount(8) does.
func ParseOptions(opts []string) Options {
	var o Options
	var data []string
	for _, opt := range opts {
		if f, ok := flagOpts[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
			} else {
				o.Flags |= f.flag
			}
			continue
		}
		if f, ok := recFlagOpts[opt]; ok {
			if f.clear {
				o.RecSet &^= f.flag
				o.RecClear |= f.flag
			} else {
				o.RecSet |= f.flag
				o.RecClear &^= f.flag
			}
			continue
		}
		if p, ok := propagationOpts[opt]; ok {
			o.Propagation = append(o.Propagation, p)
			continue
		}
		switch opt {
		case "bind":
			o.Bind = true
			continue
		case "rbind":
			o.Bind, o.Recursive = true, true
			continue
		case "tmpcopyup":
			o.CopyUp = true
			continue
		case "idmap", "ridmap":
			// The parent prepares idmapped trees (see IDMappedTree).
			continue
		}
		data = append(data, opt)
	}
	o.Data = strings.Join(data, ",")
	return o
}

// KnownOptions lists the mount options gorun interprets itself (any other
// word goes to the filesystem as data), sorted.
func KnownOptions() []string {
	out := []string{"bind", "rbind", "tmpcopyup", "idmap", "ridmap"}
	for n := range flagOpts {
		out = append(out, n)
	}
	for n := range recFlagOpts {
		out = append(out, n)
	}
	for n := range propagationOpts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsKnownOption says whether gorun interprets mount option opt itself
// (rather than passing it to the filesystem).
func IsKnownOption(opt string) bool {
	_, flag := flagOpts[opt]
	_, rec := recFlagOpts[opt]
	_, prop := propagationOpts[opt]
	switch opt {
	case "bind", "rbind", "tmpcopyup", "idmap", "ridmap":
		return true
	}
	return flag || rec || prop
}
