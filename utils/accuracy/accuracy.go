package accuracy

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
)

const component = "accuracy.Calculator"

// The names of the built-in metrics, as PML spells them (the keys of
// get_accuracy's result and the values Include and Exclude take).
//
// The kNN metrics are computed per query from its K nearest references
// (nearest first, the query's own match removed when the reference includes
// it), then averaged over the queries (see Value and Calculator.AvgOfAvgs).
// Below, for a query q with label l: n_j is q's j-th neighbour (j = 1…K),
// rel_j is 1 when Compare(l, label of n_j) (label equality by default),
// R is the number of references matching l (PML's label_counts, less one
// when the reference includes the query: the query itself), and
// P@j = (rel_1 + … + rel_j) / j. The rules common to all five, as in PML
// 2.8.1:
//
//   - Lone queries — whose label has no match in the reference other than
//     the query itself (R = 0) — are left out of every kNN metric and of
//     its average; they still count for NMI and AMI. When every query is
//     lone the metric is NaN (NaN per class with ReturnPerClass), and its
//     Value.Warnings say so (PML logs "None of the query labels are in the
//     reference set.").
//   - When the reference includes the query (SelfAccuracy, or Accuracy
//     with refIncludesQuery), the search asks for K+1 neighbours and drops
//     the query's own index wherever it appears, or the farthest neighbour
//     when it does not appear (a duplicate tied with it came first); R
//     excludes the query.
//   - K below R truncates the ranking: r_precision and
//     mean_average_precision_at_r are then not what their names say.
//     With an integer K below the largest match count, PML logs a warning
//     and so do these Values (see Calculator.K).
//   - Neighbours at exactly equal distances are ordered by the search
//     (ExactKNN: smaller reference index first); a different order of
//     ties, as FAISS can give, can change every kNN metric.
//   - Averages are plain means over the kept queries; with AvgOfAvgs the
//     mean per query label first, then the mean of those (each label
//     counts once, whatever its size); with ReturnPerClass the per-label
//     means (Value.PerClass, labels ascending).
const (
	// NamePrecisionAt1 is precision_at_1: rel_1, the share of queries whose
	// nearest neighbour matches. Unaffected by K below R.
	NamePrecisionAt1 = "precision_at_1"
	// NameRPrecision is r_precision: (rel_1 + … + rel_m) / m with
	// m = min(R, K), the share of matches among the first R neighbours.
	// With K < R it is precision at K (m = K), not R-precision. With a
	// custom Compare that is false for equal labels R can be 0 for a kept
	// query, which gives 0/0 = NaN, as in PML (Value.Warnings say so).
	NameRPrecision = "r_precision"
	// NameMeanAveragePrecisionAtR is mean_average_precision_at_r (MAP@R,
	// Musgrave et al. 2020): (1/R) Σ_{j ≤ min(R, K)} rel_j·P@j. With
	// K < R the sum stops at K but still divides by R, so the value is
	// too low. R = 0 for a kept query (custom Compare) gives NaN.
	NameMeanAveragePrecisionAtR = "mean_average_precision_at_r"
	// NameMeanAveragePrecision is mean_average_precision:
	// (1/R) Σ_{j ≤ K} rel_j·P@j, the sum over all K neighbours divided by
	// R (not by the number of matches found). With K = KAll this is the
	// usual average precision; with a smaller K it is PML's truncated
	// form, which also divides by R. R = 0 for a kept query (custom
	// Compare) gives NaN or +Inf.
	NameMeanAveragePrecision = "mean_average_precision"
	// NameMeanReciprocalRank is mean_reciprocal_rank: 1/j for the first
	// j ≤ K with rel_j = 1, or 0 when none of the K neighbours matches.
	// Computed in float64 (PML: float32) and, unlike PML 2.8.1, treated as
	// a kNN metric (see the package doc).
	NameMeanReciprocalRank = "mean_reciprocal_rank"
	// NameNMI is NMI: the normalised mutual information of the query
	// labels and a k-means clustering of the query embeddings into as many
	// clusters as there are distinct query labels,
	// I(labels; clusters) / ((H(labels) + H(clusters)) / 2) in nats
	// (scikit-learn's normalized_mutual_info_score, average_method
	// "arithmetic"). It uses the queries only: the reference, K, lone
	// queries, AvgOfAvgs and ReturnPerClass do not apply. 1 when labels
	// and clusters each have a single value; 0 when their mutual
	// information is 0. It depends on the k-means (see DefaultKMeans).
	NameNMI = "NMI"
	// NameAMI is AMI: the adjusted mutual information
	// (I − E[I]) / ((H(labels) + H(clusters)) / 2 − E[I]), with E[I] the
	// expected mutual information of random labelings with the same
	// cluster sizes (scikit-learn's adjusted_mutual_info_score, average
	// "arithmetic"; a denominator of magnitude below float64's eps is
	// clamped to ±eps as scikit-learn does). The same inputs and special
	// cases as NMI.
	NameAMI = "AMI"
)

