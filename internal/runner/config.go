package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/gometric/gometric"
)

// ConfigFlag is the name of the flag that names a config file: a program
// that registers it (a string flag) has ParseFlags read the file.
const ConfigFlag = "config"

// MaxConfigBytes is the largest config file ApplyConfig reads.
const MaxConfigBytes = 1 << 20

// ApplyConfig sets the flags of fs from a config file read from r: one
// JSON object whose keys are flag names without the dash and whose values
// are strings, numbers or booleans, e.g.
//
//	{"dataset": "cub200", "data": "/data/CUB_200_2011", "epochs": 20, "lr": 1e-4, "quiet": true}
//
// Flags already set on the command line (flag.FlagSet.Visit) keep their
// values: the command line wins. An unknown key, a value of another JSON
// type (null, an array, an object), a value the flag refuses, a repeated
// key, trailing data or a file of more than MaxConfigBytes is an error
// wrapping gometric.ErrSetting that names the key.
func ApplyConfig(fs *flag.FlagSet, r io.Reader) error {
	if fs == nil || r == nil {
		return fmt.Errorf("runner.ApplyConfig: nil FlagSet or reader: %w", gometric.ErrSetting)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxConfigBytes {
		return fmt.Errorf("config: more than %d bytes: %w", MaxConfigBytes, gometric.ErrSetting)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("config: "+format+": %w", append(a, gometric.ErrSetting)...)
	}
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return bad("want one JSON object of flag names and values (e.g. {\"epochs\": 10})")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return bad("key %q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad("key %q: %v", key, err)
		}
		f := fs.Lookup(key)
		if f == nil || key == ConfigFlag {
			var names []string
			fs.VisitAll(func(f *flag.Flag) {
				if f.Name != ConfigFlag {
					names = append(names, f.Name)
				}
			})
			slices.Sort(names)
			return bad("unknown key %q; the keys are the flags: %v", key, names)
		}
		value, err := configValue(raw)
		if err != nil {
			return bad("key %q: %v", key, err)
		}
		if set[key] {
			continue
		}
		if err := f.Value.Set(value); err != nil {
			return bad("key %q: value %s: %v", key, value, err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return bad("the object is not closed")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("data after the object")
	}
	return nil
}

// configValue is a JSON string, number or boolean as a flag's text.
func configValue(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("want a string, number or boolean, not %s", raw)
}

// ApplyConfigFile is ApplyConfig on the file at path.
func ApplyConfigFile(fs *flag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("-%s: %w", ConfigFlag, err)
	}
	defer f.Close()
	if err := ApplyConfig(fs, f); err != nil {
		return fmt.Errorf("-%s %s: %w", ConfigFlag, path, err)
	}
	return nil
}

// ParseArgs parses args with fs and, when fs has a ConfigFlag flag that is
// set, applies that file (ApplyConfigFile; the command line wins).
// Positional arguments are an error.
func ParseArgs(fs *flag.FlagSet, args []string) error {
	if fs == nil {
		return fmt.Errorf("runner.ParseArgs: nil FlagSet: %w", gometric.ErrSetting)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see -h): %w", fs.Arg(0), gometric.ErrSetting)
	}
	if c := fs.Lookup(ConfigFlag); c != nil && c.Value.String() != "" {
		return ApplyConfigFile(fs, c.Value.String())
	}
	return nil
}
