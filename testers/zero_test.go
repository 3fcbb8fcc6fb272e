package testers_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestZeroAndNil: the zero value of every exported struct either behaves as
// its constructor's value or is refused with ErrSetting naming the
// constructor; nil receivers return errors. Every exported struct type is
// covered (checked against the source), and every type's doc says whether
// it is safe for concurrent use.
func TestZeroAndNil(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Eval", "GlobalEmbeddingSpace", "GlobalTwoStreamEmbeddingSpace", "TrunkEmbedder", "TwoStreamSplit", "WithSameParentLabel"})
	testkit.CheckConcurrencyDocs(t, ".")
	ty := reflect.TypeFor[*testers.GlobalEmbeddingSpace]()
	for method, err := range testkit.NilReceiver(t, ty) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil receiver %s: %v, want ErrSetting", method, err)
		}
	}
	for method, err := range testkit.ZeroValue(t, ty) {
		if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "NewGlobalEmbeddingSpace") {
			t.Errorf("zero value %s: %v, want an ErrSetting naming NewGlobalEmbeddingSpace", method, err)
		}
	}
	for ty, ctor := range map[reflect.Type]string{
		reflect.TypeFor[*testers.WithSameParentLabel]():           "NewWithSameParentLabel",
		reflect.TypeFor[*testers.GlobalTwoStreamEmbeddingSpace](): "NewGlobalTwoStreamEmbeddingSpace",
	} {
		for method, err := range testkit.NilReceiver(t, ty) {
			if !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("nil %v.%s: %v, want ErrSetting", ty, method, err)
			}
		}
		for method, err := range testkit.ZeroValue(t, ty) {
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), ctor) {
				t.Errorf("zero %v.%s: %v, want an ErrSetting naming %s", ty, method, err, ctor)
			}
		}
	}
	ds := blobs(t, 1, 12, 5, 3, 0, 0.5)
	splits := map[string]datasets.Dataset{"a": ds}
	enc := linear(5, 4)
	ctx := context.Background()
	var nilTester *testers.GlobalEmbeddingSpace
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "GlobalEmbeddingSpace{}.Test", Call: func() error {
			_, err := (&testers.GlobalEmbeddingSpace{}).Test(ctx, enc, splits)
			return err
		}, Want: gometric.ErrSetting, Ctor: "NewGlobalEmbeddingSpace"},
		{Name: "GlobalEmbeddingSpace{}.Embeddings", Call: func() error {
			_, _, err := (&testers.GlobalEmbeddingSpace{}).Embeddings(ctx, enc, ds)
			return err
		}, Want: gometric.ErrSetting, Ctor: "NewGlobalEmbeddingSpace"},
		{Name: "literal with PML's settings", Call: func() error {
			_, err := (&testers.GlobalEmbeddingSpace{Normalize: true, BatchSize: 32}).Test(ctx, enc, splits)
			return err
		}, Want: gometric.ErrSetting, Ctor: "NewGlobalEmbeddingSpace"},
		{Name: "nil GlobalEmbeddingSpace.Test", Call: func() error {
			_, err := nilTester.Test(ctx, enc, splits)
			return err
		}, Want: gometric.ErrSetting},
		{Name: "nil GlobalEmbeddingSpace.Embeddings", Call: func() error {
			_, _, err := nilTester.Embeddings(ctx, enc, ds)
			return err
		}, Want: gometric.ErrSetting},
		{Name: "Eval{}", Call: func() error {
			_, err := testers.NewGlobalEmbeddingSpace().Test(ctx, enc, splits, testers.Eval{})
			return err
		}, Want: gometric.ErrSetting},
		{Name: "nil EmbedFunc", Call: func() error {
			_, err := testers.NewGlobalEmbeddingSpace().Test(ctx, testers.EmbedFunc(nil), splits)
			return err
		}, Want: gometric.ErrSetting},
		{Name: "TrunkEmbedder{}", Call: func() error {
			_, err := testers.NewGlobalEmbeddingSpace().Test(ctx, testers.TrunkEmbedder{}, splits)
			return err
		}, Want: gometric.ErrSetting},
		{Name: "TwoStreamSplit{}", Call: func() error {
			_, err := testers.NewGlobalTwoStreamEmbeddingSpace().Test(ctx, enc, map[string]testers.TwoStreamSplit{"a": {}})
			return err
		}, Want: gometric.ErrSetting},
		{Name: "NewGlobalEmbeddingSpace", Call: func() error {
			got, err := testers.NewGlobalEmbeddingSpace().Test(ctx, enc, splits)
			if err != nil {
				return err
			}
			e, l := direct(t, enc, ds, true)
			want, err := accuracy.NewCalculator().SelfAccuracy(e, l)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got["a"], want) {
				t.Errorf("got %v, want %v", got["a"], want)
			}
			return nil
		}},
	})
}
