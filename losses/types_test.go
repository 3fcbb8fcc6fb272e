package losses_test

import (
	"errors"
	"fmt"
	"go/ast"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// lossType is one exported loss type of the package, for the tests that
// must cover every one of them.
type lossType struct {
	// null is a nil pointer of the type.
	null losses.Loss
	// make returns a value made by the constructor.
	make func() losses.Loss
	// zeroIsNew: the zero value equals make() (and is valid or refused
	// like it); otherwise the zero value is refused with ErrSetting
	// naming the constructor.
	zeroIsNew bool
	// safe: Compute may be called concurrently (the type's doc says so);
	// batch is the input used then (nil: the default batch).
	safe  bool
	batch func(emb, emb2 *mat.Dense, labels []int) losses.Batch
	// concurrent, when set, makes the value of the concurrency test
	// (else make).
	concurrent func() losses.Loss
}

func typesRng() *rand.Rand { return rand.New(rand.NewPCG(3, 5)) }

// lossTypes lists every exported type of package losses that implements
// Loss; TestLossTypesComplete fails when one is missing.
var lossTypes = map[string]lossType{
	"Angular":                    {null: (*losses.Angular)(nil), make: func() losses.Loss { return losses.NewAngular() }, safe: true},
	"ArcFace":                    {null: (*losses.ArcFace)(nil), make: func() losses.Loss { return must(losses.NewArcFace(4, 4, typesRng())) }, safe: true},
	"Circle":                     {null: (*losses.Circle)(nil), make: func() losses.Loss { return losses.NewCircle() }, safe: true},
	"Contrastive":                {null: (*losses.Contrastive)(nil), make: func() losses.Loss { return losses.NewContrastive() }, safe: true},
	"CosFace":                    {null: (*losses.CosFace)(nil), make: func() losses.Loss { return must(losses.NewCosFace(4, 4, typesRng())) }, safe: true},
	"CrossBatchMemory":           {null: (*losses.CrossBatchMemory)(nil), make: func() losses.Loss { return must(losses.NewCrossBatchMemory(losses.NewContrastive(), 4, 32)) }},
	"DynamicSoftMargin":          {null: (*losses.DynamicSoftMargin)(nil), make: func() losses.Loss { return losses.NewDynamicSoftMargin() }},
	"FastAP":                     {null: (*losses.FastAP)(nil), make: func() losses.Loss { return losses.NewFastAP() }, safe: true},
	"GeneralizedLiftedStructure": {null: (*losses.GeneralizedLiftedStructure)(nil), make: func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, safe: true},
	"Histogram":                  {null: (*losses.Histogram)(nil), make: func() losses.Loss { return losses.NewHistogram() }, safe: true},
	"Instance":                   {null: (*losses.Instance)(nil), make: func() losses.Loss { return losses.NewInstance() }, safe: true},
	"IntraPairVariance":          {null: (*losses.IntraPairVariance)(nil), make: func() losses.Loss { return losses.NewIntraPairVariance() }, safe: true},
	"LargeMarginSoftmax":         {null: (*losses.LargeMarginSoftmax)(nil), make: func() losses.Loss { return must(losses.NewLargeMarginSoftmax(4, 4, typesRng())) }, safe: true},
	"LiftedStructure":            {null: (*losses.LiftedStructure)(nil), make: func() losses.Loss { return losses.NewLiftedStructure() }, safe: true},
	"Manifold":                   {null: (*losses.Manifold)(nil), make: func() losses.Loss { return must(losses.NewManifold(4, 3, typesRng())) }, safe: true, batch: noLabels},
	"Margin":                     {null: (*losses.Margin)(nil), make: func() losses.Loss { return losses.NewMargin() }, safe: true},
	"MultiSimilarity":            {null: (*losses.MultiSimilarity)(nil), make: func() losses.Loss { return losses.NewMultiSimilarity() }, safe: true},
	"Multiple": {null: (*losses.Multiple)(nil), make: func() losses.Loss { return losses.NewMultiple() }, zeroIsNew: true, safe: true,
		concurrent: func() losses.Loss {
			return losses.NewMultiple(losses.NewContrastive(), must(losses.NewArcFace(4, 4, typesRng())))
		}},
	"NCA":                           {null: (*losses.NCA)(nil), make: func() losses.Loss { return losses.NewNCA() }, safe: true},
	"NPairs":                        {null: (*losses.NPairs)(nil), make: func() losses.Loss { return losses.NewNPairs() }, safe: true},
	"NTXent":                        {null: (*losses.NTXent)(nil), make: func() losses.Loss { return losses.NewNTXent() }, safe: true},
	"NormalizedSoftmax":             {null: (*losses.NormalizedSoftmax)(nil), make: func() losses.Loss { return must(losses.NewNormalizedSoftmax(4, 4, typesRng())) }, safe: true},
	"P2SGrad":                       {null: (*losses.P2SGrad)(nil), make: func() losses.Loss { return must(losses.NewP2SGrad(4, 4, typesRng())) }},
	"PNP":                           {null: (*losses.PNP)(nil), make: func() losses.Loss { return losses.NewPNP() }, safe: true},
	"ProxyAnchor":                   {null: (*losses.ProxyAnchor)(nil), make: func() losses.Loss { return must(losses.NewProxyAnchor(4, 4, typesRng())) }, safe: true},
	"ProxyNCA":                      {null: (*losses.ProxyNCA)(nil), make: func() losses.Loss { return must(losses.NewProxyNCA(4, 4, typesRng())) }, safe: true},
	"RankedList":                    {null: (*losses.RankedList)(nil), make: func() losses.Loss { return losses.NewRankedList(0.4, 10) }, safe: true},
	"SelfSupervised":                {null: (*losses.SelfSupervised)(nil), make: func() losses.Loss { return losses.NewSelfSupervised(losses.NewNTXent()) }, safe: true, batch: views},
	"SignalToNoiseRatioContrastive": {null: (*losses.SignalToNoiseRatioContrastive)(nil), make: func() losses.Loss { return losses.NewSignalToNoiseRatioContrastive() }, safe: true},
	"SoftTriple":                    {null: (*losses.SoftTriple)(nil), make: func() losses.Loss { return must(losses.NewSoftTriple(4, 4, 2, typesRng())) }, safe: true},
	"SphereFace":                    {null: (*losses.SphereFace)(nil), make: func() losses.Loss { return must(losses.NewSphereFace(4, 4, typesRng())) }, safe: true},
	"SubCenterArcFace":              {null: (*losses.SubCenterArcFace)(nil), make: func() losses.Loss { return must(losses.NewSubCenterArcFace(4, 4, 2, typesRng())) }, safe: true},
	"SupCon":                        {null: (*losses.SupCon)(nil), make: func() losses.Loss { return losses.NewSupCon() }, safe: true},
	"ThresholdConsistentMargin":     {null: (*losses.ThresholdConsistentMargin)(nil), make: func() losses.Loss { return losses.NewThresholdConsistentMargin() }, safe: true},
	"TripletMargin":                 {null: (*losses.TripletMargin)(nil), make: func() losses.Loss { return losses.NewTripletMargin() }, safe: true},
	"TupletMargin":                  {null: (*losses.TupletMargin)(nil), make: func() losses.Loss { return losses.NewTupletMargin() }, safe: true},
	"VICReg":                        {null: (*losses.VICReg)(nil), make: func() losses.Loss { return losses.NewVICReg() }, safe: true, batch: views},
}

func noLabels(emb, _ *mat.Dense, _ []int) losses.Batch { return losses.Batch{Embeddings: emb} }

func views(emb, emb2 *mat.Dense, _ []int) losses.Batch {
	return losses.Batch{Embeddings: emb, Ref: emb2}
}

// typesBatch is an input every loss accepts: 8 embeddings of size 4,
// labels in [0, 4).
func typesBatch() (emb, emb2 *mat.Dense, labels []int) {
	rng := rand.New(rand.NewPCG(9, 9))
	return testkit.NormalDense(rng, 8, 4), testkit.NormalDense(rng, 8, 4), []int{0, 1, 2, 3, 0, 1, 2, 3}
}

func (lt lossType) input() losses.Batch {
	emb, emb2, labels := typesBatch()
	if lt.batch != nil {
		return lt.batch(emb, emb2, labels)
	}
	return losses.Batch{Embeddings: emb, Labels: labels}
}

// isLossCompute reports whether m is Loss's Compute(Batch) (Result, error).
func isLossCompute(m testkit.Method) bool {
	if m.Name != "Compute" {
		return false
	}
	ps := m.Type.Params.List
	if len(ps) != 1 || len(ps[0].Names) > 1 {
		return false
	}
	id, ok := ps[0].Type.(*ast.Ident)
	return ok && id.Name == "Batch"
}

// TestLossTypesComplete: every exported type with a Compute method (its
// own or promoted) is in lossTypes, and every exported type with methods
// is a loss type (so the nil-receiver test covers its methods).
func TestLossTypesComplete(t *testing.T) {
	if _, err := os.Stat("loss.go"); err != nil {
		t.Skip("not run from the package directory")
	}
	found := 0
	for _, ty := range testkit.ExportedTypes(t, ".") {
		hasCompute := slices.ContainsFunc(ty.Methods, isLossCompute)
		_, listed := lossTypes[ty.Name]
		switch {
		case ty.Name == "Objective":
			// Not a Loss (its Compute takes float32 embeddings); its nil
			// receivers are tested in objective_test.go.
		case ty.Name == "CrossEntropy":
			// Not a metric loss (its Compute takes logits and targets);
			// tested in crossentropy_test.go.
		case hasCompute && !listed:
			t.Errorf("losses.%s implements Loss but is not in lossTypes", ty.Name)
		case !hasCompute && listed:
			t.Errorf("lossTypes lists %s, which has no Compute method", ty.Name)
		case !hasCompute && ty.HasMethods():
			t.Errorf("losses.%s has methods but is not a loss: add it to the nil-receiver test", ty.Name)
		}
		if hasCompute {
			found++
		}
	}
	if found != len(lossTypes) {
		t.Errorf("%d loss types in the package, %d in lossTypes", found, len(lossTypes))
	}
}

// TestConcurrencyDocs: every exported type's doc says whether it is safe
// for concurrent use.
func TestConcurrencyDocs(t *testing.T) {
	if _, err := os.Stat("loss.go"); err != nil {
		t.Skip("not run from the package directory")
	}
	testkit.CheckConcurrencyDocs(t, ".")
}

// TestZeroValues: the zero value of every loss type is refused with an
// error wrapping ErrSetting that names the loss and its constructor, or
// equals the constructor's value; a loss whose Base (or WeightReg) was
// replaced by a literal is refused too.
func TestZeroValues(t *testing.T) {
	for name, lt := range lossTypes {
		t.Run(name, func(t *testing.T) {
			zero := reflect.New(reflect.TypeOf(lt.null).Elem()).Interface().(losses.Loss)
			made := lt.make()
			if lt.zeroIsNew && !reflect.DeepEqual(zero, made) {
				t.Fatalf("zero value %+v differs from the constructor's %+v", zero, made)
			}
			_, err := zero.Compute(lt.input())
			if !errors.Is(err, gometric.ErrSetting) {
				t.Fatalf("zero value: error %v, want one wrapping ErrSetting", err)
			}
			if !strings.HasPrefix(err.Error(), "losses."+name+": ") || strings.Count(err.Error(), "losses."+name+":") != 1 {
				t.Errorf("zero value: error %q does not name losses.%s once", err, name)
			}
			if !lt.zeroIsNew && !strings.Contains(err.Error(), "New"+name) {
				t.Errorf("zero value: error %q does not name the constructor New%s", err, name)
			}
			// The constructor's value works.
			if !lt.zeroIsNew {
				if _, err := made.Compute(lt.input()); err != nil {
					t.Fatalf("constructor's value: %v", err)
				}
			}
			for _, field := range []string{"Base", "WeightReg"} {
				v := reflect.ValueOf(lt.make()).Elem()
				f := v.FieldByName(field)
				if !f.IsValid() {
					continue
				}
				f.Set(reflect.Zero(f.Type())) // as l.Base = losses.Base{}
				_, err := v.Addr().Interface().(losses.Loss).Compute(lt.input())
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "losses."+name+": ") {
					t.Errorf("%s literal: error %v, want one wrapping ErrSetting from losses.%s", field, err, name)
				}
			}
		})
	}
}

