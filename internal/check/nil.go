package check

import "reflect"

// Nil reports whether v is nil or an interface holding a nil pointer, map,
// slice, func or channel (a "typed nil", such as a nil *os.File passed as
// an io.Reader): the one test the library applies to the interfaces it is
// given (readers, writers, file systems, distances, losses) before calling
// their methods.
func Nil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
