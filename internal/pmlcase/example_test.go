package pmlcase_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/pmlcase"
)

// Cases loads the golden cases of a module; Distance builds the PML
// object a case describes.
func ExampleCases() {
	cases, err := pmlcase.Cases("distances")
	if err != nil {
		panic(err)
	}
	c := cases[0]
	d, err := pmlcase.Distance(&pmlcase.Spec{Class: c.Class, Args: c.Config})
	fmt.Println(c.Name(), d.Settings().Inverted, err)
	// Output:
	// CosineSimilarity__0 true <nil>
}
