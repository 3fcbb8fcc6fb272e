// Package losses mirrors PML's losses: every loss computes PML's sub-losses
// (pairs, triplets or per-element values), reduces them with its reducer
// and returns the scalar with its gradient with respect to the embeddings
// (and the reference embeddings), so a training loop can back-propagate it
// into any encoder.
//
// A call takes a Batch — embeddings, labels, optional reference embeddings
// and labels, optional mined tuples — as PML's forward(embeddings, labels,
// indices_tuple, ref_emb, ref_labels) does. Each loss embeds Base: its
// distance, reducer and embedding regularizer, where nil means PML's
// default for that class. New<Name> returns the loss with PML 2.8.1's
// defaults.
//
// Go names drop the Loss suffix: PML's TripletMarginLoss is
// losses.TripletMargin.
package losses
