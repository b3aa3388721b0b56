package image

import (
	"io/fs"
	"syscall"
)

type statInfo struct {
	dev, ino, nlink uint64
}

func sysStat(fi fs.FileInfo) (statInfo, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statInfo{}, false
	}
	return statInfo{dev: st.Dev, ino: st.Ino, nlink: uint64(st.Nlink)}, true
}
