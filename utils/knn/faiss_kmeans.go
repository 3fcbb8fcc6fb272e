//go:build faiss

package knn

/*
#cgo LDFLAGS: -lfaiss_c

#include <stdlib.h>
#include <string.h>
#include <faiss/c_api/Clustering_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>

// gm_copy_error copies FAISS's last (thread-local) error message into err,
// in the same C call as the failure so the OS thread cannot change between.
static void gm_copy_error(char* err, size_t errlen, const char* fallback) {
	const char* m = faiss_get_last_error();
	if (m == NULL || m[0] == 0) m = fallback;
	strncpy(err, m, errlen - 1);
	err[errlen - 1] = 0;
}

// gm_faiss_kmeans runs FAISS's k-means (a Clustering object with default
// ClusteringParameters except niter and seed, trained with an IndexFlatL2,
// as faiss.Kmeans(d, k) and faiss_kmeans_clustering do), writes the k*d
// centroids, then assigns every point to its nearest centroid with an
// IndexFlatL2 search (k = 1).
static int gm_faiss_kmeans(int d, idx_t n, int k, int niter, int seed,
		const float* x, float* centroids, idx_t* assign, float* dist,
		char* err, size_t errlen) {
	FaissClusteringParameters cp;
	FaissClustering* clus = NULL;
	FaissIndexFlat* index = NULL;
	float* c = NULL;
	size_t size = 0;
	int rc;

	faiss_ClusteringParameters_init(&cp);
	cp.niter = niter;
	cp.seed = seed;
	rc = faiss_Clustering_new_with_params(&clus, d, k, &cp);
	if (rc == 0) rc = faiss_IndexFlat_new_with(&index, d, METRIC_L2);
	if (rc == 0) rc = faiss_Clustering_train(clus, n, x, (FaissIndex*)index);
	if (rc == 0) {
		faiss_Clustering_centroids(clus, &c, &size);
		if (c == NULL || size != (size_t)k * (size_t)d) {
			gm_copy_error(err, errlen, "FAISS returned a centroid table of the wrong size");
			rc = -1000;
		} else {
			memcpy(centroids, c, size * sizeof(float));
		}
	}
	if (rc == 0) rc = faiss_Index_reset((FaissIndex*)index);
	if (rc == 0) rc = faiss_Index_add((FaissIndex*)index, k, centroids);
	if (rc == 0) rc = faiss_Index_search((FaissIndex*)index, n, x, 1, dist, assign);
	if (rc != 0 && rc != -1000) gm_copy_error(err, errlen, "unknown FAISS error");
	if (clus != NULL) faiss_Clustering_free(clus);
	if (index != NULL) faiss_Index_free((FaissIndex*)index);
	return rc;
}

// gm_kmeans_clustering calls FAISS's simplified k-means entry point.
static int gm_kmeans_clustering(size_t d, size_t n, size_t k, const float* x,
		float* centroids, float* qerr, char* err, size_t errlen) {
	int rc = faiss_kmeans_clustering(d, n, k, x, centroids, qerr);
	if (rc != 0) gm_copy_error(err, errlen, "unknown FAISS error");
	return rc;
}
*/
import "C"

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

const faissKMeansComponent = "knn.FaissKMeans"

// FAISS's k-means defaults (faiss.ClusteringParameters), which PML's
// FaissKMeans uses when given no keyword arguments.
const (
	// FaissKMeansIter is FAISS's default number of Lloyd iterations (niter).
	FaissKMeansIter = 25
	// FaissKMeansSeed is FAISS's default random seed.
	FaissKMeansSeed = 1234
)

