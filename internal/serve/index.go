package serve

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
)

// FaissSuffix is appended to an index file's path for the FAISS index that
// gometric index build -faiss writes beside it, in FAISS's own format.
const FaissSuffix = ".faiss"

// OpenIndex opens the index file at path as an inference.Model of vectors
// (inference.Rows): with the FAISS index beside it (path+FaissSuffix, in
// FAISS's format, read with knn.LoadFaiss; search parameters from
// faissParams, ParseFaissParams' form) when it exists and this binary has
// FAISS (the faiss build tag), otherwise with exact search
// (inference.Model.Load). It returns a line saying which.
func OpenIndex(path, faissParams string) (*inference.Model[[]float32], string, error) {
	params, err := ParseFaissParams(faissParams)
	if err != nil {
		return nil, "", err
	}
	m := inference.NewModel(inference.Rows)
	fpath := path + FaissSuffix
	_, statErr := os.Stat(fpath)
	if statErr != nil || !knn.FaissBuilt {
		if len(params) > 0 {
			return nil, "", fmt.Errorf("-faiss-param %s: no FAISS index (%s, in a binary built with -tags faiss): %w", faissParams, fpath, gometric.ErrSetting)
		}
		if err := m.Load(path); err != nil {
			return nil, "", err
		}
		how := "exact search"
		if statErr == nil {
			how += fmt.Sprintf(" (%s is ignored: this binary was built without -tags faiss)", fpath)
		}
		return m, how, nil
	}
	f, err := knn.LoadFaiss(fpath)
	if err != nil {
		return nil, "", err
	}
	for _, p := range params {
		if err := f.SetParameter(p.Name, p.Value); err != nil {
			f.Close()
			return nil, "", err
		}
	}
	if err := m.LoadWith(path, f); err != nil {
		f.Close()
		return nil, "", err
	}
	return m, "FAISS index " + fpath, nil
}

// FaissParam is one FAISS search parameter (faiss.ParameterSpace's name
// and value, e.g. nprobe for IVF indexes, efSearch for HNSW). It is plain
// data, safe for concurrent reads.
type FaissParam struct {
	Name  string
	Value float64
}

// ParseFaissParams parses "name=value,name=value" (e.g. "nprobe=16" or
// "efSearch=128"); "" gives none. A name of other than letters, digits
// and '_', a repeated name, or a value that is not a finite number is an
// error wrapping gometric.ErrSetting.
func ParseFaissParams(s string) ([]FaissParam, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []FaissParam
	for _, kv := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(kv), "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("-faiss-param %q: want name=value pairs separated by commas, e.g. nprobe=16: %w", s, gometric.ErrSetting)
		}
		if slices.ContainsFunc(out, func(p FaissParam) bool { return p.Name == name }) {
			return nil, fmt.Errorf("-faiss-param %q: %s given twice: %w", s, name, gometric.ErrSetting)
		}
		out = append(out, FaissParam{name, v})
	}
	return out, nil
}
