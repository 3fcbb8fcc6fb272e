package gometric_test

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/distributed"
	"github.com/gometric/gometric/utils/extract"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
	"github.com/gometric/gometric/utils/logging"
	"github.com/gometric/gometric/utils/tuples"
)

// sweepFuncs lists every exported function of the public packages (not
// generic ones, which need type arguments). TestSweepCompleteness keeps
// it complete.
var sweepFuncs = map[string]any{
	"datasets.FashionMNISTClasses":                  datasets.FashionMNISTClasses,
	"datasets.FashionMNISTNormalize":                datasets.FashionMNISTNormalize,
	"datasets.FashionMNISTSample":                   datasets.FashionMNISTSample,
	"datasets.FashionMNISTSampleNotice":             datasets.FashionMNISTSampleNotice,
	"datasets.ImageExtensions":                      datasets.ImageExtensions,
	"datasets.ImageNetNormalize":                    datasets.ImageNetNormalize,
	"datasets.LoadFashionMNIST":                     datasets.LoadFashionMNIST,
	"datasets.LoadFashionMNISTOrSample":             datasets.LoadFashionMNISTOrSample,
	"datasets.LoadFeatures":                         datasets.LoadFeatures,
	"datasets.LoadIDX":                              datasets.LoadIDX,
	"datasets.NewCUB":                               datasets.NewCUB,
	"datasets.NewCUBFS":                             datasets.NewCUBFS,
	"datasets.NewCars196":                           datasets.NewCars196,
	"datasets.NewCars196FS":                         datasets.NewCars196FS,
	"datasets.NewSOP":                               datasets.NewSOP,
	"datasets.NewSOPFS":                             datasets.NewSOPFS,
	"datasets.NewINaturalist2018":                   datasets.NewINaturalist2018,
	"datasets.NewINaturalist2018FS":                 datasets.NewINaturalist2018FS,
	"datasets.NewFeatures":                          datasets.NewFeatures,
	"datasets.NewImageFolder":                       datasets.NewImageFolder,
	"datasets.NewImageFolderFS":                     datasets.NewImageFolderFS,
	"datasets.NewImages":                            datasets.NewImages,
	"datasets.NewImagesFromIDX":                     datasets.NewImagesFromIDX,
	"datasets.ParseClassList":                       datasets.ParseClassList,
	"datasets.ReadFeatures":                         datasets.ReadFeatures,
	"datasets.ReadIDX":                              datasets.ReadIDX,
	"datasets.ReadIDXFile":                          datasets.ReadIDXFile,
	"datasets.WriteIDX":                             datasets.WriteIDX,
	"datasets.EvalTransform":                        datasets.EvalTransform,
	"datasets.NewRandomHorizontalFlip":              datasets.NewRandomHorizontalFlip,
	"datasets.NewTwoStream":                         datasets.NewTwoStream,
	"datasets.SampleRand":                           datasets.SampleRand,
	"datasets.ToTensor":                             datasets.ToTensor,
	"datasets.TrainTransform":                       datasets.TrainTransform,
	"distances.Closer":                              distances.Closer,
	"distances.Largest":                             distances.Largest,
	"distances.Margin":                              distances.Margin,
	"distances.NewBatched":                          distances.NewBatched,
	"distances.NewColumnSession":                    distances.NewColumnSession,
	"distances.NewCosineSimilarity":                 distances.NewCosineSimilarity,
	"distances.NewDotProductSimilarity":             distances.NewDotProductSimilarity,
	"distances.NewLp":                               distances.NewLp,
	"distances.NewSNR":                              distances.NewSNR,
	"distances.NewSession":                          distances.NewSession,
	"distances.Smallest":                            distances.Smallest,
	"gometric.DenseFromRows":                        gometric.DenseFromRows,
	"gometric.MatrixFromDense":                      gometric.MatrixFromDense,
	"gometric.NewMatrix":                            gometric.NewMatrix,
	"losses.LoadParams":                             losses.LoadParams,
	"losses.NewAngular":                             losses.NewAngular,
	"losses.NewArcFace":                             losses.NewArcFace,
	"losses.NewCircle":                              losses.NewCircle,
	"losses.NewContrastive":                         losses.NewContrastive,
	"losses.NewCosFace":                             losses.NewCosFace,
	"losses.NewCrossEntropy":                        losses.NewCrossEntropy,
	"losses.NewCrossBatchMemory":                    losses.NewCrossBatchMemory,
	"losses.NewDynamicSoftMargin":                   losses.NewDynamicSoftMargin,
	"losses.NewFastAP":                              losses.NewFastAP,
	"losses.NewGeneralizedLiftedStructure":          losses.NewGeneralizedLiftedStructure,
	"losses.NewHistogram":                           losses.NewHistogram,
	"losses.NewInstance":                            losses.NewInstance,
	"losses.NewIntraPairVariance":                   losses.NewIntraPairVariance,
	"losses.NewLargeMarginSoftmax":                  losses.NewLargeMarginSoftmax,
	"losses.NewLiftedStructure":                     losses.NewLiftedStructure,
	"losses.NewManifold":                            losses.NewManifold,
	"losses.NewMargin":                              losses.NewMargin,
	"losses.NewMarginPerClass":                      losses.NewMarginPerClass,
	"losses.NewMultiSimilarity":                     losses.NewMultiSimilarity,
	"losses.NewMultiple":                            losses.NewMultiple,
	"losses.NewNCA":                                 losses.NewNCA,
	"losses.NewNPairs":                              losses.NewNPairs,
	"losses.NewNTXent":                              losses.NewNTXent,
	"losses.NewNormalizedSoftmax":                   losses.NewNormalizedSoftmax,
	"losses.NewP2SGrad":                             losses.NewP2SGrad,
	"losses.NewPNP":                                 losses.NewPNP,
	"losses.NewProxyAnchor":                         losses.NewProxyAnchor,
	"losses.NewProxyNCA":                            losses.NewProxyNCA,
	"losses.NewRankedList":                          losses.NewRankedList,
	"losses.NewSelfSupervised":                      losses.NewSelfSupervised,
	"losses.NewSignalToNoiseRatioContrastive":       losses.NewSignalToNoiseRatioContrastive,
	"losses.NewSoftTriple":                          losses.NewSoftTriple,
	"losses.NewSphereFace":                          losses.NewSphereFace,
	"losses.NewSubCenterArcFace":                    losses.NewSubCenterArcFace,
	"losses.NewSupCon":                              losses.NewSupCon,
	"losses.NewThresholdConsistentMargin":           losses.NewThresholdConsistentMargin,
	"losses.NewTripletMargin":                       losses.NewTripletMargin,
	"losses.NewTupletMargin":                        losses.NewTupletMargin,
	"losses.NewVICReg":                              losses.NewVICReg,
	"losses.SaveParams":                             losses.SaveParams,
	"miners.CountOf":                                miners.CountOf,
	"miners.NewAngular":                             miners.NewAngular,
	"miners.NewBatchEasyHard":                       miners.NewBatchEasyHard,
	"miners.NewBatchHard":                           miners.NewBatchHard,
	"miners.NewDistanceWeighted":                    miners.NewDistanceWeighted,
	"miners.NewEmbeddingsAlreadyPackagedAsTriplets": miners.NewEmbeddingsAlreadyPackagedAsTriplets,
	"miners.NewHDC":                                 miners.NewHDC,
	"miners.NewMultiSimilarity":                     miners.NewMultiSimilarity,
	"miners.NewPairMargin":                          miners.NewPairMargin,
	"miners.NewTripletMargin":                       miners.NewTripletMargin,
	"miners.NewUniformHistogram":                    miners.NewUniformHistogram,
	"models.BLASName":                               models.BLASName,
	"models.ClipGradNorm":                           models.ClipGradNorm,
	"models.ClipGradValue":                          models.ClipGradValue,
	"models.NewCosineAnnealingLR":                   models.NewCosineAnnealingLR,
	"models.NewExponentialLR":                       models.NewExponentialLR,
	"models.NewMultiStepLR":                         models.NewMultiStepLR,
	"models.NewReduceLROnPlateau":                   models.NewReduceLROnPlateau,
	"models.NewStepLR":                              models.NewStepLR,
	"models.LoadEncoder":                            models.LoadEncoder,
	"models.LossNode":                               models.LossNode,
	"models.NewConvNet":                             models.NewConvNet,
	"models.NewDenseParam":                          models.NewDenseParam,
	"models.NewMLP":                                 models.NewMLP,
	"models.NewOptimizer":                           models.NewOptimizer,
	"models.NewResNet":                              models.NewResNet,
	"models.NewSolverOptimizer":                     models.NewSolverOptimizer,
	"models.ReadPTH":                                models.ReadPTH,
	"models.ReadSafetensors":                        models.ReadSafetensors,
	"models.ReadStateDict":                          models.ReadStateDict,
	"models.ReferenceConvNetConfig":                 models.ReferenceConvNetConfig,
	"models.UseFastBLAS":                            models.UseFastBLAS,
	"models.UseGonumBLAS":                           models.UseGonumBLAS,
	"models.WriteSafetensors":                       models.WriteSafetensors,
	"models.WriteSafetensorsFile":                   models.WriteSafetensorsFile,
	"reducers.NewAvgNonZero":                        reducers.NewAvgNonZero,
	"reducers.NewClassWeighted":                     reducers.NewClassWeighted,
	"reducers.NewDivisor":                           reducers.NewDivisor,
	"reducers.NewDoNothing":                         reducers.NewDoNothing,
	"reducers.NewMean":                              reducers.NewMean,
	"reducers.NewMultiple":                          reducers.NewMultiple,
	"reducers.NewPerAnchor":                         reducers.NewPerAnchor,
	"reducers.NewSum":                               reducers.NewSum,
	"reducers.NewThreshold":                         reducers.NewThreshold,
	"reducers.ParseKind":                            reducers.ParseKind,
	"reducers.Passthrough":                          reducers.Passthrough,
	"reducers.PlanStream":                           reducers.PlanStream,
	"reducers.Reduce":                               reducers.Reduce,
	"reducers.ReduceStream":                         reducers.ReduceStream,
	"regularizers.NewCenterInvariant":               regularizers.NewCenterInvariant,
	"regularizers.NewLp":                            regularizers.NewLp,
	"regularizers.NewRegularFace":                   regularizers.NewRegularFace,
	"regularizers.NewSparseCenters":                 regularizers.NewSparseCenters,
	"regularizers.NewZeroMean":                      regularizers.NewZeroMean,
	"samplers.Batches":                              samplers.Batches,
	"samplers.NewFixedSetOfTriplets":                samplers.NewFixedSetOfTriplets,
	"samplers.NewHierarchical":                      samplers.NewHierarchical,
	"samplers.NewMPerClass":                         samplers.NewMPerClass,
	"samplers.NewTuplesToWeights":                   samplers.NewTuplesToWeights,
	"testers.NewGlobalEmbeddingSpace":               testers.NewGlobalEmbeddingSpace,
	"testers.NewWithSameParentLabel":                testers.NewWithSameParentLabel,
	"testers.NewGlobalTwoStreamEmbeddingSpace":      testers.NewGlobalTwoStreamEmbeddingSpace,
	"testers.ComparedToSelf":                        testers.ComparedToSelf,
	"testers.ComparedToSetsCombined":                testers.ComparedToSetsCombined,
	"testers.ComparedToTrainingSet":                 testers.ComparedToTrainingSet,
	"testers.ScatterPNG":                            testers.ScatterPNG,
	"testers.PNGVisualizer":                         testers.PNGVisualizer,
	"trainers.NewMetricLossOnly":                    trainers.NewMetricLossOnly,
	"trainers.NewBase":                              trainers.NewBase,
	"trainers.NewTrainWithClassifier":               trainers.NewTrainWithClassifier,
	"trainers.NewTwoStreamMetricLoss":               trainers.NewTwoStreamMetricLoss,
	"trainers.NewCascadedEmbeddings":                trainers.NewCascadedEmbeddings,
	"trainers.LabelsAtLevel":                        trainers.LabelsAtLevel,
	"trainers.NewDeepAdversarialMetricLearning":     trainers.NewDeepAdversarialMetricLearning,
	"utils/extract.Features":                        extract.Features,
	"utils/logging.EpochCheckpoint":                 logging.EpochCheckpoint,
	"utils/logging.EpochHeader":                     logging.EpochHeader,
	"utils/logging.FileName":                        logging.FileName,
	"utils/logging.NewHookContainer":                logging.NewHookContainer,
	"utils/logging.ReadEpochs":                      logging.ReadEpochs,
	"utils/logging.ReadIterations":                  logging.ReadIterations,
	"utils/logging.Smooth":                          logging.Smooth,
	"utils/logging.WriteEpochs":                     logging.WriteEpochs,
	"utils/logging.WritePlot":                       logging.WritePlot,
	"utils/accuracy.AMI":                            accuracy.AMI,
	"utils/accuracy.DefaultKMeans":                  accuracy.DefaultKMeans,
	"utils/accuracy.ExactKNN":                       accuracy.ExactKNN,
	"utils/accuracy.FaissKMeans":                    accuracy.FaissKMeans,
	"utils/accuracy.FaissKNN":                       accuracy.FaissKNN,
	"utils/accuracy.IndexKNN":                       accuracy.IndexKNN,
	"utils/accuracy.KAll":                           accuracy.KAll,
	"utils/accuracy.KInt":                           accuracy.KInt,
	"utils/accuracy.KMaxBinCount":                   accuracy.KMaxBinCount,
	"utils/accuracy.NMI":                            accuracy.NMI,
	"utils/accuracy.NewCalculator":                  accuracy.NewCalculator,
	"utils/inference.Calibrate":                     inference.Calibrate,
	"utils/inference.LabelPairs":                    inference.LabelPairs,
	"utils/inference.NewMatchFinder":                inference.NewMatchFinder,
	"utils/inference.ReadIndex":                     inference.ReadIndex,
	"utils/inference.ReadIndexFile":                 inference.ReadIndexFile,
	"utils/inference.Rows":                          inference.Rows,
	"utils/inference.WriteIndex":                    inference.WriteIndex,
	"utils/inference.WriteIndexFile":                inference.WriteIndexFile,
	"utils/distributed.Communicators":               distributed.Communicators,
	"utils/distributed.Finalize":                    distributed.Finalize,
	"utils/distributed.MPI":                         distributed.MPI,
	"utils/distributed.NewLocalGroup":               distributed.NewLocalGroup,
	"utils/distributed.NewLossWrapper":              distributed.NewLossWrapper,
	"utils/distributed.NewMinerWrapper":             distributed.NewMinerWrapper,
	"utils/distributed.Rank":                        distributed.Rank,
	"utils/distributed.SearchSharded":               distributed.SearchSharded,
	"utils/distributed.Size":                        distributed.Size,
	"utils/knn.FaissKMeans":                         knn.FaissKMeans,
	"utils/knn.KMeans":                              knn.KMeans,
	"utils/knn.LoadFaiss":                           knn.LoadFaiss,
	"utils/knn.NewExact":                            knn.NewExact,
	"utils/knn.NewFaiss":                            knn.NewFaiss,
	"utils/knn.Recall":                              knn.Recall,
	"utils/knn.Search":                              knn.Search,
	"utils/tuples.AllPairs":                         tuples.AllPairs,
	"utils/tuples.AllTriplets":                      tuples.AllTriplets,
	"utils/tuples.Anchors":                          tuples.Anchors,
	"utils/tuples.CountAllTriplets":                 tuples.CountAllTriplets,
	"utils/tuples.CountSameLabel":                   tuples.CountSameLabel,
	"utils/tuples.EachAnchor":                       tuples.EachAnchor,
	"utils/tuples.Masks":                            tuples.Masks,
	"utils/tuples.PosPairsWithUniqueLabels":         tuples.PosPairsWithUniqueLabels,
	"utils/tuples.RandomTriplets":                   tuples.RandomTriplets,
	"utils/tuples.RemoveSelfComparisons":            tuples.RemoveSelfComparisons,
	"utils/tuples.SameLabel":                        tuples.SameLabel,
	"utils/tuples.ToPairs":                          tuples.ToPairs,
	"utils/tuples.ToTriplets":                       tuples.ToTriplets,
	"utils/tuples.Weights":                          tuples.Weights,
}