// kMode says how a K resolves.
type kMode uint8

const (
	kAll kMode = iota
	kInt
	kMaxBinCount
)

// K is the number of neighbours the kNN metrics use: PML's k argument of
// AccuracyCalculator (an int, None or "max_bin_count"). The zero value is
// KAll, PML's default. A K is a plain value, safe for concurrent use.
type K struct {
	mode kMode
	n    int
}

// KInt is a fixed number of neighbours, PML's k=n. n must be at least 1,
// and at most the number of references (one less when the reference
// includes the query); Calculator reports it otherwise.
func KInt(n int) K { return K{mode: kInt, n: n} }

// KAll uses every reference (all but the query itself when the reference
// includes the query), PML's k=None.
func KAll() K { return K{mode: kAll} }

// KMaxBinCount uses the largest number of references that share a query
// label (less the query itself when the reference includes the query),
// PML's k="max_bin_count": the smallest k for which r_precision and
// mean_average_precision_at_r are exact.
func KMaxBinCount() K { return K{mode: kMaxBinCount} }

// String returns the K as PML writes it: the number, "None" or
// "max_bin_count".
func (k K) String() string {
	switch k.mode {
	case kInt:
		return fmt.Sprint(k.n)
	case kMaxBinCount:
		return "max_bin_count"
	}
	return "None"
}

// KNNFunc finds the k nearest references of every query, nearest first: it
// plays the role of PML's knn_func. A Calculator used from several
// goroutines calls it concurrently. The Calculator asks for one more
// neighbour when the reference includes the query and removes the self
// match itself, so a KNNFunc never needs to know about it. The returned
// Result must have K = k, Q·k indices in [0, reference.Rows) and either no
// distances or Q·k of them.
type KNNFunc func(query, reference gometric.Matrix, k int) (knn.Result, error)

// KMeansFunc clusters the rows of x into k clusters and returns the
// cluster of every row: it plays the role of PML's kmeans_func. A
// Calculator used from several goroutines calls it concurrently.
type KMeansFunc func(x gometric.Matrix, k int) ([]int, error)

// Value is the result of one metric. It is plain data, safe for
// concurrent reads.
type Value struct {
	// Scalar is the metric. For a metric returned per class it is the mean
	// of PerClass (what AvgOfAvgs would give); NaN when the metric is
	// undefined (e.g. every query is lone, as PML returns NaN), and then
	// Warnings say why.
	Scalar float64
	// Classes and PerClass are set when the metric was returned per class
	// (Calculator.ReturnPerClass, PML's return_per_class): PerClass[i] is
	// the metric over the queries labelled Classes[i], in ascending label
	// order.
	Classes  []int
	PerClass []float64
	// Warnings are what PML would log about this metric, and the reason
	// for any non-finite value, one sentence each (without the metric's
	// name; Results.Warnings adds it). The Calculator adds:
	//   - for r_precision and mean_average_precision_at_r, PML's warning
	//     that an integer k is below the max bin count (see Calculator.K);
	//   - for kNN metrics when every query is lone, PML's "none of the
	//     query labels are in the reference set";
	//   - for built-in kNN metrics, the number of queries with R = 0
	//     (possible only with a custom Compare) whose value divides by 0;
	//   - for any metric whose Scalar or PerClass holds a NaN or ±Inf that
	//     no other warning explains, a warning saying so.
	// A user Metric may return its own warnings here. Empty when there is
	// nothing to report, so a NaN never appears without a reason.
	Warnings []string
}

// Results maps metric names to their values, PML's get_accuracy result. It
// is plain data, safe for concurrent reads.
type Results map[string]Value

// Warnings returns the warnings of every metric of r, each prefixed by
// its metric's name ("r_precision: k (2) is less than ..."), metrics in
// name order: everything PML would log during get_accuracy, and why any
// value is NaN. It returns nil when there are none.
func (r Results) Warnings() []string {
	var out []string
	for _, n := range r.Names() {
		for _, w := range r[n].Warnings {
			out = append(out, n+": "+w)
		}
	}
	return out
}

// Names returns the metric names of r in sorted order (PML's dict order).
func (r Results) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Metric is a metric the Calculator can compute: the built-in ones and
// user-defined ones (PML's calculate_<name> methods of an AccuracyCalculator
// subclass, with requires_knn / requires_clustering). A Calculator used
// from several goroutines calls its metrics concurrently (with distinct
// Inputs); the built-in ones are safe for that.
type Metric interface {
	// Name is the metric's key in Results and its name in Include and
	// Exclude. A user metric with a built-in name replaces the built-in
	// one, as overriding calculate_<name> does in PML.
	Name() string
	// RequiresKNN reports that Compute reads the neighbour fields of
	// Inputs (PML's requires_knn).
	RequiresKNN() bool
	// RequiresClustering reports that Compute reads Inputs.ClusterLabels
	// (PML's requires_clustering).
	RequiresClustering() bool
	// Compute returns the metric.
	Compute(in *Inputs) (Value, error)
}

