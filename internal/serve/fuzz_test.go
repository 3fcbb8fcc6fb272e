package serve

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzDecodeRequest: any body gives vectors of the index's dimension and
// a k in range, or a client error; never a panic.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"vector": [1, 2, 3, 4], "k": 3}`,
		`{"vectors": [[1, 2, 3, 4], [0, 0, 0, 1e-3]]}`,
		`{"vector": [1, 2, 3]}`,
		`{"vector": [1, 2, 3, 4]} {}`,
		`{"vectors": []}`,
		`{"k": -1}`,
		`[`, ``, `null`, `{"vector": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		vecs, k, err := DecodeRequest(bytes.NewReader(body), 4, 3, 10)
		if err != nil {
			var es *errStatus
			if !errors.As(err, &es) || es.code < 400 || es.code > 499 || es.msg == "" {
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if k < 1 || k > 10 || len(vecs) < 1 || len(vecs) > 3 {
			t.Fatalf("k %d, %d vectors", k, len(vecs))
		}
		for _, v := range vecs {
			if len(v) != 4 {
				t.Fatalf("vector of %d", len(v))
			}
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("non-finite %v", x)
				}
			}
		}
	})
}
