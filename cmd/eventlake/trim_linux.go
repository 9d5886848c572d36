//go:build linux

package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// trimBinary lets the kernel drop the pages of eventlake's own executable
// that start-up left resident, for commands that do not use DuckDB (load,
// watch). The binary links DuckDB and is large; start-up touches a few MB of
// it, and the kernel maps neighbouring pages along (fault-around), so about
// 60 MB of it counted in the process's RSS though a load never runs that
// code. Only read-only mappings are advised (their pages are clean copies of
// the file: code that runs again is faulted back in from the page cache);
// MADV_RANDOM stops fault-around from mapping them again in bulk. Errors are
// ignored: this only changes how memory is accounted.
func trimBinary() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	type mapping struct {
		start, end uintptr
		ok         bool // read-only mapping of the executable
		anon       bool // some pages were written (relocations: RELRO): never drop those
	}
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			m := mapping{}
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			m.start, m.end = uintptr(start), uintptr(end)
			m.ok = err1 == nil && err2 == nil && end > start && len(fields) >= 6 && fields[5] == exe &&
				(fields[1] == "r--p" || fields[1] == "r-xp")
			maps = append(maps, m)
			continue
		}
		if len(maps) > 0 && len(fields) >= 2 && (fields[0] == "Anonymous:" || fields[0] == "Private_Dirty:") && fields[1] != "0" {
			maps[len(maps)-1].anon = true
		}
	}
	for _, m := range maps {
		if m.ok && !m.anon {
			madvise(m.start, m.end-m.start, syscall.MADV_RANDOM)
			madvise(m.start, m.end-m.start, syscall.MADV_DONTNEED)
		}
	}
}

func madvise(addr, length uintptr, advice int) {
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, addr, length, uintptr(advice))
}
