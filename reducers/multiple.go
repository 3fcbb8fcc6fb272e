package reducers

import (
	"fmt"

	"github.com/gometric/gometric/internal/check"
)

// Multiple mirrors PML's MultipleReducers: each sub-loss is reduced by the
// reducer registered under its name in Reducers, or by Default (nil means
// Mean, PML's default MeanReducer) when there is none. Reduce then sums the
// reduced sub-losses, as MultipleReducers.sub_loss_reduction does.
//
// A nil entry in Reducers is an error wrapping gometric.ErrSetting; errors
// of the chosen reducer are returned wrapped, prefixed with the sub-loss
// name.
//
// The zero value is PML's MultipleReducers({}): every sub-loss reduced by
// Mean. A Multiple is safe for concurrent use when its reducers are, while
// its fields and the map are not being changed.
type Multiple struct {
	// Reducers maps sub-loss names to their reducer. A nil map has none.
	Reducers map[string]Reducer
	// Default reduces the sub-losses not in Reducers. If Default is nil,
	// Mean (PML's default) is used.
	Default Reducer
}

// NewMultiple returns a Multiple reducer with PML's default Default, Mean
// (MultipleReducers(reducers)). The map is used, not copied.
func NewMultiple(reducers map[string]Reducer) *Multiple {
	return &Multiple{Reducers: reducers, Default: NewMean()}
}

// ReduceOne implements Reducer: it reduces l with the reducer chosen by
// l.Name.
func (m *Multiple) ReduceOne(l SubLoss, b Batch) (float64, []float64, error) {
	const component = "reducers.Multiple"
	if m == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	r, err := m.forName(component, l.Name)
	if err != nil {
		return 0, nil, err
	}
	v, g, err := r.ReduceOne(l, b)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: sub-loss %q: %w", component, l.Name, err)
	}
	return v, g, nil
}

// forName returns the reducer m applies to the sub-loss name.
func (m *Multiple) forName(component, name string) (Reducer, error) {
	r, ok := m.Reducers[name]
	if ok && r == nil {
		return nil, check.Settingf(component, "the reducer for sub-loss %q is nil", name)
	}
	if !ok {
		r = m.Default
		if r == nil {
			r = &Mean{}
		}
	}
	return r, nil
}