// TestSweepCompleteness: every exported, non-generic function of a public
// package is in sweepFuncs, so TestSweepNoPanic calls it.
func TestSweepCompleteness(t *testing.T) {
	var missing []string
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		switch base := d.Name(); {
		case dir != "." && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" || base == "internal" || base == "examples" || base == "cmd"):
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			return nil // no Go files
		}
		prefix := strings.TrimPrefix(filepath.ToSlash(dir), "./")
		if dir == "." {
			prefix = "gometric"
		}
		fset := token.NewFileSet()
		for _, name := range pkg.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Recv != nil || !fd.Name.IsExported() || fd.Type.TypeParams != nil {
					continue
				}
				if key := prefix + "." + fd.Name.Name; sweepFuncs[key] == nil {
					missing = append(missing, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("add to sweepFuncs (sweep_test.go): %v", missing)
	}
}

// sweepValues are the values an argument of type t takes in the sweep:
// its zero value, then for numbers negative, huge and non-finite ones,
// for slices one element, extreme labels or a NaN, for strings a device
// and a missing file.
func sweepValues(t reflect.Type) []reflect.Value {
	out := []reflect.Value{reflect.Zero(t)}
	set := func(f func(x reflect.Value)) {
		x := reflect.New(t).Elem()
		f(x)
		out = append(out, x)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		for _, v := range []int64{-1, 1, math.MaxInt32, 1 << 40, math.MaxInt64, math.MinInt64} {
			if !reflect.New(t).Elem().OverflowInt(v) {
				set(func(x reflect.Value) { x.SetInt(v) })
			}
		}
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		set(func(x reflect.Value) { x.SetUint(1 << 31) })
	case reflect.Float64, reflect.Float32:
		for _, v := range []float64{math.NaN(), math.Inf(1), -1, 1e300} {
			set(func(x reflect.Value) { x.SetFloat(v) })
		}
	case reflect.Slice:
		out = append(out, reflect.MakeSlice(t, 1, 1))
		switch t.Elem().Kind() {
		case reflect.Int:
			y := reflect.MakeSlice(t, 3, 3)
			y.Index(0).SetInt(math.MaxInt64)
			y.Index(1).SetInt(-1)
			y.Index(2).SetInt(1e18)
			out = append(out, y)
		case reflect.Float32, reflect.Float64:
			y := reflect.MakeSlice(t, 2, 2)
			y.Index(1).SetFloat(math.NaN())
			out = append(out, y)
		}
	case reflect.String:
		for _, s := range []string{"/dev/zero", "no-such-file", "x"} {
			out = append(out, reflect.ValueOf(s).Convert(t))
		}
	case reflect.Struct:
		if t == reflect.TypeOf(gometric.Matrix{}) {
			out = append(out,
				reflect.ValueOf(gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1}}),
				reflect.ValueOf(gometric.Matrix{Rows: 1 << 40, Cols: 1 << 30}),
				reflect.ValueOf(gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{float32(math.NaN()), 1}}))
		}
	}
	return out
}

