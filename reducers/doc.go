// Package reducers mirrors PML's reducers (pytorch_metric_learning.reducers):
// the step that turns a loss's unreduced values into the scalar that is
// back-propagated.
//
// A loss describes its unreduced values as SubLoss records (PML's loss
// dictionary entries: values, the batch indices they belong to and a
// reduction Kind). A Reducer turns one record into a scalar and returns
// d(scalar)/d(values), so a loss can chain the gradient back to its
// embeddings; Reduce sums the reduced records as PML's losses do.
//
// The reducers are Mean (MeanReducer), Sum (SumReducer), AvgNonZero
// (AvgNonZeroReducer), Threshold (ThresholdReducer), Divisor
// (DivisorReducer), ClassWeighted (ClassWeightedReducer), PerAnchor
// (PerAnchorReducer), Multiple (MultipleReducers) and DoNothing
// (DoNothingReducer, which has no scalar: see Passthrough).
//
// Common rules, from PML's BaseReducer.reduce_the_loss:
//   - Nil or empty Values are PML's literal zero loss: every reducer
//     returns 0 and an empty gradient.
//   - An AlreadyReduced record must hold exactly one value; it is returned
//     as is with gradient 1 by every reducer (Divisor ignores its divisor,
//     ClassWeighted needs no labels, PerAnchor does not call its inner
//     reducer).
//   - Indices are checked as PML's assert_sizes_* do: Element takes one
//     index slice, PosPair and NegPair two, Triplet three, each as long as
//     Values; a mismatch is an error wrapping gometric.ErrShape. Reducers
//     that never read indices (Mean, Sum, AvgNonZero, Threshold, Divisor,
//     and PerAnchor for Element records) also accept nil Indices, which PML
//     would reject, so Go code may omit them; given indices are still
//     checked. ClassWeighted, and PerAnchor for pair records, need them and
//     check that they lie in [0, Batch.N) (gometric.ErrIndex).
//   - NaN or ±Inf in Values is an error wrapping gometric.ErrNonFinite, and
//     so is a reduced value or gradient that overflows.
//
// # Streams
//
// A loss whose sub-loss is too large to hold (all triplets of a large
// batch) describes it as a Stream and reduces it through the reducer's
// plan (PlanStream, StreamPlanner): the banded plans of Mean, Sum,
// AvgNonZero, Threshold and Divisor let the loss compute the reduction in
// the loop that produces the values. A Reducer of your own needs only
// ReduceOne: the loss then materialises the sub-loss, with the same
// numbers. A type that embeds one of this package's reducers and
// overrides ReduceOne takes that generic path too (see StreamPlanner).
//
// # Zero values, nil receivers and concurrency
//
// The zero values of Mean, Sum, AvgNonZero, Divisor, DoNothing, PerAnchor
// and Multiple are PML's defaults; the zero Threshold and ClassWeighted
// are refused with an error that names their constructor. Every method of
// a nil reducer returns an error wrapping gometric.ErrSetting. The
// reducers are safe for concurrent use while their fields are not being
// changed.
//
// Every error starts with the component's name ("reducers.Threshold: ...")
// and wraps one of gometric's sentinel errors. Settings are exported fields
// validated at call time.
package reducers