// CustomMetric is a Metric made of a function, for user-defined metrics.
// Its zero value has no name and no Func: a Calculator refuses it with an
// error wrapping gometric.ErrSetting, and Compute does too. It is as safe
// for concurrent use as its Func.
type CustomMetric struct {
	// MetricName is returned by Name.
	MetricName string
	// KNN and Clustering are returned by RequiresKNN and
	// RequiresClustering.
	KNN, Clustering bool
	// Func computes the metric.
	Func func(in *Inputs) (Value, error)
}

// Name returns m.MetricName.
func (m CustomMetric) Name() string { return m.MetricName }

// RequiresKNN returns m.KNN.
func (m CustomMetric) RequiresKNN() bool { return m.KNN }

// RequiresClustering returns m.Clustering.
func (m CustomMetric) RequiresClustering() bool { return m.Clustering }

// Compute calls m.Func.
func (m CustomMetric) Compute(in *Inputs) (Value, error) {
	if m.Func == nil {
		return Value{}, check.Settingf(component, "metric %q has no Func", m.MetricName)
	}
	return m.Func(in)
}

// Inputs is what a Metric computes from: PML's keyword arguments to the
// calculate_<name> methods. The Calculator makes one per call; metrics
// must not modify it, and may read it concurrently. A zero Inputs has no
// queries (a metric given one should return an error or NaN with a
// warning); a nil *Inputs is handled by Average.
type Inputs struct {
	// Query and Reference are the embeddings (empty in FromKNN).
	Query, Reference gometric.Matrix
	// QueryLabels and ReferenceLabels label their rows.
	QueryLabels, ReferenceLabels []int
	// RefIncludesQuery says that the first rows of the reference are the
	// queries.
	RefIncludesQuery bool
	// Compare is the label comparison (never nil: equality by default).
	Compare func(query, reference int) bool
	// AvgOfAvgs and ReturnPerClass are the Calculator's settings; Average
	// applies them.
	AvgOfAvgs, ReturnPerClass bool

	// The fields below are set when a metric requires kNN.

	// KNN holds the K nearest references of every query, the self match
	// removed (PML's knn_indices and knn_distances).
	KNN knn.Result
	// KNNLabels[q*K+j] is the label of query q's j-th neighbour.
	KNNLabels []int
	// UniqueLabels are the distinct query labels in ascending order and
	// MatchCounts[i] the number of references that match UniqueLabels[i]
	// (PML's label_counts).
	UniqueLabels []int
	MatchCounts  []int
	// LoneLabels are the query labels without another match in the
	// reference and NotLone[q] is false for the queries that carry one
	// (PML's lone_query_labels and not_lone_query_mask).
	LoneLabels []int
	NotLone    []bool

	// ClusterLabels is the k-means cluster of every query, set when a
	// metric requires clustering.
	ClusterLabels []int

	kWarn, kBins int // K and the max bin count to warn about (kWarn < kBins)

	custom   bool   // Compare was supplied by the user
	labelIdx []int  // query → index into UniqueLabels
	rel      []int  // query → number of relevant references (PML's max_column)
	same     []bool // same[q*K+j] = Compare(query label, neighbour label)
	kept     []int  // the not-lone queries, in order
}

// Average turns per-sample values into a metric value with the Calculator's
// averaging settings, PML's maybe_get_avg_of_avgs: the plain mean; with
// AvgOfAvgs the mean of the per-label means; with ReturnPerClass the
// per-label means. labels[i] is the label of perSample[i].
// The mean of no values, or a nil in, is NaN with a warning.
func (in *Inputs) Average(perSample []float64, labels []int) Value {
	if in == nil {
		return Value{Scalar: math.NaN(), Warnings: []string{"Average called on a nil *Inputs"}}
	}
	if len(labels) != len(perSample) {
		return Value{Scalar: math.NaN(), Warnings: []string{fmt.Sprintf("Average got %d labels for %d values", len(labels), len(perSample))}}
	}
	v := average(perSample, labels, in.AvgOfAvgs, in.ReturnPerClass)
	if len(perSample) == 0 {
		v.Warnings = append(v.Warnings, "no values to average (the mean of nothing is NaN, as torch.mean)")
	}
	return v
}

func average(perSample []float64, labels []int, avgOfAvgs, perClass bool) Value {
	if !avgOfAvgs && !perClass {
		return Value{Scalar: mean(perSample)}
	}
	classes := sortedUnique(labels)
	sums := make([]float64, len(classes))
	counts := make([]float64, len(classes))
	for i, v := range perSample {
		c, _ := slices.BinarySearch(classes, labels[i])
		sums[c] += v
		counts[c]++
	}
	for c := range sums {
		sums[c] /= counts[c]
	}
	v := Value{Scalar: mean(sums)}
	if perClass {
		v.Classes, v.PerClass = classes, sums
	}
	return v
}

