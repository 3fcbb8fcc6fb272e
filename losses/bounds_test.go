package losses_test

import (
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// classLosses index a parameter by the label (PML's W[:, labels],
// proxies[labels]): their labels must lie in [0, numClasses), and any
// other label is an error wrapping ErrLabels naming the label.
var classLosses = []string{"ArcFace", "CosFace", "LargeMarginSoftmax", "NormalizedSoftmax", "P2SGrad", "ProxyAnchor", "ProxyNCA", "SoftTriple", "SphereFace", "SubCenterArcFace"}

// TestExtremeLabels: labels such as 10^18, math.MaxInt and math.MinInt
// (relabelling 0..3 in order) give every loss that compares labels
// exactly the loss and gradient of the small labels; the losses that
// index a parameter by the label refuse them with ErrLabels. Neither
// panics nor allocates by the size of a label.
func TestExtremeLabels(t *testing.T) {
	names := make([]string, 0, len(lossTypes))
	for name := range lossTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lt := lossTypes[name]
		mk := lt.make
		if lt.concurrent != nil {
			mk = lt.concurrent // Multiple: with a class loss (ArcFace)
		}
		small := lt.input()
		if small.Labels == nil {
			continue // takes no labels
		}
		for _, values := range [][]int{testkit.ExtremeLabels(), testkit.ExtremeLabels()[2:]} {
			ext := small
			ext.Labels = testkit.Relabel(small.Labels, values)
			want, err := mk().Compute(small)
			if err != nil {
				t.Fatalf("%s, small labels: %v", name, err)
			}
			var got losses.Result
			alloc := testkit.Allocated(func() { got, err = mk().Compute(ext) })
			if alloc > 16<<20 {
				t.Errorf("%s: extreme labels allocated %d MiB", name, alloc>>20)
			}
			if slices.Contains(classLosses, name) || name == "Multiple" {
				if !errors.Is(err, gometric.ErrLabels) {
					t.Errorf("%s: labels %v: %v; want an ErrLabels error", name, ext.Labels, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: labels %v: %v", name, ext.Labels, err)
				continue
			}
			if got.Loss != want.Loss || !mat.Equal(got.Grad, want.Grad) {
				t.Errorf("%s: labels %v give loss %v, labels %v give %v", name, ext.Labels, got.Loss, small.Labels, want.Loss)
			}
		}
	}
}

// TestRunawaySizes: sizes given to a constructor or set as fields (number
// of classes, embedding size, centres, memory size, bins, triplets per
// anchor) never size an allocation beyond the documented limits: the
// call fails fast with an error naming the loss and the value, having
// allocated little, or succeeds.
func TestRunawaySizes(t *testing.T) {
	emb, _, labels := typesBatch()
	batch := losses.Batch{Embeddings: emb, Labels: labels}
	big := testkit.NormalDense(typesRng(), 100, 4)
	bigLabels := make([]int, 100)
	for i := range bigLabels {
		bigLabels[i] = i % 4
	}
	compute := func(l losses.Loss, b losses.Batch) error { _, err := l.Compute(b); return err }
	cases := []struct {
		name string
		call func() error
		want error
		text string
	}{
		{"ArcFace 1e9 classes", func() error { _, err := losses.NewArcFace(1e9, 512, nil); return err }, gometric.ErrSetting, "1000000000"},
		{"CosFace MaxInt classes", func() error { _, err := losses.NewCosFace(math.MaxInt, 2, nil); return err }, gometric.ErrSetting, "9223372036854775807"},
		{"SphereFace 2^14 × 2^15", func() error { _, err := losses.NewSphereFace(1<<14, 1<<15, nil); return err }, gometric.ErrSetting, "32768"},
		{"LargeMarginSoftmax size MaxInt", func() error { _, err := losses.NewLargeMarginSoftmax(2, math.MaxInt, nil); return err }, gometric.ErrSetting, "9223372036854775807"},
		{"NormalizedSoftmax 1e18 classes", func() error { _, err := losses.NewNormalizedSoftmax(1e18, 4, nil); return err }, gometric.ErrSetting, "1000000000000000000"},
		{"ProxyAnchor 1e9 classes", func() error { _, err := losses.NewProxyAnchor(1e9, 128, nil); return err }, gometric.ErrSetting, "1000000000"},
		{"ProxyNCA MaxInt × MaxInt", func() error { _, err := losses.NewProxyNCA(math.MaxInt, math.MaxInt, nil); return err }, gometric.ErrSetting, "9223372036854775807"},
		{"P2SGrad 1e9 classes", func() error { _, err := losses.NewP2SGrad(64, 1e9, nil); return err }, gometric.ErrSetting, "1000000000"},
		{"SoftTriple 1e6 × 1e3 centres", func() error { _, err := losses.NewSoftTriple(1e6, 4, 1e3, nil); return err }, gometric.ErrSetting, "1000000"},
		{"SubCenterArcFace (2^62+1) × 4 wraps to 4", func() error { _, err := losses.NewSubCenterArcFace(1<<62+1, 4, 4, nil); return err }, gometric.ErrSetting, "4611686018427387905"},
		{"SubCenterArcFace 1e9 × 3", func() error { _, err := losses.NewSubCenterArcFace(1e9, 4, 3, nil); return err }, gometric.ErrSetting, "1000000000"},
		{"SoftTriple fields overflowing", func() error {
			l := must(losses.NewSoftTriple(4, 4, 2, nil))
			l.NumClasses, l.CentersPerClass = 1<<62+4, 4
			return compute(l, batch)
		}, gometric.ErrSetting, "4611686018427387908"},
		{"Manifold 1e9 proxies", func() error { _, err := losses.NewManifold(4, 1e9, nil); return err }, gometric.ErrSetting, "1000000000"},
		{"Manifold K beyond N + K = 2^14", func() error {
			l := must(losses.NewManifold(4, 1<<14, nil))
			l.MetaClasses = []int{0, 1, 2, 3, 0, 1, 2, 3}
			return compute(l, losses.Batch{Embeddings: emb})
		}, gometric.ErrShape, "16384"},
		{"MarginPerClass 1e18 classes", func() error { _, err := losses.NewMarginPerClass(1e18, 1.2); return err }, gometric.ErrSetting, "1000000000000000000"},
		{"CrossBatchMemory 1e9 slots", func() error { _, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 128, 1e9); return err }, gometric.ErrSetting, "1000000000"},
		{"CrossBatchMemory MaxInt slots", func() error {
			_, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 1, math.MaxInt)
			return err
		}, gometric.ErrSetting, "9223372036854775807"},
		{"FastAP 2^20 bins on 100 rows", func() error {
			l := losses.NewFastAP()
			l.NumBins = 1 << 20
			return compute(l, losses.Batch{Embeddings: big, Labels: bigLabels})
		}, gometric.ErrSetting, "1048576"},
		{"FastAP 2^20+1 bins", func() error { l := losses.NewFastAP(); l.NumBins = 1<<20 + 1; return compute(l, batch) }, gometric.ErrSetting, "1048577"},
		{"FastAP MaxInt bins", func() error { l := losses.NewFastAP(); l.NumBins = math.MaxInt; return compute(l, batch) }, gometric.ErrSetting, "9223372036854775807"},
		{"FastAP 2^20 bins on 8 rows", func() error { l := losses.NewFastAP(); l.NumBins = 1 << 20; return compute(l, batch) }, nil, ""},
		{"DynamicSoftMargin 2^20+1 bins", func() error { l := losses.NewDynamicSoftMargin(); l.NumBins = 1<<20 + 1; return compute(l, batch) }, gometric.ErrSetting, "1048577"},
		{"DynamicSoftMargin MaxInt bins", func() error { l := losses.NewDynamicSoftMargin(); l.NumBins = math.MaxInt; return compute(l, batch) }, gometric.ErrSetting, "9223372036854775807"},
		{"Histogram 1e9 bins", func() error { l := losses.NewHistogram(); l.NBins = 1e9; return compute(l, batch) }, gometric.ErrSetting, "nodes"},
		{"Histogram Delta 1e-300", func() error { l := losses.NewHistogram(); l.Delta = 1e-300; return compute(l, batch) }, gometric.ErrSetting, "1e-300"},
		{"TripletMargin 1e8 per anchor", func() error { l := losses.NewTripletMargin(); l.TripletsPerAnchor = 1e8; return compute(l, batch) }, gometric.ErrSetting, "100000000"},
		{"TripletMargin MaxInt per anchor", func() error {
			l := losses.NewTripletMargin()
			l.TripletsPerAnchor = math.MaxInt
			return compute(l, batch)
		}, gometric.ErrSetting, "9223372036854775807"},
		{"Margin 1e8 per anchor", func() error { l := losses.NewMargin(); l.TripletsPerAnchor = 1e8; return compute(l, batch) }, gometric.ErrSetting, "100000000"},
		// A label indexes beta only as an anchor's (PML's
		// beta[labels[anchor_idx]]): the extreme labels come twice.
		{"MarginPerClass label 1e18", func() error {
			return compute(must(losses.NewMarginPerClass(4, 1.2)), losses.Batch{Embeddings: emb, Labels: []int{0, 1, 2, 1e18, 0, 1, 2, 1e18}})
		}, gometric.ErrLabels, "1000000000000000000"},
		{"MarginPerClass label MinInt", func() error {
			return compute(must(losses.NewMarginPerClass(4, 1.2)), losses.Batch{Embeddings: emb, Labels: []int{math.MinInt, 1, 2, 3, math.MinInt, 1, 2, 3}})
		}, gometric.ErrLabels, "-9223372036854775808"},
		{"ArcFace label MaxInt", func() error {
			return compute(must(losses.NewArcFace(4, 4, nil)), losses.Batch{Embeddings: emb, Labels: []int{0, 1, 2, 3, 0, 1, 2, math.MaxInt}})
		}, gometric.ErrLabels, "9223372036854775807"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := testkit.Allocated(func() { err = tc.call() })
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "losses.") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an error wrapping %v naming the loss and %s", err, tc.want, tc.text)
			}
			if alloc > 16<<20 {
				t.Errorf("the refused call allocated %d MiB", alloc>>20)
			}
		})
	}
}
