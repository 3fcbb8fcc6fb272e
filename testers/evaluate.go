package testers

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/accuracy"
)

// MultiLevel is datasets.MultiLevel, the data sets with labels at
// several hierarchy levels, under the name the testers used first.
// Whether an implementation may be used concurrently is for its own doc
// to say.
type MultiLevel = datasets.MultiLevel

// space says which PML tester computes the metrics.
type space int

const (
	globalSpace space = iota // GlobalEmbeddingSpaceTester
	sameParent               // WithSameParentLabelTester
	twoStream                // GlobalTwoStreamEmbeddingSpaceTester
)

// source is one split: a data set, or a two-stream pair of them.
type source struct {
	ds   datasets.Dataset
	pair *TwoStreamSplit
}

func asSources(splits map[string]datasets.Dataset) map[string]source {
	out := make(map[string]source, len(splits))
	for k, v := range splits {
		out[k] = source{ds: v}
	}
	return out
}

func (s source) missing() bool {
	if s.pair != nil {
		return check.Nil(s.pair.Anchors) || check.Nil(s.pair.Positives)
	}
	return check.Nil(s.ds)
}

// embedded is one split's embeddings, as the metrics see them, and its
// labels by level; ref holds a two-stream split's positives.
type embedded struct {
	m, ref gometric.Matrix
	levels [][]int
}

// levelResults are the metrics of one query split at one label level.
type levelResults struct {
	level int
	res   accuracy.Results
}

// outcome is what run computed: per query split, its results by level.
type outcome struct {
	splits map[string][]levelResults
	err    error
}