// TestNilReceivers calls every exported method of every loss type on a nil
// pointer with zero arguments: methods with an error result return an
// error naming the loss, the others zero values, and none panics.
func TestNilReceivers(t *testing.T) {
	for name, lt := range lossTypes {
		t.Run(name, func(t *testing.T) {
			for method, err := range testkit.NilReceiver(t, reflect.TypeOf(lt.null)) {
				if !strings.HasPrefix(err.Error(), "losses."+name+": ") {
					t.Errorf("%s: error %v, want one from losses.%s", method, err, name)
				}
			}
		})
	}
}

// TestConcurrentSafeLosses backs the docs' claims (run it with -race): every
// loss declared safe for concurrent use gives, from several goroutines at
// once, the bits it gives alone.
func TestConcurrentSafeLosses(t *testing.T) {
	for name, lt := range lossTypes {
		if !lt.safe {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := lt.make()
			if lt.concurrent != nil {
				l = lt.concurrent()
			}
			if m, ok := l.(*losses.Manifold); ok {
				m.MetaClasses = []int{0, 1, 2, 0, 1, 2, 0, 1}
			}
			b := lt.input()
			want, err := l.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 3, func(int) error {
				got, err := l.Compute(b)
				if err != nil {
					return err
				}
				if got.Loss != want.Loss || !mat.Equal(got.Grad, want.Grad) {
					return errors.New("the result differs from a sequential call's")
				}
				return nil
			})
		})
	}
}

