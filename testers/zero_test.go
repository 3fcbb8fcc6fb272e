package testers_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestZeroAndNil: the zero value of every exported struct either behaves as
// its constructor's value or is refused with ErrSetting naming the
// constructor; nil receivers return errors.
func TestZeroAndNil(t *testing.T) {
	ds := blobs(t, 1, 12, 5, 3, 0, 0.5)
	splits := map[string]datasets.Dataset{"a": ds}
	enc := linear(5, 4)
	ctx := context.Background()
	var nilTester *testers.GlobalEmbeddingSpace
	tests := []struct {
		name string
		call func() error
		// want is nil when the call must behave as the constructor's
		// value; otherwise the sentinel, and ctor the constructor the
		// message must name.
		want error
		ctor string
	}{
		{"GlobalEmbeddingSpace{}.Test", func() error {
			_, err := (&testers.GlobalEmbeddingSpace{}).Test(ctx, enc, splits)
			return err
		}, gometric.ErrSetting, "NewGlobalEmbeddingSpace"},
		{"GlobalEmbeddingSpace{}.Embeddings", func() error {
			_, _, err := (&testers.GlobalEmbeddingSpace{}).Embeddings(ctx, enc, ds)
			return err
		}, gometric.ErrSetting, "NewGlobalEmbeddingSpace"},
		{"literal with PML's settings", func() error {
			_, err := (&testers.GlobalEmbeddingSpace{Normalize: true, BatchSize: 32}).Test(ctx, enc, splits)
			return err
		}, gometric.ErrSetting, "NewGlobalEmbeddingSpace"},
		{"nil GlobalEmbeddingSpace.Test", func() error {
			_, err := nilTester.Test(ctx, enc, splits)
			return err
		}, gometric.ErrSetting, ""},
		{"nil GlobalEmbeddingSpace.Embeddings", func() error {
			_, _, err := nilTester.Embeddings(ctx, enc, ds)
			return err
		}, gometric.ErrSetting, ""},
		{"Eval{}", func() error {
			_, err := testers.NewGlobalEmbeddingSpace().Test(ctx, enc, splits, testers.Eval{})
			return err
		}, gometric.ErrSetting, ""},
		{"nil EmbedFunc", func() error {
			_, err := testers.NewGlobalEmbeddingSpace().Test(ctx, testers.EmbedFunc(nil), splits)
			return err
		}, gometric.ErrSetting, ""},
		{"NewGlobalEmbeddingSpace", func() error {
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
		}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.ctor != "" && !strings.Contains(err.Error(), tc.ctor) {
				t.Errorf("error %q does not name %s", err, tc.ctor)
			}
		})
	}
}
