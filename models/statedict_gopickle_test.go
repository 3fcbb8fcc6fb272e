package models_test

import (
	"path/filepath"
	"testing"

	"github.com/gometric/gometric/models"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// TestReadPTHMatchesGopickle: ReadStateDict reads the torch.save fixtures
// (zip and legacy) as github.com/nlpodyssey/gopickle's pytorch.Load does,
// value for value through each tensor's storage offset and strides (an
// independent reading of the same files; gopickle itself is not used by
// the package: see ReadPTH).
func TestReadPTHMatchesGopickle(t *testing.T) {
	for _, file := range []string{"mixed.pth", "mixed_legacy.pth", "module.pth", "module_legacy.pth"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(stateDictDir, file)
			ours, err := models.ReadStateDict(path)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := pytorch.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			od, ok := obj.(*types.OrderedDict)
			if !ok {
				t.Fatalf("gopickle: %T", obj)
			}
			if od.Len() != len(ours) {
				t.Fatalf("gopickle %d tensors, ours %d", od.Len(), len(ours))
			}
			for el := od.List.Front(); el != nil; el = el.Next() {
				e := el.Value.(*types.OrderedDictEntry)
				name := e.Key.(string)
				tensor := e.Value.(*pytorch.Tensor)
				got, ok := ours[name]
				if !ok {
					t.Fatalf("%q missing", name)
				}
				values := gopickleValues(t, tensor)
				if len(tensor.Size) != len(got.Shape) {
					t.Fatalf("%q: shape %v, gopickle %v", name, got.Shape, tensor.Size)
				}
				for k := range tensor.Size {
					if tensor.Size[k] != got.Shape[k] {
						t.Fatalf("%q: shape %v, gopickle %v", name, got.Shape, tensor.Size)
					}
				}
				for i, v := range values {
					var g float64
					if got.Data != nil {
						g = float64(got.Data[i])
					} else {
						g = float64(got.Ints[i])
					}
					if g != v {
						t.Fatalf("%q[%d] = %v, gopickle %v", name, i, g, v)
					}
				}
			}
		})
	}
}

// gopickleValues flattens a gopickle tensor row-major, as float64 (the
// float64 storage rounded to float32 as ReadStateDict does).
func gopickleValues(t *testing.T, x *pytorch.Tensor) []float64 {
	t.Helper()
	at := func(i int) float64 {
		switch s := x.Source.(type) {
		case *pytorch.FloatStorage:
			return float64(s.Data[i])
		case *pytorch.HalfStorage:
			return float64(s.Data[i])
		case *pytorch.BFloat16Storage:
			return float64(s.Data[i])
		case *pytorch.DoubleStorage:
			return float64(float32(s.Data[i]))
		case *pytorch.LongStorage:
			return float64(s.Data[i])
		case *pytorch.IntStorage:
			return float64(s.Data[i])
		case *pytorch.ByteStorage:
			return float64(s.Data[i])
		case *pytorch.BoolStorage:
			if s.Data[i] {
				return 1
			}
			return 0
		}
		t.Fatalf("storage %T", x.Source)
		return 0
	}
	n := 1
	for _, d := range x.Size {
		n *= d
	}
	out := make([]float64, 0, n)
	idx := make([]int, len(x.Size))
	for range n {
		pos := x.StorageOffset
		for k, i := range idx {
			pos += i * x.Stride[k]
		}
		out = append(out, at(pos))
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < x.Size[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}