// run is PML's BaseTester.test for the three testers.
func (g *GlobalEmbeddingSpace) run(ctx context.Context, who string, enc Embedder, srcs map[string]source, evals []Eval, sp space, plain bool) outcome {
	fail := func(err error) outcome { return outcome{err: err} }
	enc, err := g.check(ctx, who, enc)
	if err != nil {
		return fail(err)
	}
	if plain && !g.AllLevels && len(g.LabelHierarchyLevel) > 1 {
		return fail(fmt.Errorf("%s: LabelHierarchyLevel lists %d levels: Test returns one level's metrics; use Evaluate for PML's per-level keys: %w", who, len(g.LabelHierarchyLevel), gometric.ErrSetting))
	}
	if len(srcs) == 0 {
		return fail(fmt.Errorf("%s: no split to evaluate: %w", who, gometric.ErrSetting))
	}
	names := make([]string, 0, len(srcs))
	for s := range srcs {
		names = append(names, s)
	}
	sort.Strings(names)
	if len(evals) == 0 {
		evals = ComparedToSelf(names...)
	}
	plan, need, err := planEvals(who, srcs, evals)
	if err != nil {
		return fail(err)
	}
	if sp == twoStream {
		for _, e := range plan {
			if len(e.References) != 1 || e.References[0] != e.Query {
				return fail(fmt.Errorf("%s: query split %q has references %q: PML's GlobalTwoStreamEmbeddingSpaceTester does not support different reference and query splits: %w", who, e.Query, e.References, gometric.ErrSetting))
			}
		}
	}
	emb := map[string]embedded{}
	for _, s := range names {
		if !need[s] {
			continue
		}
		e, err := g.embedSplit(ctx, who, enc, srcs[s], s)
		if err != nil {
			return fail(err)
		}
		emb[s] = e
	}
	if g.Visualize != nil {
		for _, s := range names {
			if !need[s] {
				continue
			}
			e := emb[s]
			levels, err := g.levelsToEvaluate(who, s, len(e.levels))
			if err != nil {
				return fail(err)
			}
			m, ls := e.m, e.levels
			if sp == twoStream { // PML visualises anchors and positives together
				m = gometric.Matrix{Rows: 2 * e.m.Rows, Cols: e.m.Cols, Data: append(slices.Clone(e.m.Data), e.ref.Data...)}
				ls = make([][]int, len(e.levels))
				for l, x := range e.levels {
					ls[l] = append(slices.Clone(x), x...)
				}
			}
			for _, l := range levels {
				if err := g.Visualize(s, l, m, ls[l]); err != nil {
					return fail(fmt.Errorf("%s: split %q: visualizer: %w", who, s, err))
				}
			}
		}
	}
	calc := g.Calculator
	if calc == nil {
		calc = accuracy.NewCalculator()
	}
	out := make(map[string][]levelResults, len(plan))
	for _, e := range plan {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		what := fmt.Sprintf("%s: split %q", who, e.Query)
		q := emb[e.Query]
		levels, err := g.levelsToEvaluate(who, e.Query, len(q.levels))
		if err != nil {
			return fail(err)
		}
		if sp == sameParent {
			levels = slices.DeleteFunc(levels, func(l int) bool { return l >= len(q.levels)-1 })
			if len(levels) == 0 {
				return fail(fmt.Errorf("%s: no label level to evaluate: split %q has %d levels and WithSameParentLabel needs a parent level above each evaluated one (PML: \"there are no valid label levels to evaluate\"): %w", who, e.Query, len(q.levels), gometric.ErrSetting))
			}
		}
		includes := e.References[0] == e.Query
		ref, refLevels := q.m, q.levels
		switch {
		case sp == twoStream:
			ref, includes = q.ref, false
		case len(e.References) > 1 || !includes:
			ref, refLevels = gometric.Matrix{Cols: q.m.Cols}, nil
			for _, r := range e.References {
				er := emb[r]
				ref.Data = append(ref.Data, er.m.Data...)
				ref.Rows += er.m.Rows
				if refLevels == nil {
					refLevels = make([][]int, len(er.levels))
				}
				if len(er.levels) < len(refLevels) {
					refLevels = refLevels[:len(er.levels)]
				}
				for l := range refLevels {
					refLevels[l] = append(refLevels[l], er.levels[l]...)
				}
			}
		}
		for _, l := range levels {
			top := l
			if sp == sameParent {
				top = l + 1
			}
			if top >= len(refLevels) {
				return fail(fmt.Errorf("%s: label level %d: the reference splits %q have %d levels: %w", what, top, e.References, len(refLevels), gometric.ErrLabels))
			}
			var res accuracy.Results
			if sp == sameParent {
				res, err = withSameParent(calc, q.m, q.levels[l], q.levels[l+1], ref, refLevels[l], refLevels[l+1], includes)
			} else {
				res, err = calc.Accuracy(q.m, q.levels[l], ref, refLevels[l], includes)
			}
			if err != nil {
				return fail(fmt.Errorf("%s: label level %d: %w", what, l, err))
			}
			out[e.Query] = append(out[e.Query], levelResults{l, res})
		}
	}
	if plain {
		for s, lrs := range out {
			if len(lrs) != 1 {
				return fail(fmt.Errorf("%s: split %q evaluated at %d label levels: Test returns one level's metrics; use Evaluate for PML's per-level keys: %w", who, s, len(lrs), gometric.ErrSetting))
			}
		}
	}
	if g.EndOfTesting != nil {
		if err := g.EndOfTesting(pmlResults(out)); err != nil {
			return fail(fmt.Errorf("%s: end of testing hook: %w", who, err))
		}
	}
	return outcome{splits: out}
}

// planEvals normalises the evals (the query first in its reference) and
// finds the splits to embed.
func planEvals(who string, srcs map[string]source, evals []Eval) ([]Eval, map[string]bool, error) {
	plan := make([]Eval, len(evals))
	need := map[string]bool{}
	seen := map[string]bool{}
	for i, e := range evals {
		if seen[e.Query] {
			return nil, nil, fmt.Errorf("%s: split %q is a query more than once: %w", who, e.Query, gometric.ErrSetting)
		}
		seen[e.Query] = true
		if len(e.References) == 0 {
			return nil, nil, fmt.Errorf("%s: query split %q has no reference split: %w", who, e.Query, gometric.ErrSetting)
		}
		refs := []string{}
		includes := false
		for _, r := range e.References {
			if r == e.Query {
				includes = true
				continue
			}
			if slices.Contains(refs, r) {
				return nil, nil, fmt.Errorf("%s: reference split %q listed twice for query %q: %w", who, r, e.Query, gometric.ErrSetting)
			}
			refs = append(refs, r)
		}
		if includes {
			refs = append([]string{e.Query}, refs...)
		}
		plan[i] = Eval{Query: e.Query, References: refs}
		for _, s := range append([]string{e.Query}, refs...) {
			if src, ok := srcs[s]; !ok || src.missing() {
				return nil, nil, fmt.Errorf("%s: unknown split %q: %w", who, s, gometric.ErrSetting)
			}
			need[s] = true
		}
	}
	return plan, need, nil
}

