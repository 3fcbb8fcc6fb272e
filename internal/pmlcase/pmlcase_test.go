package pmlcase

import (
	"testing"
)

func TestArgs(t *testing.T) {
	a := Args{"p": []byte("3"), "flag": []byte("true"), "nested": []byte(`{"class":"SumReducer","args":{}}`),
		"w": []byte(`{"tensor":[[1,2],[3,4]]}`), "none": []byte("null")}
	if v, err := a.Float("p", 2); err != nil || v != 3 {
		t.Errorf("Float: %v %v", v, err)
	}
	if v, err := a.Float("none", 2); err != nil || v != 2 {
		t.Errorf("Float default: %v %v", v, err)
	}
	if v, err := a.Bool("flag", false); err != nil || !v {
		t.Errorf("Bool: %v %v", v, err)
	}
	if s, err := a.Spec("nested"); err != nil || s.Class != "SumReducer" {
		t.Errorf("Spec: %v %v", s, err)
	}
	if w, err := a.Tensor("w"); err != nil || len(w) != 4 || w[3] != 4 {
		t.Errorf("Tensor: %v %v", w, err)
	}
	if err := a.Known("X", "p", "flag"); err == nil {
		t.Error("Known accepted unknown args")
	}
}
