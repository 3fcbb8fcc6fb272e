package serve

import (
	"os"

	"github.com/gometric/gometric/internal/atomicfile"
)

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func writeFile(path string, b []byte) error { return atomicfile.WriteFile(path, b) }
