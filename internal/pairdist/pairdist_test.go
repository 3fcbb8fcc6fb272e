package pairdist

import "testing"

func TestPool(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 8, 9, 1000, 65536} {
		s := DirtyFloats(n)
		if len(s) != n || cap(s)&(cap(s)-1) != 0 || cap(s) < n {
			t.Fatalf("DirtyFloats(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i := range s {
			s[i] = 1
		}
		RecycleFloats(s)
		z := Floats(n)
		for i, v := range z {
			if v != 0 {
				t.Fatalf("Floats(%d)[%d] = %v", n, i, v)
			}
		}
		RecycleFloats(z)
	}
	m := Dense(3, 5)
	if r, c := m.Dims(); r != 3 || c != 5 {
		t.Errorf("Dense dims %d×%d", r, c)
	}
	Recycle(m)
	Recycle(nil)
	RecycleFloats(make([]float64, 3)) // capacity 3: ignored
	RecycleFloats(nil)
}
