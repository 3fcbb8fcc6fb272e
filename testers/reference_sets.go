package testers

// ComparedToSelf returns the Evals of PML's reference_set="compared_to_self"
// (PML ≤ 0.9.x; splits_to_eval=None in PML 2.8.1, Test's default): each
// split queried against itself, the reference including the query.
func ComparedToSelf(splits ...string) []Eval {
	out := make([]Eval, len(splits))
	for i, s := range splits {
		out[i] = Eval{Query: s, References: []string{s}}
	}
	return out
}

// ComparedToSetsCombined returns the Evals of PML's
// reference_set="compared_to_sets_combined": each split queried against
// the union of all the splits given (itself first, so the reference
// includes the query, as PML 2.8.1's splits_to_eval has it).
func ComparedToSetsCombined(splits ...string) []Eval {
	out := make([]Eval, len(splits))
	for i, s := range splits {
		out[i] = Eval{Query: s, References: append([]string(nil), splits...)}
	}
	return out
}

// ComparedToTrainingSet returns the Evals of PML's
// reference_set="compared_to_training_set": each split queried against the
// training split train (PML's "train"). The training split, if among
// splits, is queried against itself with the reference including the
// query (PML 2.8.1's splits_to_eval semantics; PML 0.9.x did not remove
// the query from its own neighbours there). A train that names no split
// is refused by Test.
func ComparedToTrainingSet(train string, splits ...string) []Eval {
	out := make([]Eval, len(splits))
	for i, s := range splits {
		out[i] = Eval{Query: s, References: []string{train}}
	}
	return out
}
