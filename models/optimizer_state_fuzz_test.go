package models

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzOptimizerState reads arbitrary bytes as the state of every
// optimizer kind and every scheduler: no panic, and a state that is
// accepted writes back byte for byte.
func FuzzOptimizerState(f *testing.F) {
	states := validStates(f)
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f.Add(states[name].data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []StateSaver{}
		for _, s := range optSetups {
			if s.name == s.kind {
				targets = append(targets, newOpt(t, s, 0.05))
			}
		}
		for i := range schedMakers {
			targets = append(targets, mustSched(t, i, newOpt(t, optSetups[3], 0.05)))
		}
		for _, s := range targets {
			if err := s.ReadState(bytes.NewReader(data)); err != nil {
				continue
			}
			if got := stateBytes(t, s); !bytes.Equal(got, data) {
				t.Fatalf("%T: accepted state writes back differently:\n got %x\nwant %x", s, got, data)
			}
		}
	})
}
