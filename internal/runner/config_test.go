package runner

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

func configFlags() (*flag.FlagSet, *Options) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := Defaults()
	o.Register(fs)
	fs.String(ConfigFlag, "", "")
	return fs, &o
}

func TestApplyConfig(t *testing.T) {
	fs, o := configFlags()
	if err := fs.Parse([]string{"-epochs", "7"}); err != nil {
		t.Fatal(err)
	}
	err := ApplyConfig(fs, strings.NewReader(`{"epochs": 3, "lr": 1e-4, "loss": "contrastive", "quiet": true, "seed": 12}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.Epochs != 7 || o.LR != 1e-4 || o.Loss != "contrastive" || !o.Quiet || o.Seed != 12 {
		t.Errorf("options %+v: the command line's -epochs 7 wins, the rest from the file", o)
	}
	bad := []struct{ in, want string }{
		{`{"epochz": 3}`, `unknown key "epochz"`},
		{`{"config": "x.json"}`, `unknown key "config"`},
		{`{"epochs": "three"}`, `key "epochs"`},
		{`{"epochs": null}`, `want a string, number or boolean`},
		{`{"epochs": [1]}`, `want a string, number or boolean`},
		{`{"epochs": {"a": 1}}`, `want a string, number or boolean`},
		{`{"epochs": 1, "epochs": 2}`, `given twice`},
		{`{"epochs": 1} {}`, `data after the object`},
		{`{"epochs": 1`, `not closed`},
		{`[1]`, `one JSON object`},
		{``, `one JSON object`},
		{`{"seed": -1}`, `key "seed"`},
		{`{"epochs": 1e999}`, `key "epochs"`},
		{`{"batch": 99999999999999999999999}`, `key "batch"`},
		{`{"quiet": "maybe"}`, `key "quiet"`},
		{`{"lr": 1} ` + strings.Repeat(" ", MaxConfigBytes), `more than`},
	}
	for _, tc := range bad {
		fs, _ := configFlags()
		err := ApplyConfig(fs, strings.NewReader(tc.in))
		if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v, want %q", tc.in, err, tc.want)
		}
	}
	if err := ApplyConfig(nil, strings.NewReader("{}")); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil FlagSet: %v", err)
	}
	if err := ApplyConfigFile(fs, "/nonexistent/x.json"); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzApplyConfig(f *testing.F) {
	for _, s := range []string{`{"epochs": 3, "lr": 1e-4, "loss": "contrastive", "quiet": true}`, `{"seed": 1}`, `{}`, `[`, `{"a": null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := configFlags()
		if err := ApplyConfig(fs, strings.NewReader(string(b))); err != nil && !errors.Is(err, gometric.ErrSetting) {
			t.Fatalf("error %v does not wrap ErrSetting", err)
		}
	})
}
