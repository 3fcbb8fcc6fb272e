package pmlcase

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// initRand is the generator the builders give the constructors of losses
// with parameters: a fixed seed (the one a nil generator used to mean), so
// that a case without "params" is reproducible. A nil generator would draw
// fresh weights at every build.
func initRand() *rand.Rand { return rand.New(rand.NewPCG(0x9e3779b97f4a7c15, 0x6a09e667f3bcc909)) }

// lossBuilders maps PML loss class names to builders. Each family of losses
// registers its builders from its own file (losses_*.go) in an init
// function.
var lossBuilders = map[string]func(a Args) (losses.Loss, error){}

// registerLoss adds the builder of a PML loss class.
func registerLoss(class string, build func(a Args) (losses.Loss, error)) {
	if _, dup := lossBuilders[class]; dup {
		panic("pmlcase: loss " + class + " registered twice")
	}
	lossBuilders[class] = build
}

// LossClasses lists the PML loss classes that have a builder.
func LossClasses() []string {
	out := make([]string, 0, len(lossBuilders))
	for k := range lossBuilders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Loss builds the gometric loss for a PML loss spec (nil spec: nil, nil).
// An unknown class or argument is an error.
func Loss(s *Spec) (losses.Loss, error) {
	if s == nil {
		return nil, nil
	}
	build, ok := lossBuilders[s.Class]
	if !ok {
		return nil, fmt.Errorf("pmlcase: loss class %q is not implemented", s.Class)
	}
	l, err := build(s.Args)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Class, err)
	}
	return l, nil
}

// baseArgNames are the keyword arguments every PML loss accepts.
var baseArgNames = []string{"distance", "reducer", "embedding_regularizer", "embedding_reg_weight", "collect_stats"}

// known checks a's keys against the base arguments and names.
func known(a Args, class string, names ...string) error {
	return a.Known(class, append(names, baseArgNames...)...)
}

// setBase fills b from the base arguments present in a.
func setBase(a Args, b *losses.Base) error {
	var err error
	if b.Distance, err = nestedDistanceOr(a, b); err != nil {
		return err
	}
	if a.Has("reducer") {
		if b.Reducer, err = nestedReducer(a); err != nil {
			return err
		}
	}
	if s, err := a.Spec("embedding_regularizer"); err != nil {
		return err
	} else if s != nil {
		if b.EmbeddingRegularizer, err = Regularizer(s); err != nil {
			return err
		}
	}
	if b.EmbeddingRegWeight, err = a.Float("embedding_reg_weight", b.EmbeddingRegWeight); err != nil {
		return err
	}
	return nil
}

func nestedDistanceOr(a Args, b *losses.Base) (d distanceT, err error) {
	if !a.Has("distance") {
		return b.Distance, nil
	}
	return nestedDistance(a)
}

// Batch builds the loss input of a case: embeddings, labels, ref_emb,
// ref_labels and indices_tuple (3 lists: triplets, 4: pairs).
func (c *Case) Batch() (losses.Batch, error) {
	var b losses.Batch
	var err error
	if b.Embeddings, err = c.Matrix("embeddings"); err != nil {
		return b, err
	}
	if b.Labels, err = c.Ints("labels"); err != nil {
		return b, err
	}
	if b.Ref, err = c.Matrix("ref_emb"); err != nil {
		return b, err
	}
	if b.RefLabels, err = c.Ints("ref_labels"); err != nil {
		return b, err
	}
	var it [][]int
	if _, err := c.Input("indices_tuple", &it); err != nil {
		return b, err
	}
	switch len(it) {
	case 0:
	case 3:
		b.Tuples = &tuples.Triplets{A: it[0], P: it[1], N: it[2]}
	case 4:
		b.Tuples = &tuples.Pairs{A1: it[0], P: it[1], A2: it[2], N: it[3]}
	default:
		return b, fmt.Errorf("%s: indices_tuple has %d lists, want 3 or 4", c.Name(), len(it))
	}
	return b, nil
}

// OptionalOutputMatrix is OutputMatrix that returns nil when the output is
// absent.
func (c *Case) OptionalOutputMatrix(name string) (*mat.Dense, error) {
	if _, ok := c.rawOutput(name); !ok {
		return nil, nil
	}
	return c.OutputMatrix(name)
}