// TestSweepNoPanic calls every exported function of the public packages
// with zero arguments and then with each argument in turn set to a bad or
// extreme value (sweepValues): none may panic or run away (10 s), and a
// constructor's result has each of its methods swept the same way. The
// classes of issue 12 (panics on user input, allocation sized by a
// setting) are what this catches; each package's tables test the values.
func TestSweepNoPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	names := make([]string, 0, len(sweepFuncs))
	for n := range sweepFuncs {
		names = append(names, n)
	}
	slices.Sort(names)
	seen := map[reflect.Type]bool{}
	for _, n := range names {
		results := sweepCall(t, n, reflect.ValueOf(sweepFuncs[n]))
		if !strings.HasPrefix(n[strings.LastIndex(n, ".")+1:], "New") {
			continue
		}
		for _, outs := range results {
			for _, o := range outs {
				if o.Kind() == reflect.Interface && !o.IsNil() {
					o = o.Elem()
				}
				if o.Kind() != reflect.Pointer || o.IsNil() || seen[o.Type()] {
					continue
				}
				seen[o.Type()] = true
				for m := 0; m < o.NumMethod(); m++ {
					sweepCall(t, fmt.Sprintf("%s: %v.%s", n, o.Type(), o.Type().Method(m).Name), o.Method(m))
				}
			}
		}
	}
}

