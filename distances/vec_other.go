//go:build !amd64 || purego

package distances

// The portable build has no vector loops: every caller takes its scalar
// loop from the first entry.

func guardRowVec(row, nb []float64, na float64, root bool) (done, near int, finite bool) {
	return 0, 0, true
}

func diffAdd2Vec(gi, gj, qi, rj []float64, w float64) int { return 0 }

func diffAddVec(g, qi, rj []float64, w float64) int { return 0 }

func diffSubVec(g, qi, rj []float64, w float64) int { return 0 }
