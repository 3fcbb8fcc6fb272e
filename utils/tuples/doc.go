// Package tuples mirrors PML's utils/loss_and_miner_utils: the index tuples
// that miners produce and losses consume, and the helpers that build and
// convert them.
//
// A Tuples value is either *Pairs (PML's 4-tuple a1, p, a2, n) or *Triplets
// (PML's 3-tuple a, p, n); a nil Tuples means "all", as PML's
// indices_tuple=None does. Anchors index the query set (labels); positives
// and negatives index the reference set (refLabels).
//
// "Ref is query" is an explicit flag, never pointer identity: every
// function that PML calls with (labels, ref_labels) takes
// (labels, refLabels []int, refIsQuery bool). With refIsQuery true,
// refLabels must be nil or equal to labels element by element, and self
// comparisons (i, i) are excluded, as PML does when ref_labels is labels.
// With refIsQuery false, refLabels must be non-nil (use an empty, non-nil
// slice for an empty reference set) and nothing is excluded, even when the
// two label slices are equal.
//
// Orders follow PML exactly: pairs and triplets come out in the row-major
// order of torch.where / torch.nonzero over the N×M match mask (and the
// N×M×M triplet mask), so losses and miners built on this package visit
// them in PML's order. All triplets are streamed anchor by anchor
// (EachAnchor) and never held as an N×M×M mask; AllTriplets materialises
// the list only when the caller asks for it.
//
// Randomness (RandomTriplets, ToTriplets with a finite number of triplets
// per anchor) comes from a caller-supplied *math/rand/v2.Rand: the same
// seed gives the same triplets. A nil *rand.Rand means math/rand/v2's
// process-wide generator: fresh draws at every call, as PML's use of
// torch's global generator gives, and safe for concurrent use; a seeded
// one must not be used by several goroutines at once. The draws cannot
// reproduce torch's random stream; the sampling structure and
// distributions are PML's.
//
// The functions keep no state and are safe for concurrent use (with the
// rule above for a *rand.Rand); Pairs and Triplets are plain data, safe
// to read from several goroutines.
//
// Every function validates its input and returns an error wrapping one of
// gometric's sentinel errors (ErrLabels, ErrIndex, ErrShape, ErrSetting,
// ErrNonFinite, ErrUnsupported); none panics on user input. Labels are
// compared, never used as sizes or indices: any int is a label, math.MinInt
// and math.MaxInt included. No allocation follows a setting beyond what
// the input holds or a documented limit: pair lists and masks hold at most
// 2^32 entries (what the batch's N×M distance matrix holds), materialised
// triplet lists at most 2^28 triplets (EachAnchor streams any number),
// RandomTriplets draws at most max(N·M, 2^22) triplets, and Weights's n is
// at most 2^24; a larger request is an error naming it and the limit.
package tuples
