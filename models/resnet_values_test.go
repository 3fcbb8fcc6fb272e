package models

import "testing"

// resnetValues, computed from the architecture, is what Save writes for
// every depth, with and without fc, for 1 and 3 input channels.
func TestResNetValues(t *testing.T) {
	for _, depth := range []int{18, 34, 50, 101} {
		if depth == 101 && testing.Short() {
			continue
		}
		for _, classes := range []int{0, 10} {
			for _, ch := range []int{1, 3} {
				cfg, err := resnetConfig("test", ResNetConfig{Depth: depth, NumClasses: classes, Channels: ch, Height: 32, Width: 32})
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				for _, e := range resnetEntries(newResNet[float32](cfg)) {
					n += int64(len(e.data))
				}
				if got := resnetValues(cfg); got != n {
					t.Errorf("depth %d, %d classes, %d channels: resnetValues %d, the network saves %d", depth, classes, ch, got, n)
				}
			}
		}
	}
}