// levelsToEvaluate is PML's label_levels_to_evaluate for a split with n
// label levels.
func (g *GlobalEmbeddingSpace) levelsToEvaluate(who, split string, n int) ([]int, error) {
	if g.AllLevels {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	if len(g.LabelHierarchyLevel) == 0 {
		return []int{0}, nil
	}
	for _, l := range g.LabelHierarchyLevel {
		if l >= n {
			return nil, fmt.Errorf("%s: split %q: LabelHierarchyLevel %d, but its labels have %d levels: %w", who, split, l, n, gometric.ErrSetting)
		}
	}
	return slices.Clone(g.LabelHierarchyLevel), nil
}

// embedSplit embeds one split and reads its labels by level.
func (g *GlobalEmbeddingSpace) embedSplit(ctx context.Context, who string, enc Embedder, src source, split string) (embedded, error) {
	what := who
	if split != "" {
		what = fmt.Sprintf("%s: split %q", who, split)
	}
	ds := src.ds
	if src.pair != nil {
		ds = src.pair.Anchors
	}
	levels, err := labelLevels(what, ds)
	if err != nil {
		return embedded{}, err
	}
	var e embedded
	e.levels = levels
	if src.pair != nil {
		p := src.pair.Positives
		if p.Len() != ds.Len() {
			return embedded{}, fmt.Errorf("%s: %d anchors but %d positives: %w", what, ds.Len(), p.Len(), gometric.ErrShape)
		}
		if !slices.Equal(p.Labels(), levels[0]) {
			return embedded{}, fmt.Errorf("%s: the positives' labels differ from the anchors' (a pair has one label): %w", what, gometric.ErrLabels)
		}
		if e.ref, err = g.embed(ctx, enc, p, who, split+" positives"); err != nil {
			return embedded{}, err
		}
		if e.ref, err = g.postprocess(e.ref, who, split+" positives"); err != nil {
			return embedded{}, err
		}
	}
	if e.m, err = g.embed(ctx, enc, ds, who, split); err != nil {
		return embedded{}, err
	}
	if e.m, err = g.postprocess(e.m, who, split); err != nil {
		return embedded{}, err
	}
	if src.pair != nil && e.ref.Cols != e.m.Cols {
		return embedded{}, fmt.Errorf("%s: anchors embed to %d dimensions, positives to %d: %w", what, e.m.Cols, e.ref.Cols, gometric.ErrShape)
	}
	return e, nil
}

// labelLevels returns the labels of ds by level (level 0 alone unless ds
// is MultiLevel), copied.
func labelLevels(what string, ds datasets.Dataset) ([][]int, error) {
	n := ds.Len()
	if n < 1 {
		return nil, fmt.Errorf("%s: empty dataset: %w", what, gometric.ErrShape)
	}
	all := ds.Labels()
	if len(all) != n {
		return nil, fmt.Errorf("%s: %d samples but %d labels: %w", what, n, len(all), gometric.ErrLabels)
	}
	ml, ok := ds.(MultiLevel)
	if !ok {
		return [][]int{slices.Clone(all)}, nil
	}
	levels := ml.LabelLevels()
	if levels < 1 || levels > n+1 {
		return nil, fmt.Errorf("%s: LabelLevels() = %d, want 1 to %d: %w", what, levels, n+1, gometric.ErrLabels)
	}
	out := make([][]int, levels)
	for l := range out {
		x, err := ml.LabelsAt(l)
		if err != nil {
			return nil, fmt.Errorf("%s: level %d: %w", what, l, err)
		}
		if len(x) != n {
			return nil, fmt.Errorf("%s: %d samples but %d labels at level %d: %w", what, n, len(x), l, gometric.ErrLabels)
		}
		out[l] = slices.Clone(x)
	}
	if !slices.Equal(out[0], all) {
		return nil, fmt.Errorf("%s: LabelsAt(0) differs from Labels(): %w", what, gometric.ErrLabels)
	}
	return out, nil
}

// withSameParent is PML's WithSameParentLabelTester at one level: the
// metrics among the samples of each parent label (the query's parents in
// ascending order, torch.unique's), averaged (np.mean).
func withSameParent(calc *accuracy.Calculator, q gometric.Matrix, ql, qp []int, r gometric.Matrix, rl, rp []int, includes bool) (accuracy.Results, error) {
	parents := slices.Clone(qp)
	slices.Sort(parents)
	parents = slices.Compact(parents)
	var parts []accuracy.Results
	var tags []string
	for _, p := range parents {
		sq, sql := subset(q, ql, qp, p)
		sr, srl := subset(r, rl, rp, p)
		if sr.Rows == 0 {
			return nil, fmt.Errorf("parent label %d: no reference sample has it: %w", p, gometric.ErrLabels)
		}
		res, err := calc.Accuracy(sq, sql, sr, srl, includes)
		if err != nil {
			return nil, fmt.Errorf("parent label %d: %w", p, err)
		}
		parts = append(parts, res)
		tags = append(tags, fmt.Sprintf("parent label %d: ", p))
	}
	return meanResults(parts, tags), nil
}

// subset returns the rows of m (and their labels) whose parent is p.
func subset(m gometric.Matrix, labels, parent []int, p int) (gometric.Matrix, []int) {
	out := gometric.Matrix{Cols: m.Cols}
	var ls []int
	for i, x := range parent {
		if x == p {
			out.Data = append(out.Data, m.Row(i)...)
			out.Rows++
			ls = append(ls, labels[i])
		}
	}
	return out, ls
}

// meanResults averages each metric's Scalar over parts (np.mean: a NaN
// part gives NaN); the warnings are the parts', each prefixed by its tag.
// Per-class values are not averaged (their classes differ between parts).
func meanResults(parts []accuracy.Results, tags []string) accuracy.Results {
	out := accuracy.Results{}
	for _, n := range parts[0].Names() {
		var s float64
		var ws []string
		for i, p := range parts {
			v := p[n]
			s += v.Scalar
			for _, w := range v.Warnings {
				ws = append(ws, tags[i]+w)
			}
		}
		out[n] = accuracy.Value{Scalar: s / float64(len(parts)), Warnings: ws}
	}
	return out
}

// pmlResults gives results PML's keys: metric_levelL, and AVERAGE_metric
// over several levels (PML's calculate_average_accuracies).
func pmlResults(splits map[string][]levelResults) map[string]accuracy.Results {
	out := make(map[string]accuracy.Results, len(splits))
	for s, lrs := range splits {
		r := accuracy.Results{}
		parts := make([]accuracy.Results, len(lrs))
		tags := make([]string, len(lrs))
		for i, lr := range lrs {
			for n, v := range lr.res {
				r[fmt.Sprintf("%s_level%d", n, lr.level)] = v
			}
			parts[i], tags[i] = lr.res, fmt.Sprintf("level %d: ", lr.level)
		}
		if len(lrs) > 1 {
			for n, v := range meanResults(parts, tags) {
				r["AVERAGE_"+n] = v
			}
		}
		out[s] = r
	}
	return out
}

// pmlKeys returns run's results with PML's keys.
func pmlKeys(o outcome) (map[string]accuracy.Results, error) {
	if o.err != nil {
		return nil, o.err
	}
	return pmlResults(o.splits), nil
}

// plainKeys returns run's results keyed by the metric names (run made
// sure there is one level per split).
func plainKeys(o outcome) (map[string]accuracy.Results, error) {
	if o.err != nil {
		return nil, o.err
	}
	out := make(map[string]accuracy.Results, len(o.splits))
	for s, lrs := range o.splits {
		out[s] = lrs[0].res
	}
	return out, nil
}
