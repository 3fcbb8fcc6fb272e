package gemm

import (
	"fmt"
	"os"
	"strings"
)

// EnvKernel is the environment variable that forces a kernel set, read
// once at start-up: "avx512", "avx2" or "portable". Empty (or unset) picks
// the fastest set that the build has and the CPU supports. A set that is
// not available (not compiled in, or the CPU lacks it) or an unknown value
// falls back to that default, with a warning on standard error; Impl names
// the kernel that runs.
const EnvKernel = "GOMETRIC_GEMM"

// kernelPair is one instruction set's float64 and float32 micro-kernels.
type kernelPair struct {
	isa string // the name GOMETRIC_GEMM selects it by
	k64 *kernel[float64]
	k32 *kernel[float32]
}

// The kernels of the fast path, chosen at start-up from platformKernels
// (see EnvKernel); nil means the portable path.
var fast64, fast32 = choose(os.Getenv(EnvKernel), platformKernels())

// choose returns the kernels that env selects from avail (best first),
// warning on standard error when the selection cannot be honoured.
func choose(env string, avail []kernelPair) (*kernel[float64], *kernel[float32]) {
	k64, k32, warn := pick(env, avail)
	if warn != "" {
		fmt.Fprintln(os.Stderr, warn)
	}
	return k64, k32
}

// pick is choose without the side effect: it returns the warning.
func pick(env string, avail []kernelPair) (*kernel[float64], *kernel[float32], string) {
	var def kernelPair // the default: the first available, or portable
	if len(avail) > 0 {
		def = avail[0]
	}
	name := func(kp kernelPair) string {
		if kp.k64 == nil {
			return "portable"
		}
		return kp.k64.name + " / " + kp.k32.name
	}
	env = strings.ToLower(strings.TrimSpace(env))
	switch env {
	case "":
		return def.k64, def.k32, ""
	case "portable":
		return nil, nil, ""
	case "avx512", "avx2":
		for _, kp := range avail {
			if kp.isa == env {
				return kp.k64, kp.k32, ""
			}
		}
		return def.k64, def.k32, fmt.Sprintf("gemm: %s=%s: no such kernel on this CPU and build; using %s", EnvKernel, env, name(def))
	}
	return def.k64, def.k32, fmt.Sprintf("gemm: %s=%q: unknown (want avx512, avx2 or portable); using %s", EnvKernel, env, name(def))
}
