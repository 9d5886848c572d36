//go:build cgo && (linux || darwin || freebsd)

package native

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

typedef void *(*el_dalloc_fn)(void);
typedef void (*el_dfree_fn)(void *);
typedef int (*el_gunzip_fn)(void *, const void *, size_t, void *, size_t, size_t *, size_t *);

typedef void *(*el_zctx_fn)(void);
typedef size_t (*el_zfree_fn)(void *);
typedef size_t (*el_zcomp_fn)(void *, void *, size_t, const void *, size_t, int);
typedef size_t (*el_zbound_fn)(size_t);
typedef unsigned (*el_ziserr_fn)(size_t);
typedef const char *(*el_zstr_fn)(void);
typedef const char *(*el_zerrname_fn)(size_t);
typedef size_t (*el_zsetp_fn)(void *, int, int);
typedef size_t (*el_zcomp2_fn)(void *, void *, size_t, const void *, size_t);

static el_dalloc_fn el_dalloc;
static el_dfree_fn el_dfree;
static el_gunzip_fn el_gunzip_ex;

static el_zctx_fn el_zctx;
static el_zfree_fn el_zfree;
static el_zcomp_fn el_zcomp;
static el_zbound_fn el_zbound;
static el_ziserr_fn el_ziserr;
static el_zstr_fn el_zversion;
static el_zerrname_fn el_zerrname;
static el_zsetp_fn el_zsetp;   // ZSTD_CCtx_setParameter (libzstd ≥ 1.4), or NULL
static el_zcomp2_fn el_zcomp2; // ZSTD_compress2, or NULL

static int el_load_deflate(const char *name) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) return 0;
	el_dalloc = (el_dalloc_fn)dlsym(h, "libdeflate_alloc_decompressor");
	el_dfree = (el_dfree_fn)dlsym(h, "libdeflate_free_decompressor");
	el_gunzip_ex = (el_gunzip_fn)dlsym(h, "libdeflate_gzip_decompress_ex");
	if (!el_dalloc || !el_dfree || !el_gunzip_ex) { dlclose(h); return 0; }
	return 1;
}

static int el_load_zstd(const char *name) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) return 0;
	el_zctx = (el_zctx_fn)dlsym(h, "ZSTD_createCCtx");
	el_zfree = (el_zfree_fn)dlsym(h, "ZSTD_freeCCtx");
	el_zcomp = (el_zcomp_fn)dlsym(h, "ZSTD_compressCCtx");
	el_zbound = (el_zbound_fn)dlsym(h, "ZSTD_compressBound");
	el_ziserr = (el_ziserr_fn)dlsym(h, "ZSTD_isError");
	el_zversion = (el_zstr_fn)dlsym(h, "ZSTD_versionString");
	el_zerrname = (el_zerrname_fn)dlsym(h, "ZSTD_getErrorName");
	if (!el_zctx || !el_zfree || !el_zcomp || !el_zbound || !el_ziserr || !el_zversion || !el_zerrname) { dlclose(h); return 0; }
	el_zsetp = (el_zsetp_fn)dlsym(h, "ZSTD_CCtx_setParameter");
	el_zcomp2 = (el_zcomp2_fn)dlsym(h, "ZSTD_compress2");
	if (!el_zsetp || !el_zcomp2) { el_zsetp = NULL; el_zcomp2 = NULL; }
	return 1;
}

static void *el_deflate_new(void) { return el_dalloc(); }
static void el_deflate_free(void *d) { el_dfree(d); }
static int el_gunzip(void *d, const void *in, size_t n, void *out, size_t avail, size_t *in_used, size_t *out_len) {
	return el_gunzip_ex(d, in, n, out, avail, in_used, out_len);
}

static void *el_zstd_new(void) { return el_zctx(); }
static void el_zstd_free(void *c) { el_zfree(c); }
static size_t el_zstd_bound(size_t n) { return el_zbound(n); }
// ZSTD_c_compressionLevel, ZSTD_c_hashLog, ZSTD_c_minMatch
enum { EL_ZSTD_LEVEL = 100, EL_ZSTD_HASHLOG = 102, EL_ZSTD_MINMATCH = 105 };