// TestConcurrentGlobalRand: with a nil Rand the random draws come from the
// process-wide generator, concurrently (run with -race).
func TestConcurrentGlobalRand(t *testing.T) {
	tm := losses.NewTripletMargin()
	tm.TripletsPerAnchor = 2
	mg := losses.NewMargin()
	mg.TripletsPerAnchor = 3
	mf := must(losses.NewManifold(4, 3, typesRng()))
	emb, _, labels := typesBatch()
	for _, c := range []struct {
		l losses.Loss
		b losses.Batch
	}{
		{tm, losses.Batch{Embeddings: emb, Labels: labels}},
		{mg, losses.Batch{Embeddings: emb, Labels: labels}},
		{mf, losses.Batch{Embeddings: emb}},
	} {
		testkit.Concurrently(t, 4, 5, func(int) error {
			if _, err := c.l.Compute(c.b); err != nil {
				return fmt.Errorf("%T: %w", c.l, err)
			}
			return nil
		})
	}
}

// TestNilRand: a nil Rand draws fresh random triplets at every call (PML
// draws from torch's global generator); a seeded one reproduces them. A
// nil rng given to a constructor draws fresh weights.
func TestNilRand(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	emb, labels := testkit.NormalDense(rng, 40, 6), randLabels(rng, 40, 4)
	b := losses.Batch{Embeddings: emb, Labels: labels}
	for _, mk := range []func(r *rand.Rand) losses.Loss{
		func(r *rand.Rand) losses.Loss {
			l := losses.NewTripletMargin()
			l.TripletsPerAnchor, l.Rand, l.Margin = 1, r, 1
			return l
		},
		func(r *rand.Rand) losses.Loss {
			l := losses.NewMargin()
			l.TripletsPerAnchor, l.Rand = 1, r
			return l
		},
	} {
		l := mk(nil)
		first, err := l.Compute(b)
		if err != nil {
			t.Fatalf("%T with a nil Rand: %v", l, err)
		}
		differs := false
		for range 10 {
			res, err := l.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			differs = differs || res.Loss != first.Loss
		}
		if !differs {
			t.Errorf("%T with a nil Rand: 11 calls gave the same loss %v", l, first.Loss)
		}
		r1, err1 := mk(rand.New(rand.NewPCG(5, 6))).Compute(b)
		r2, err2 := mk(rand.New(rand.NewPCG(5, 6))).Compute(b)
		if err1 != nil || err2 != nil || r1.Loss != r2.Loss || math.IsNaN(r1.Loss) {
			t.Errorf("%T: same seed, losses %v (%v) and %v (%v)", l, r1.Loss, err1, r2.Loss, err2)
		}
	}
	a, b2 := must(losses.NewArcFace(3, 4, nil)), must(losses.NewArcFace(3, 4, nil))
	if mat.Equal(a.W, b2.W) {
		t.Error("NewArcFace with a nil rng drew the same weights twice")
	}
	a, b2 = must(losses.NewArcFace(3, 4, rand.New(rand.NewPCG(1, 1)))), must(losses.NewArcFace(3, 4, rand.New(rand.NewPCG(1, 1))))
	if !mat.Equal(a.W, b2.W) {
		t.Error("NewArcFace with the same seed drew different weights")
	}
}

