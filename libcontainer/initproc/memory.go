package initproc

import (
	"bufio"
	"debug/elf"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseImage drops this process's page-table entries for gorun's own
// read-only segments (code and read-only data: almost all of a 12 MiB
// binary is resident after the setup) once the init waits for start,
// which may be long. The pages stay in the page cache, shared with every
// other gorun process, and the few the init needs fault back in (here
// about 4 MiB of code comes back at once: the page cache holds it in 2 MiB
// folios, which a fault maps whole; read-only data stays out).
// Only private, read-only mappings of the executable are released, never
// the RELRO part (written by the C library's startup, then made read-only)
// or anything writable: for those, dropping the entries would lose data.
// Any failure leaves the mappings as they were.
func releaseImage() {
	var exe unix.Stat_t
	if unix.Stat("/proc/self/exe", &exe) != nil {
		return
	}
	maps := exeMappings(exe)
	relro, ok := relroPages(maps)
	if !ok {
		return
	}
	for _, m := range maps {
		if m.writable || (m.start < relro.end && m.end > relro.start) {
			continue
		}
		// 4 KiB faults from now on: a 2 MiB folio mapped whole would bring
		// back most of what is released.
		unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_NOHUGEPAGE)
		unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED)
	}
}

// mapping is one of the executable's private mappings.
type mapping struct {
	start, end, off uint64
	writable        bool
}

// exeMappings lists the private mappings of the file exe (by device and
// inode) in /proc/self/maps.
func exeMappings(exe unix.Stat_t) []mapping {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || len(fs[1]) != 4 || fs[1][3] != 'p' {
			continue
		}
		ino, err := strconv.ParseUint(fs[4], 10, 64)
		dev := strings.Split(fs[3], ":")
		if err != nil || ino != exe.Ino || len(dev) != 2 {
			continue
		}
		maj, err1 := strconv.ParseUint(dev[0], 16, 32)
		min, err2 := strconv.ParseUint(dev[1], 16, 32)
		if err1 != nil || err2 != nil || unix.Mkdev(uint32(maj), uint32(min)) != exe.Dev {
			continue
		}
		addr := strings.Split(fs[0], "-")
		if len(addr) != 2 {
			continue
		}
		start, err1 := strconv.ParseUint(addr[0], 16, 64)
		end, err2 := strconv.ParseUint(addr[1], 16, 64)
		off, err3 := strconv.ParseUint(fs[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || end <= start {
			continue
		}
		out = append(out, mapping{start: start, end: end, off: off, writable: fs[1][1] == 'w'})
	}
	return out
}

// relroPages is the address range, in whole pages, of the executable's
// PT_GNU_RELRO segment as loaded: its virtual address moved by the load
// bias, found from the mapping of file offset 0. ok is false if it cannot
// be told.
func relroPages(maps []mapping) (r struct{ start, end uint64 }, ok bool) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return r, false
	}
	defer f.Close()
	page := uint64(os.Getpagesize())
	var first *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Off == 0 {
			first = p
			break
		}
	}
	var base uint64
	found := false
	for _, m := range maps {
		if m.off == 0 {
			base, found = m.start, true
			break
		}
	}
	if first == nil || !found {
		return r, false
	}
	bias := base - first.Vaddr&^(page-1)
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_RELRO {
			r.start = (p.Vaddr + bias) &^ (page - 1)
			r.end = (p.Vaddr + bias + p.Memsz + page - 1) &^ (page - 1)
			return r, true
		}
	}
	// No RELRO: nothing to keep.
	return r, true
}