// el_zstd_compress compresses at level. Level 1 uses a smaller hash table
// and a longer minimum match than zstd picks for 256 KiB pages: measured on
// the benchmark corpus, zstd 11 % faster, a load 4 % less CPU, files 3 %
// larger. *configured is the level the context holds (0: none yet).
static size_t el_zstd_compress(void *c, int *configured, void *dst, size_t cap, const void *src, size_t n, int level) {
	if (!el_zsetp) {
		return el_zcomp(c, dst, cap, src, n, level);
	}
	if (*configured != level) {
		size_t r = el_zsetp(c, EL_ZSTD_LEVEL, level);
		if (el_ziserr(r)) return r;
		// Zero restores zstd's own choice for the level.
		r = el_zsetp(c, EL_ZSTD_HASHLOG, level == 1 ? 13 : 0);
		if (el_ziserr(r)) return r;
		r = el_zsetp(c, EL_ZSTD_MINMATCH, level == 1 ? 7 : 0);
		if (el_ziserr(r)) return r;
		*configured = level;
	}
	return el_zcomp2(c, dst, cap, src, n);
}
static int el_zstd_iserr(size_t r) { return (int)el_ziserr(r); }
static const char *el_zstd_version(void) { return el_zversion(); }
static const char *el_zstd_errname(size_t r) { return el_zerrname(r); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

func libNames(linux, darwin string) []string {
	if runtime.GOOS == "darwin" {
		return []string{darwin, "/opt/homebrew/lib/" + darwin, "/usr/local/lib/" + darwin}
	}
	return []string{linux}
}

func loadDeflate() string {
	for _, name := range libNames("libdeflate.so.0", "libdeflate.0.dylib") {
		cs := C.CString(name)
		ok := C.el_load_deflate(cs) == 1
		C.free(unsafe.Pointer(cs))
		if ok {
			return "libdeflate (" + name + ")"
		}
	}
	return ""
}

func loadZstd() string {
	for _, name := range libNames("libzstd.so.1", "libzstd.1.dylib") {
		cs := C.CString(name)
		ok := C.el_load_zstd(cs) == 1
		C.free(unsafe.Pointer(cs))
		if ok {
			return "libzstd " + C.GoString(C.el_zstd_version()) + " (" + name + ")"
		}
	}
	return ""
}

// Gunzipper inflates whole gzip members held in memory. It is not safe for
// concurrent use; each worker owns one.
type Gunzipper struct {
	d unsafe.Pointer
}

// NewGunzipper returns a gunzipper, or nil when libdeflate is not in use.
func NewGunzipper() *Gunzipper {
	if !HasGzip() {
		return nil
	}
	d := C.el_deflate_new()
	if d == nil {
		return nil
	}
	g := &Gunzipper{d: d}
	runtime.AddCleanup(g, func(d unsafe.Pointer) { C.el_deflate_free(d) }, d)
	return g
}

// Member inflates the one gzip member at the start of src into out (all of
// out's length is available). It returns the bytes of src the member took,
// the bytes written, and libdeflate's result: Success, BadData (corrupt or
// truncated) or InsufficientSpace (out is too small).
func (g *Gunzipper) Member(out, src []byte) (used, n int, r Result) {
	if len(src) == 0 {
		return 0, 0, BadData
	}
	var outp unsafe.Pointer
	if len(out) > 0 {
		outp = unsafe.Pointer(&out[0])
	}
	var inUsed, outLen C.size_t
	res := C.el_gunzip(g.d, unsafe.Pointer(&src[0]), C.size_t(len(src)), outp, C.size_t(len(out)), &inUsed, &outLen)
	runtime.KeepAlive(out)
	runtime.KeepAlive(src)
	return int(inUsed), int(outLen), Result(res)
}

// zstd compression contexts are kept on a free list (not a sync.Pool, which
// would drop them without freeing their C memory); there are never more
// than the goroutines compressing at once.
type zctx struct {
	p     unsafe.Pointer
	level *C.int // the level the context is set up for (C memory: cgo passes it)
}

var (
	zctxMu   sync.Mutex
	zctxFree []zctx
)

func getZctx() (zctx, error) {
	zctxMu.Lock()
	if n := len(zctxFree); n > 0 {
		c := zctxFree[n-1]
		zctxFree = zctxFree[:n-1]
		zctxMu.Unlock()
		return c, nil
	}
	zctxMu.Unlock()
	p := C.el_zstd_new()
	if p == nil {
		return zctx{}, errors.New("zstd: cannot allocate a compression context")
	}
	level := (*C.int)(C.malloc(C.size_t(unsafe.Sizeof(C.int(0)))))
	*level = 0
	return zctx{p: p, level: level}, nil
}

func putZctx(c zctx) {
	zctxMu.Lock()
	zctxFree = append(zctxFree, c)
	zctxMu.Unlock()
}

// ZstdCompress appends one zstd frame of src, compressed at level, to
// dst[:0] (dst is reallocated when too small) and returns it. It must only be
// called when HasZstd reports true.
func ZstdCompress(dst, src []byte, level int) ([]byte, error) {
	bound := int(C.el_zstd_bound(C.size_t(len(src))))
	if cap(dst) < bound {
		dst = make([]byte, bound)
	}
	dst = dst[:cap(dst)]
	c, err := getZctx()
	if err != nil {
		return nil, err
	}
	var srcp unsafe.Pointer
	if len(src) > 0 {
		srcp = unsafe.Pointer(&src[0])
	}
	r := C.el_zstd_compress(c.p, c.level, unsafe.Pointer(&dst[0]), C.size_t(len(dst)), srcp, C.size_t(len(src)), C.int(level))
	runtime.KeepAlive(src)
	runtime.KeepAlive(dst)
	putZctx(c)
	if C.el_zstd_iserr(r) != 0 {
		return nil, fmt.Errorf("zstd: %s", C.GoString(C.el_zstd_errname(r)))
	}
	return dst[:int(r)], nil
}