// mean is the arithmetic mean; NaN for no values, as torch.mean.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// allLoneWarning is PML's warning when every query is lone.
const allLoneWarning = "none of the query labels are in the reference set (every query is lone), so the kNN metrics are NaN, as in PML"

// nanValue is PML's nan_accuracy: the value of a kNN metric when every
// query is lone.
func (in *Inputs) nanValue() Value {
	v := Value{Scalar: math.NaN(), Warnings: []string{allLoneWarning}}
	if in.ReturnPerClass {
		v.Classes = slices.Clone(in.UniqueLabels)
		v.PerClass = make([]float64, len(in.UniqueLabels))
		for i := range v.PerClass {
			v.PerClass[i] = math.NaN()
		}
	}
	return v
}

// Calculator computes PML's accuracy metrics: AccuracyCalculator. Its
// fields are its settings; they are checked when it computes. The zero
// value is PML's defaults and equals NewCalculator(): every field's zero
// value is PML's default (documented per field). A nil *Calculator returns
// an error wrapping gometric.ErrSetting.
//
// A Calculator is safe for concurrent use as long as its fields are not
// modified meanwhile (and its KNN, KMeans and Metrics are safe for
// concurrent use: the defaults are).
type Calculator struct {
	// K is the number of neighbours of the kNN metrics (PML's k). The
	// zero K is KAll, PML's default None.
	//
	// With an integer K below the max bin count — the largest number of
	// references that match a query label, the query itself included, as
	// PML counts it — PML logs a warning when r_precision or
	// mean_average_precision_at_r is computed, because they are then
	// truncated; here each of the two Values carries that warning (see
	// Value.Warnings). As in PML the condition is K < max bin count, so
	// with a reference that includes the query, K = max bin count − 1 is
	// exact but still warned about. KMaxBinCount never warns.
	K K
	// Include, when not empty, restricts the metrics to these names;
	// Exclude removes names (PML's include and exclude). Unknown names are
	// an error.
	Include, Exclude []string
	// AvgOfAvgs averages the kNN metrics per query label first, then over
	// the labels (PML's avg_of_avgs; default false).
	AvgOfAvgs bool
	// ReturnPerClass returns the kNN metrics per label (PML's
	// return_per_class; default false). It excludes AvgOfAvgs.
	ReturnPerClass bool
	// Compare reports whether a reference label matches a query label
	// (PML's label_comparison_fn); nil means equality. With a custom
	// Compare, as in PML, the number of relevant references R of a query
	// labelled l is the number of references r with Compare(l, r) (less
	// one when the reference includes the query), a label is lone when no
	// reference other than itself matches it, and NMI and AMI are
	// unsupported.
	Compare func(query, reference int) bool
	// Metrics are user-defined metrics, computed alongside the built-in
	// ones and selected by Include / Exclude like them.
	Metrics []Metric
	// KNN finds neighbours (PML's knn_func); nil means ExactKNN.
	KNN KNNFunc
	// KMeans clusters the queries for NMI and AMI (PML's kmeans_func); nil
	// means DefaultKMeans.
	KMeans KMeansFunc
}

// NewCalculator returns a Calculator with PML 2.8.1's defaults: all seven
// metrics, k = None (every reference), plain averages, label equality,
// exact L2 kNN and the default k-means.
func NewCalculator() *Calculator { return &Calculator{} }

// builtins returns the built-in metrics in PML's order (sorted by name).
func builtins() []Metric {
	return []Metric{
		clusterMetric{NameAMI, AMI},
		clusterMetric{NameNMI, NMI},
		knnMetric{NameMeanAveragePrecision, mapRow},
		knnMetric{NameMeanAveragePrecisionAtR, mapAtRRow},
		knnMetric{NameMeanReciprocalRank, mrrRow},
		knnMetric{NamePrecisionAt1, precisionAt1Row},
		knnMetric{NameRPrecision, rPrecisionRow},
	}
}

// plan is the work one call does.
type plan struct {
	metrics      []Metric
	needKNN      bool
	needClusters bool
}