// FaissKMeans clusters the rows of x into k clusters with FAISS's k-means
// (faiss.Clustering with an IndexFlatL2, through the C API) and then
// assigns every row to its nearest centroid with an IndexFlatL2 search,
// mirroring PML's FaissKMeans (faiss.Kmeans(d, k).train(x) followed by
// kmeans.index.search(x, 1)). With iter = FaissKMeansIter and seed =
// FaissKMeansSeed it is exactly PML's FaissKMeans() and FAISS's
// faiss_kmeans_clustering; PML's AccuracyCalculator builds
// FaissKMeans(niter=20), which is FaissKMeans(x, k, DefaultKMeansIter,
// FaissKMeansSeed).
//
// assign[i] in [0, k) is row i's cluster; centroids is k × x.Cols. The other
// ClusteringParameters keep FAISS's defaults: one run (nredo = 1) from k
// random rows, so well-separated clusters can still end in a local optimum;
// when x has more than 256·k rows FAISS trains on a seeded random subsample
// of 256·k rows; when it has fewer than 39·k rows FAISS prints a warning on
// stderr. x must be non-empty and finite, 1 ≤ k ≤ x.Rows, iter ≥ 1
// and seed must fit in 32 bits; otherwise the error wraps
// gometric.ErrShape, ErrNonFinite or ErrSetting.
func FaissKMeans(x gometric.Matrix, k, iter int, seed int64) (assign []int, centroids gometric.Matrix, err error) {
	if err := x.Validate(faissKMeansComponent, "x"); err != nil {
		return nil, gometric.Matrix{}, err
	}
	if k < 1 || k > x.Rows {
		return nil, gometric.Matrix{}, check.Settingf(faissKMeansComponent, "k = %d outside [1, %d] (the number of rows)", k, x.Rows)
	}
	if iter < 1 {
		return nil, gometric.Matrix{}, check.Settingf(faissKMeansComponent, "iter = %d < 1", iter)
	}
	if seed < math.MinInt32 || seed > math.MaxInt32 {
		return nil, gometric.Matrix{}, check.Settingf(faissKMeansComponent, "seed %d does not fit FAISS's 32-bit seed", seed)
	}
	if x.Cols > math.MaxInt32 || k > math.MaxInt32 || iter > math.MaxInt32 {
		return nil, gometric.Matrix{}, check.Settingf(faissKMeansComponent, "dimension %d, k %d or iter %d exceeds FAISS's int range", x.Cols, k, iter)
	}
	cent := make([]float32, k*x.Cols)
	labels := make([]int64, x.Rows)
	dist := make([]float32, x.Rows)
	errBuf := make([]byte, 1024)
	rc := C.gm_faiss_kmeans(C.int(x.Cols), C.idx_t(x.Rows), C.int(k), C.int(iter), C.int(seed),
		(*C.float)(unsafe.Pointer(&x.Data[0])),
		(*C.float)(unsafe.Pointer(&cent[0])),
		(*C.idx_t)(unsafe.Pointer(&labels[0])),
		(*C.float)(unsafe.Pointer(&dist[0])),
		(*C.char)(unsafe.Pointer(&errBuf[0])), C.size_t(len(errBuf)))
	if rc != 0 {
		return nil, gometric.Matrix{}, fmt.Errorf("%s: FAISS k-means with k = %d on %d×%d failed: %s: %w", faissKMeansComponent, k, x.Rows, x.Cols, cString(errBuf), gometric.ErrSetting)
	}
	assign = make([]int, x.Rows)
	for i, l := range labels {
		if l < 0 || l >= int64(k) {
			return nil, gometric.Matrix{}, fmt.Errorf("%s: FAISS assigned row %d to cluster %d, outside [0, %d): %w", faissKMeansComponent, i, l, k, gometric.ErrIndex)
		}
		assign[i] = int(l)
	}
	return assign, gometric.Matrix{Rows: k, Cols: x.Cols, Data: cent}, nil
}

// faissKMeansClustering calls faiss_kmeans_clustering, FAISS's simplified
// k-means (default parameters), returning the k centroids and the final
// quantization error. x must already be validated and 1 ≤ k ≤ x.Rows.
func faissKMeansClustering(x gometric.Matrix, k int) ([]float32, float32, error) {
	cent := make([]float32, k*x.Cols)
	var qerr C.float
	errBuf := make([]byte, 1024)
	rc := C.gm_kmeans_clustering(C.size_t(x.Cols), C.size_t(x.Rows), C.size_t(k),
		(*C.float)(unsafe.Pointer(&x.Data[0])),
		(*C.float)(unsafe.Pointer(&cent[0])), &qerr,
		(*C.char)(unsafe.Pointer(&errBuf[0])), C.size_t(len(errBuf)))
	if rc != 0 {
		return nil, 0, fmt.Errorf("%s: faiss_kmeans_clustering failed: %s: %w", faissKMeansComponent, cString(errBuf), gometric.ErrSetting)
	}
	return cent, float32(qerr), nil
}

// cString returns the NUL-terminated prefix of b, on one line.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.Join(strings.Fields(string(b)), " ")
}
