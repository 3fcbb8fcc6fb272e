//go:build faiss

package knn

/*
#cgo LDFLAGS: -lfaiss_c
#include <stdlib.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_io_c.h>

// The C API's index I/O, which go-faiss v0.1.0 does not wrap.
static int gm_write(FaissIndex* idx, const char* fname) { return faiss_write_index_fname(idx, fname); }
static int gm_read(const char* fname, FaissIndex** out) { return faiss_read_index_fname(fname, 0, out); }
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"unsafe"

	faiss "github.com/DataIntelligenceCrew/go-faiss"
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/check"
)

// goFaissLayout reports whether go-faiss's Index is the struct holding one
// C pointer that faissPointer and wrapFaiss read and write (go-faiss
// v0.1.0: struct { idx *C.FaissIndex }).
var goFaissLayout = func() bool {
	t := reflect.TypeFor[faiss.Index]()
	return t.NumField() == 1 && t.Field(0).Type.Kind() == reflect.Pointer && t.Size() == unsafe.Sizeof(uintptr(0))
}()

func faissPointer(idx *faiss.Index) *C.FaissIndex {
	return *(**C.FaissIndex)(unsafe.Pointer(idx))
}

func wrapFaiss(p *C.FaissIndex) *faiss.Index {
	idx := new(faiss.Index)
	*(**C.FaissIndex)(unsafe.Pointer(idx)) = p
	return idx
}

func faissLastError() string {
	if e := C.faiss_get_last_error(); e != nil {
		return C.GoString(e)
	}
	return "unknown FAISS error"
}

// Save writes the index, trained and with its vectors, in FAISS's own file
// format (faiss::write_index through the C API's faiss_write_index_fname),
// which Python's faiss.read_index reads (PML's FaissKNN saves and loads
// this format), and LoadFaiss reads it back. The file is written
// atomically: FAISS writes a private temporary file, which is then copied
// through internal/atomicfile (temporary file beside path, fsync, rename,
// fsync of the directory). Save takes a shared lock: it may run beside
// Search.
func (f *Faiss) Save(path string) error {
	if f == nil {
		return f.closedErr()
	}
	if !goFaissLayout {
		return fmt.Errorf("%s: Save: go-faiss's Index has another layout than v0.1.0's: %w", faissComponent, gometric.ErrUnsupported)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.idx == nil {
		return f.closedErr()
	}
	dir, err := os.MkdirTemp("", "gometric-faiss-")
	if err != nil {
		return fmt.Errorf("%s: Save %s: %w", faissComponent, path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "index.faiss")
	ctmp := C.CString(tmp)
	defer C.free(unsafe.Pointer(ctmp))
	runtime.LockOSThread() // FAISS's last error is thread-local
	rc := C.gm_write(faissPointer(f.idx), ctmp)
	msg := ""
	if rc != 0 {
		msg = faissLastError()
	}
	runtime.UnlockOSThread()
	if rc != 0 {
		return fmt.Errorf("%s: Save %s: faiss_write_index failed: %s: %w", faissComponent, path, msg, gometric.ErrShape)
	}
	src, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("%s: Save %s: %w", faissComponent, path, err)
	}
	defer src.Close()
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// LoadFaiss reads an index in FAISS's own file format (written by Save, or
// by faiss.write_index in Python) through the C API's
// faiss_read_index_fname: any FAISS index type (Flat, IVF, HNSW, PQ, ...),
// trained and holding its vectors, with the search parameters it was
// saved with. Its Description is "file:" and the path. A file that FAISS
// cannot read is an error wrapping gometric.ErrShape; a metric other than
// L2 or inner product wraps gometric.ErrUnsupported.
//
// FAISS's reader checks the format but trusts the sizes it declares, so
// read only FAISS files you trust (a gometric index file, by contrast, is
// bounded by its length and checksummed).
func LoadFaiss(path string) (*Faiss, error) {
	if !goFaissLayout {
		return nil, fmt.Errorf("knn.LoadFaiss: go-faiss's Index has another layout than v0.1.0's: %w", gometric.ErrUnsupported)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("knn.LoadFaiss: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, check.Errorf("knn.LoadFaiss", gometric.ErrSetting, "%s is not a regular file", path)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.FaissIndex
	runtime.LockOSThread()
	rc := C.gm_read(cpath, &p)
	msg := ""
	if rc != 0 {
		msg = faissLastError()
	}
	runtime.UnlockOSThread()
	if rc != 0 || p == nil {
		return nil, fmt.Errorf("knn.LoadFaiss: %s: faiss_read_index failed: %s: %w", path, msg, gometric.ErrShape)
	}
	idx := wrapFaiss(p)
	var metric Metric
	switch idx.MetricType() {
	case faiss.MetricL2:
		metric = L2
	case faiss.MetricInnerProduct:
		metric = InnerProduct
	default:
		m := idx.MetricType()
		idx.Delete()
		return nil, fmt.Errorf("knn.LoadFaiss: %s: FAISS metric %d: only L2 and inner product are supported: %w", path, m, gometric.ErrUnsupported)
	}
	f := &Faiss{idx: idx, description: "file:" + path, dim: idx.D(), metric: metric}
	f.cleanup = runtime.AddCleanup(f, func(idx *faiss.Index) { idx.Delete() }, idx)
	return f, nil
}