// available returns every metric the calculator knows (built-in ones,
// replaced or joined by c.Metrics), sorted by name.
func (c *Calculator) available() ([]Metric, error) {
	all := builtins()
	seen := map[string]bool{}
	for i, m := range c.Metrics {
		if m == nil {
			return nil, check.Settingf(component, "Metrics[%d] is nil", i)
		}
		name := m.Name()
		if name == "" {
			return nil, check.Settingf(component, "Metrics[%d] has an empty name", i)
		}
		if seen[name] {
			return nil, check.Settingf(component, "two user metrics are named %q", name)
		}
		seen[name] = true
		j := slices.IndexFunc(all, func(b Metric) bool { return b.Name() == name })
		if j >= 0 {
			all[j] = m
		} else {
			all = append(all, m)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all, nil
}

// plan checks the settings and selects the metrics.
func (c *Calculator) plan() (plan, error) {
	var p plan
	if c == nil {
		return p, check.Settingf(component, "nil receiver")
	}
	if c.AvgOfAvgs && c.ReturnPerClass {
		return p, check.Settingf(component, "AvgOfAvgs and ReturnPerClass are mutually exclusive")
	}
	switch c.K.mode {
	case kAll, kMaxBinCount:
	case kInt:
		if c.K.n < 1 {
			return p, check.Settingf(component, "k = %d, want an integer of at least 1, KAll or KMaxBinCount", c.K.n)
		}
	default:
		return p, check.Settingf(component, "unknown k mode %d", c.K.mode)
	}
	all, err := c.available()
	if err != nil {
		return p, err
	}
	names := make([]string, len(all))
	for i, m := range all {
		names[i] = m.Name()
	}
	for _, list := range []struct {
		what  string
		names []string
	}{{"Include", c.Include}, {"Exclude", c.Exclude}} {
		for _, n := range list.names {
			if !slices.Contains(names, n) {
				return p, check.Settingf(component, "%s has unknown metric %q; metrics are %s", list.what, n, strings.Join(names, ", "))
			}
		}
	}
	for _, m := range all {
		if len(c.Include) > 0 && !slices.Contains(c.Include, m.Name()) {
			continue
		}
		if slices.Contains(c.Exclude, m.Name()) {
			continue
		}
		p.metrics = append(p.metrics, m)
		p.needKNN = p.needKNN || m.RequiresKNN()
		p.needClusters = p.needClusters || m.RequiresClustering()
	}
	if c.Compare != nil && p.needClusters {
		return p, fmt.Errorf("%s: clustering metrics with a custom label comparison (exclude %s and %s, or set Compare to nil): %w",
			component, NameNMI, NameAMI, gometric.ErrUnsupported)
	}
	return p, nil
}

// MetricNames returns the names of the metrics the calculator computes with
// its current settings, sorted (PML's get_curr_metrics). A nil receiver or
// invalid settings return an error wrapping gometric.ErrSetting.
func (c *Calculator) MetricNames() ([]string, error) {
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(p.metrics))
	for i, m := range p.metrics {
		names[i] = m.Name()
	}
	return names, nil
}

// SelfAccuracy computes the metrics with the queries as their own
// reference: PML's get_accuracy(query, query_labels) with no reference,
// which sets ref_includes_query.
func (c *Calculator) SelfAccuracy(query gometric.Matrix, labels []int) (Results, error) {
	return c.Accuracy(query, labels, query, labels, true)
}

// Accuracy computes the metrics of query against reference: PML's
// get_accuracy. When refIncludesQuery is true the first query.Rows rows of
// reference (and labels) must be the queries (equal within torch.allclose's
// tolerance), and every query's own match is removed from its neighbours.
//
// It fails, wrapping a gometric sentinel, on an empty or non-finite input,
// a dimension mismatch, a label count that does not match its embeddings,
// a reference that does not start with the queries when refIncludesQuery,
// a k below 1 or above the number of references, k = KMaxBinCount when
// every query is lone, and invalid settings.
func (c *Calculator) Accuracy(query gometric.Matrix, queryLabels []int, reference gometric.Matrix, referenceLabels []int, refIncludesQuery bool) (Results, error) {
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	if err := query.Validate(component, "query"); err != nil {
		return nil, err
	}
	same := sameMatrix(query, reference)
	if !same {
		if err := reference.Validate(component, "reference"); err != nil {
			return nil, err
		}
	}
	if query.Cols != reference.Cols {
		return nil, fmt.Errorf("%s: query has dimension %d but reference has %d: %w", component, query.Cols, reference.Cols, gometric.ErrShape)
	}
	if err := checkLabels(queryLabels, query.Rows, referenceLabels, reference.Rows); err != nil {
		return nil, err
	}
	if refIncludesQuery && !(same && sameLabels(queryLabels, referenceLabels)) {
		if err := checkRefIncludesQuery(query, queryLabels, reference, referenceLabels); err != nil {
			return nil, err
		}
	}
	in := c.inputs(queryLabels, referenceLabels, refIncludesQuery)
	in.Query, in.Reference = query, reference
	if p.needKNN {
		in.prepareLabels()
		k, err := c.resolveK(in, reference.Rows)
		if err != nil {
			return nil, err
		}
		res, err := c.search(query, reference, k, refIncludesQuery)
		if err != nil {
			return nil, err
		}
		in.KNN = res
		in.prepareNeighbours()
		// PML's determine_k warns for an integer k below the max bin
		// count, which counts the query itself.
		if c.K.mode == kInt {
			in.kWarn, in.kBins = k, slices.Max(in.MatchCounts)
		}
	}
	if p.needClusters {
		km := c.KMeans
		if km == nil {
			km = DefaultKMeans
		}
		clusters, err := km(query, len(sortedUnique(queryLabels)))
		if err != nil {
			return nil, fmt.Errorf("%s: k-means: %w", component, err)
		}
		if len(clusters) != query.Rows {
			return nil, fmt.Errorf("%s: k-means returned %d cluster labels for %d queries: %w", component, len(clusters), query.Rows, gometric.ErrShape)
		}
		in.ClusterLabels = clusters
	}
	return compute(p, in)
}

// Precomputed is the input of FromKNN: labels with neighbours and cluster
// labels computed elsewhere (for instance recorded from PML). It is plain
// data, safe for concurrent reads; its zero value has no queries, which
// FromKNN refuses with an error wrapping gometric.ErrShape.
type Precomputed struct {
	// QueryLabels and ReferenceLabels label the queries and references.
	QueryLabels, ReferenceLabels []int
	// RefIncludesQuery says that the reference starts with the queries;
	// it changes the relevant counts and lone labels, as in Accuracy.
	RefIncludesQuery bool
	// KNN holds the neighbours of every query, nearest first, the self
	// match already removed (PML's knn_indices after return_results).
	// Needed when a kNN metric is computed; its K is used as is.
	KNN knn.Result
	// ClusterLabels is the cluster of every query, needed for NMI / AMI.
	ClusterLabels []int
}

// FromKNN computes the metrics from precomputed neighbours and clusters
// instead of searching and clustering: the metric half of PML's
// get_accuracy. The K setting is not used (p.KNN.K is), and Inputs.Query
// and Inputs.Reference are empty for user metrics. r_precision and
// mean_average_precision_at_r carry K's warning (see Calculator.K) when
// p.KNN.K is below the largest R, i.e. when they are truly truncated.
func (c *Calculator) FromKNN(p Precomputed) (Results, error) {
	pl, err := c.plan()
	if err != nil {
		return nil, err
	}
	nq, nr := len(p.QueryLabels), len(p.ReferenceLabels)
	if nq == 0 {
		return nil, fmt.Errorf("%s: no query labels: %w", component, gometric.ErrShape)
	}
	if nr == 0 {
		return nil, fmt.Errorf("%s: no reference labels: %w", component, gometric.ErrShape)
	}
	if p.RefIncludesQuery {
		if nr < nq {
			return nil, fmt.Errorf("%s: reference has %d labels, fewer than the %d queries it includes: %w", component, nr, nq, gometric.ErrShape)
		}
		if !slices.Equal(p.QueryLabels, p.ReferenceLabels[:nq]) {
			return nil, fmt.Errorf("%s: reference labels do not start with the query labels although RefIncludesQuery: %w", component, gometric.ErrLabels)
		}
	}
	in := c.inputs(p.QueryLabels, p.ReferenceLabels, p.RefIncludesQuery)
	if pl.needKNN {
		if err := checkResult(p.KNN, p.KNN.K, nq, nr, "precomputed neighbours"); err != nil {
			return nil, err
		}
		if p.KNN.K < 1 {
			return nil, fmt.Errorf("%s: precomputed neighbours have K = %d, want at least 1: %w", component, p.KNN.K, gometric.ErrShape)
		}
		in.prepareLabels()
		in.KNN = p.KNN
		in.prepareNeighbours()
		// PML sets no k here; warn when K truly truncates R.
		self := 0
		if p.RefIncludesQuery {
			self = 1
		}
		in.kWarn, in.kBins = p.KNN.K, slices.Max(in.MatchCounts)-self
	}
	if pl.needClusters {
		if len(p.ClusterLabels) != nq {
			return nil, fmt.Errorf("%s: %d cluster labels for %d queries: %w", component, len(p.ClusterLabels), nq, gometric.ErrLabels)
		}
		in.ClusterLabels = p.ClusterLabels
	}
	return compute(pl, in)
}

// inputs starts the Inputs of a call.
func (c *Calculator) inputs(ql, rl []int, refIncludesQuery bool) *Inputs {
	in := &Inputs{
		QueryLabels:      ql,
		ReferenceLabels:  rl,
		RefIncludesQuery: refIncludesQuery,
		Compare:          c.Compare,
		AvgOfAvgs:        c.AvgOfAvgs,
		ReturnPerClass:   c.ReturnPerClass,
		custom:           c.Compare != nil,
	}
	if in.Compare == nil {
		in.Compare = func(a, b int) bool { return a == b }
	}
	return in
}

// compute runs the planned metrics and adds the warnings.
func compute(p plan, in *Inputs) (Results, error) {
	out := make(Results, len(p.metrics))
	truncated := in.kWarn > 0 && in.kWarn < in.kBins
	for _, m := range p.metrics {
		name := m.Name()
		v, err := m.Compute(in)
		if err != nil {
			return nil, fmt.Errorf("%s: metric %q: %w", component, name, err)
		}
		v.Warnings = slices.Clip(v.Warnings) // appends below never write into the metric's slice
		if truncated && (name == NameRPrecision || name == NameMeanAveragePrecisionAtR) {
			w := fmt.Sprintf("k (%d) is less than the max bin count (%d) so the value of this metric will be incorrect (PML warns likewise); to fix this, set K to KMaxBinCount()", in.kWarn, in.kBins)
			if name == NameMeanAveragePrecisionAtR {
				w += fmt.Sprintf("; if you're looking for MAP@%d instead of MAP@R, use %s rather than %s", in.kWarn, NameMeanAveragePrecision, NameMeanAveragePrecisionAtR)
			}
			v.Warnings = append(v.Warnings, w)
		}
		if m.RequiresKNN() && in.NotLone != nil && len(in.kept) == 0 && !slices.Contains(v.Warnings, allLoneWarning) {
			v.Warnings = append(v.Warnings, allLoneWarning)
		}
		if len(v.Warnings) == 0 && !finiteValue(v) {
			v.Warnings = append(v.Warnings, "the value is not finite (NaN or ±Inf) and the metric gave no reason")
		}
		out[name] = v
	}
	return out, nil
}

// finiteValue reports whether v's Scalar and PerClass are all finite.
func finiteValue(v Value) bool {
	if math.IsNaN(v.Scalar) || math.IsInf(v.Scalar, 0) {
		return false
	}
	for _, x := range v.PerClass {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// checkLabels checks the label counts.
func checkLabels(ql []int, nq int, rl []int, nr int) error {
	if len(ql) != nq {
		return fmt.Errorf("%s: %d query labels for %d queries: %w", component, len(ql), nq, gometric.ErrLabels)
	}
	if len(rl) != nr {
		return fmt.Errorf("%s: %d reference labels for %d references: %w", component, len(rl), nr, gometric.ErrLabels)
	}
	return nil
}

// sameMatrix reports whether a and b are the same matrix in memory (as in
// SelfAccuracy), so that checks of b can be skipped.
func sameMatrix(a, b gometric.Matrix) bool {
	return a.Rows == b.Rows && a.Cols == b.Cols && len(a.Data) == len(b.Data) && len(a.Data) > 0 && &a.Data[0] == &b.Data[0]
}

// sameLabels reports whether a and b are the same slice in memory.
func sameLabels(a, b []int) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// checkRefIncludesQuery checks that the reference starts with the queries,
// with torch.allclose's default tolerance (rtol 1e-5, atol 1e-8) as PML.
func checkRefIncludesQuery(q gometric.Matrix, ql []int, r gometric.Matrix, rl []int) error {
	if r.Rows < q.Rows {
		return fmt.Errorf("%s: reference has %d rows, fewer than the %d queries it should include: %w", component, r.Rows, q.Rows, gometric.ErrShape)
	}
	for i, a := range q.Data {
		b := r.Data[i]
		if math.Abs(float64(a)-float64(b)) > 1e-8+1e-5*math.Abs(float64(b)) {
			return fmt.Errorf("%s: RefIncludesQuery but reference row %d differs from query row %d at column %d (%v vs %v): %w",
				component, i/q.Cols, i/q.Cols, i%q.Cols, b, a, gometric.ErrShape)
		}
	}
	for i, l := range ql {
		if rl[i] != l {
			return fmt.Errorf("%s: RefIncludesQuery but reference label %d is %d, query label is %d: %w", component, i, rl[i], l, gometric.ErrLabels)
		}
	}
	return nil
}

// prepareLabels computes the label statistics of the kNN metrics (PML's
// get_label_match_counts and get_lone_query_labels).
func (in *Inputs) prepareLabels() {
	ql, rl := in.QueryLabels, in.ReferenceLabels
	in.UniqueLabels = sortedUnique(ql)
	in.MatchCounts = make([]int, len(in.UniqueLabels))
	if in.custom {
		for i, u := range in.UniqueLabels {
			n := 0
			for _, r := range rl {
				if in.Compare(u, r) {
					n++
				}
			}
			in.MatchCounts[i] = n
		}
	} else {
		for _, r := range rl {
			if i, ok := slices.BinarySearch(in.UniqueLabels, r); ok {
				in.MatchCounts[i]++
			}
		}
	}
	self := 0
	if in.RefIncludesQuery {
		self = 1
	}
	lone := make([]bool, len(in.UniqueLabels))
	in.LoneLabels = nil
	for i, u := range in.UniqueLabels {
		if in.RefIncludesQuery {
			matchesItself := 0
			if in.Compare(u, u) {
				matchesItself = 1
			}
			lone[i] = in.MatchCounts[i]-matchesItself <= 0
		} else {
			lone[i] = in.MatchCounts[i] == 0
		}
		if lone[i] {
			in.LoneLabels = append(in.LoneLabels, u)
		}
	}
	in.labelIdx = make([]int, len(ql))
	in.NotLone = make([]bool, len(ql))
	in.rel = make([]int, len(ql))
	in.kept = in.kept[:0]
	for q, l := range ql {
		i, _ := slices.BinarySearch(in.UniqueLabels, l)
		in.labelIdx[q] = i
		in.NotLone[q] = !lone[i]
		in.rel[q] = in.MatchCounts[i] - self
		if !lone[i] {
			in.kept = append(in.kept, q)
		}
	}
}

// resolveK turns the K setting into a number of neighbours (PML's
// determine_k) and checks it against the reference.
func (c *Calculator) resolveK(in *Inputs, nr int) (int, error) {
	self := 0
	if in.RefIncludesQuery {
		self = 1
	}
	var k int
	switch c.K.mode {
	case kMaxBinCount:
		k = slices.Max(in.MatchCounts) - self
		if k < 1 {
			return 0, fmt.Errorf("%s: k = \"max_bin_count\" resolves to %d: no query label has a match in the reference other than the query itself (every query is lone): %w",
				component, k, gometric.ErrLabels)
		}
	case kAll:
		k = nr - self
		if k < 1 {
			return 0, fmt.Errorf("%s: k = None resolves to %d: the reference holds only the query itself: %w", component, k, gometric.ErrShape)
		}
	default:
		k = c.K.n
	}
	if k > nr-self { // not k+self > nr: k may be math.MaxInt
		if self == 1 {
			return 0, check.Settingf(component, "k = %d is larger than the reference: %d references, one of them the query itself", k, nr)
		}
		return 0, check.Settingf(component, "k = %d is larger than the reference (%d references)", k, nr)
	}
	return k, nil
}

// search runs the kNN function and removes self matches (PML's knn_func
// with return_results).
func (c *Calculator) search(query, reference gometric.Matrix, k int, refIncludesQuery bool) (knn.Result, error) {
	fn := c.KNN
	if fn == nil {
		fn = ExactKNN
	}
	kk := k
	if refIncludesQuery {
		kk++
	}
	res, err := fn(query, reference, kk)
	if err != nil {
		return knn.Result{}, fmt.Errorf("%s: kNN search: %w", component, err)
	}
	if err := checkResult(res, kk, query.Rows, reference.Rows, "kNN result"); err != nil {
		return knn.Result{}, err
	}
	if refIncludesQuery {
		res = removeSelf(res)
	}
	return res, nil
}

// checkResult checks a kNN result for nq queries over nr references.
func checkResult(res knn.Result, k, nq, nr int, what string) error {
	if res.K != k {
		return fmt.Errorf("%s: %s has K = %d, want %d: %w", component, what, res.K, k, gometric.ErrShape)
	}
	// k is compared by division first, so that nq·k cannot overflow.
	if k < 0 || (nq > 0 && k > len(res.Indices)/nq) || len(res.Indices) != nq*k {
		return fmt.Errorf("%s: %s has %d indices, want %d×%d: %w", component, what, len(res.Indices), nq, k, gometric.ErrShape)
	}
	if res.Distances != nil && len(res.Distances) != len(res.Indices) {
		return fmt.Errorf("%s: %s has %d distances, want %d×%d: %w", component, what, len(res.Distances), nq, k, gometric.ErrShape)
	}
	return check.Indices(component, what+" indices", res.Indices, nr)
}

// removeSelf drops every query's own index from its neighbours, or its
// farthest neighbour when the query is not among them (PML's
// return_results with ref_includes_query).
func removeSelf(res knn.Result) knn.Result {
	k := res.K
	nq := len(res.Indices) / k
	out := knn.Result{K: k - 1, Indices: make([]int, nq*(k-1))}
	if res.Distances != nil {
		out.Distances = make([]float32, nq*(k-1))
	}
	for q := range nq {
		row := res.Indices[q*k : (q+1)*k]
		drop := slices.Index(row, q)
		if drop < 0 {
			drop = k - 1
		}
		dst := out.Indices[q*(k-1) : (q+1)*(k-1)]
		copy(dst, row[:drop])
		copy(dst[drop:], row[drop+1:])
		if res.Distances != nil {
			drow := res.Distances[q*k : (q+1)*k]
			ddst := out.Distances[q*(k-1) : (q+1)*(k-1)]
			copy(ddst, drow[:drop])
			copy(ddst[drop:], drow[drop+1:])
		}
	}
	return out
}

// prepareNeighbours looks up the neighbours' labels and compares them with
// the query labels.
func (in *Inputs) prepareNeighbours() {
	k := in.KNN.K
	in.KNNLabels = make([]int, len(in.KNN.Indices))
	in.same = make([]bool, len(in.KNN.Indices))
	for q, l := range in.QueryLabels {
		for j := q * k; j < (q+1)*k; j++ {
			r := in.ReferenceLabels[in.KNN.Indices[j]]
			in.KNNLabels[j] = r
			if in.custom {
				in.same[j] = in.Compare(l, r)
			} else {
				in.same[j] = l == r
			}
		}
	}
}

// sortedUnique returns the distinct values of xs in ascending order.
func sortedUnique(xs []int) []int {
	u := slices.Clone(xs)
	slices.Sort(u)
	return slices.Compact(u)
}