// sweepCall calls f with the sweep's argument lists, failing on a panic
// or a call that takes more than 10 s, and returns the results of the
// calls that returned.
func sweepCall(t *testing.T, name string, f reflect.Value) [][]reflect.Value {
	t.Helper()
	ft := f.Type()
	if ft.IsVariadic() {
		return nil
	}
	base := make([]reflect.Value, ft.NumIn())
	for i := range base {
		base[i] = reflect.Zero(ft.In(i))
	}
	calls := [][]reflect.Value{base}
	for i := range base {
		for _, v := range sweepValues(ft.In(i))[1:] {
			args := slices.Clone(base)
			args[i] = v
			calls = append(calls, args)
		}
	}
	var results [][]reflect.Value
	for _, args := range calls {
		type result struct {
			outs  []reflect.Value
			panic any
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- result{panic: r}
				}
			}()
			done <- result{outs: f.Call(args)}
		}()
		select {
		case r := <-done:
			if r.panic != nil {
				t.Errorf("%s(%s): panic: %v", name, describe(args), r.panic)
				continue
			}
			results = append(results, r.outs)
		case <-time.After(sweepHang):
			t.Fatalf("%s(%s): still running after %v", name, describe(args), sweepHang)
		}
	}
	return results
}

// sweepHang is how long a call may run before the sweep calls it hung: a
// call that loads a real data set (LoadFashionMNIST with its default
// directory) takes seconds under -race on a busy machine, a hang forever.
const sweepHang = 60 * time.Second

func describe(args []reflect.Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("%.40v", a)
	}
	return strings.Join(parts, ", ")
}