// TestErrorNamesOnce: an error from a lower package (here tuples' index
// check and a miner's) carries the loss's name exactly once.
func TestErrorNamesOnce(t *testing.T) {
	emb, _, labels := typesBatch()
	bad := &tuples.Pairs{A1: []int{0}, P: []int{99}}
	for name, l := range map[string]losses.Loss{
		"Contrastive":   losses.NewContrastive(),
		"TripletMargin": losses.NewTripletMargin(),
		"FastAP":        losses.NewFastAP(),
		"ArcFace":       must(losses.NewArcFace(4, 4, typesRng())),
	} {
		_, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: bad})
		if !errors.Is(err, gometric.ErrIndex) {
			t.Fatalf("%s: error %v, want ErrIndex", name, err)
		}
		if !strings.HasPrefix(err.Error(), "losses."+name+": tuples.") || strings.Count(err.Error(), "losses."+name) != 1 {
			t.Errorf("%s: error %q does not name the loss exactly once before tuples'", name, err)
		}
	}
	m := losses.NewMultiple(losses.NewContrastive())
	if _, err := m.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: bad}); err == nil || strings.Count(err.Error(), "losses.Contrastive") != 1 || !strings.HasPrefix(err.Error(), "losses.Multiple: ") {
		t.Errorf("Multiple: error %v", err)
	}
}

// TestPlainTypesZero: the exported types that are not losses. The zero
// Batch is refused (no embeddings), the zero Result is a valid Reuse, and
// a zero Base or WeightReg in a loss is refused (TestZeroValues).
func TestPlainTypesZero(t *testing.T) {
	l := losses.NewContrastive()
	if _, err := l.Compute(losses.Batch{}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("zero Batch: error %v, want ErrShape", err)
	}
	emb, _, labels := typesBatch()
	want, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Reuse: &losses.Result{}})
	if err != nil || got.Loss != want.Loss || !mat.Equal(got.Grad, want.Grad) {
		t.Errorf("zero Result as Reuse: %v, %v", got.Loss, err)
	}
	var p losses.Param
	if p.Name != "" || p.Value != nil {
		t.Error("the zero Param is not empty")
	}
}
