package seccomp

// gorun is linked statically against musl (see the Makefile: glibc's static
// start-up costs ~0.45 ms in every gorun process on a hypervisor). Debian's
// libseccomp.a is built against glibc and with _FORTIFY_SOURCE: its only
// glibc-only symbol is __fprintf_chk, in the pseudo-filter-code printer
// gorun never calls. This gives it to the linker when the C library lacks it.

/*
#include <stdarg.h>
#include <stdio.h>
#ifndef __GLIBC__
int __fprintf_chk(FILE *f, int flag, const char *format, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, format);
	n = vfprintf(f, format, ap);
	va_end(ap);
	return n;
}
#endif
*/
import "C"
