package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
)

// picture is a small image of class c, its k-th: the class's colour with a
// gradient that differs from image to image.
func picture(c, k int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 20, 18))
	base := color.RGBA{uint8(c * 53), uint8(255 - c*29), uint8(c * 97), 255}
	for y := 0; y < 18; y++ {
		for x := 0; x < 20; x++ {
			d := uint8((x*3 + y*5 + k*11) % 32)
			m.SetRGBA(x, y, color.RGBA{base.R + d, base.G - d, base.B + d/2, 255})
		}
	}
	return m
}

func jpegOf(t *testing.T, c, k int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(c, k), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The fixtures: each writes a data set in its official layout under dir
// (perClass images of each class) and returns what -data is given.

// writeCUB: classes 1–3 (training) and 101–103 (test) of CUB-200-2011.
func writeCUB(t *testing.T, dir string, perClass int) string {
	root := filepath.Join(dir, datasets.CUBDirName)
	var images []testkit.CUBImage
	for _, c := range []int{1, 2, 3, 101, 102, 103} {
		for k := range perClass {
			rel := fmt.Sprintf("%s/Bird_%d_%04d.jpg", testkit.CUBClassDir(c), c, k)
			images = append(images, testkit.CUBImage{ID: len(images) + 1, Class: c, Rel: rel, Train: k%2 == 0, JPEG: jpegOf(t, c, k)})
		}
	}
	testkit.WriteCUB(t, root, images, true)
	return root
}

// writeCars196: classes 1–3 (training) and 99–101 (test), each with
// images in both anno_train.csv and anno_test.csv, as in the real data.
func writeCars196(t *testing.T, dir string, perClass int) string {
	var images []testkit.Cars196Image
	for _, c := range []int{1, 2, 3, 99, 100, 101} {
		for k := range perClass {
			file := fmt.Sprintf("%05d.jpg", len(images)+1)
			images = append(images, testkit.Cars196Image{Class: c, Test: k%2 == 1, File: file, JPEG: jpegOf(t, c, k)})
		}
	}
	testkit.WriteCars196(t, dir, images)
	return dir
}

// writeSOP: classes 1–3 in Ebay_train.txt and 11,319–11,321 in
// Ebay_test.txt, under super classes 1, 1, 2 and 3, 4, 4.
func writeSOP(t *testing.T, dir string, perClass int) string {
	var images []testkit.SOPImage
	supers := []int{1, 1, 2, 3, 4, 4}
	for i, c := range []int{1, 2, 3, 11319, 11320, 11321} {
		for k := range perClass {
			rel := fmt.Sprintf("%s/%d_%d.JPG", testkit.SOPSuperDirs[supers[i]-1], 111085122800+c, k)
			images = append(images, testkit.SOPImage{ID: len(images) + 1, Class: c, SuperClass: supers[i], Test: i >= 3, Rel: rel, JPEG: jpegOf(t, c, k)})
		}
	}
	testkit.WriteSOP(t, dir, images)
	return filepath.Join(dir, datasets.SOPDirName)
}

// writeINat: categories 5–7 in the train list and 8–10 in the test list,
// some images in val2018.json, and one image of each category listed in
// neither (PML leaves those out).
func writeINat(t *testing.T, dir string, perClass int) string {
	var images []testkit.INatImage
	for i, c := range []int{5, 6, 7, 8, 9, 10} {
		split := "train"
		if i >= 3 {
			split = "test"
		}
		for k := range perClass + 1 {
			s := split
			if k == perClass {
				s = ""
			}
			rel := fmt.Sprintf("train_val2018/Plantae/%d/%032x.jpg", c, 1000*c+k)
			images = append(images, testkit.INatImage{ID: 100 + len(images), Category: c, Val: k%3 == 1, Split: s, Rel: rel, JPEG: jpegOf(t, c, k)})
		}
	}
	testkit.WriteINaturalist2018(t, dir, images)
	return dir
}

// writeFolder: four class directories of PNG images, one of them with a
// sub-directory.
func writeFolder(t *testing.T, dir string, perClass int) string {
	root := filepath.Join(dir, "pictures")
	for c, name := range []string{"apple", "banana", "cherry", "damson"} {
		for k := range perClass {
			p := filepath.Join(root, name, fmt.Sprintf("%s_%d.png", name, k))
			if c == 3 && k%2 == 1 {
				p = filepath.Join(root, name, "more", fmt.Sprintf("%s_%d.png", name, k))
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, picture(c+1, k)); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

var writers = map[string]func(t *testing.T, dir string, perClass int) string{
	runner.KindCUB200:          writeCUB,
	runner.KindCars196:         writeCars196,
	runner.KindSOP:             writeSOP,
	runner.KindINaturalist2018: writeINat,
	runner.KindFolder:          writeFolder,
}

var epochLine = regexp.MustCompile(`(?m)^epoch 1  loss \d+\.\d{4}  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(train \d+\.\d s, eval \d+\.\d s\)$`)

// small are the flags that make a run take a moment.
var small = []string{"-size", "16", "-blocks", "4,8", "-embedding", "8", "-batch", "8", "-m", "4", "-epochs", "1", "-iters", "2", "-quiet"}

// TestDatasets runs every kind end to end on a fixture in its official
// layout: the printed split sizes are PML's split of the fixture, the
// epoch-1 metrics are printed and the checkpoint is the ConvNet asked for.
func TestDatasets(t *testing.T) {
	tests := []struct {
		kind  string
		extra []string
		want  string
	}{
		{runner.KindCUB200, nil, "CUB-200-2011: 12 training samples (3 classes), 12 test samples (3 classes)"},
		{runner.KindCUB200, []string{"-test-classes", "101,102"}, "CUB-200-2011: 12 training samples (3 classes), 8 test samples (2 classes)"},
		{runner.KindCars196, nil, "Cars196: 12 training samples (3 classes), 12 test samples (3 classes)"},
		{runner.KindCars196, []string{"-train-classes", "1,2"}, "Cars196: 8 training samples (2 classes), 12 test samples (3 classes)"},
		{runner.KindSOP, nil, "Stanford Online Products: 12 training samples (3 classes), 12 test samples (3 classes)"},
		{runner.KindSOP, []string{"-preload=false"}, "Stanford Online Products: 12 training samples (3 classes), 12 test samples (3 classes)"},
		{runner.KindSOP, []string{"-test-classes", "11319"}, "Stanford Online Products: 12 training samples (3 classes), 4 test samples (1 classes)"},
		{runner.KindINaturalist2018, nil, "iNaturalist 2018: 12 training samples (3 classes), 12 test samples (3 classes)"},
		{runner.KindINaturalist2018, []string{"-train-classes", "5-6,8", "-test-classes", "9-10"}, "iNaturalist 2018: 12 training samples (3 classes), 8 test samples (2 classes)"},
		{runner.KindFolder, nil, "image folder: 8 training samples (2 classes), 8 test samples (2 classes)"},
		{runner.KindFolder, []string{"-train-classes", "0-2", "-test-classes", "3", "-preload=false"}, "image folder: 12 training samples (3 classes), 4 test samples (1 classes)"},
	}
	for _, tc := range tests {
		t.Run(tc.kind+" "+strings.Join(tc.extra, " "), func(t *testing.T) {
			data := writers[tc.kind](t, t.TempDir(), 4)
			out := t.TempDir()
			var stdout bytes.Buffer
			args := append([]string{"-dataset", tc.kind, "-data", data, "-out", out}, small...)
			if err := run(context.Background(), append(args, tc.extra...), &stdout, &stdout); err != nil {
				t.Fatalf("%v\n%s", err, stdout.String())
			}
			if !strings.Contains(stdout.String(), tc.want) || !epochLine.MatchString(stdout.String()) {
				t.Errorf("output:\n%s\nwant %q and the epoch-1 metrics", stdout.String(), tc.want)
			}
			enc, err := models.LoadEncoder(filepath.Join(out, runner.CheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if cn, ok := enc.(*models.ConvNet); !ok || cn.Config().Height != 16 || cn.Config().Channels != 3 || cn.Config().Embedding != 8 {
				t.Errorf("checkpoint %T %+v", enc, enc)
			}
		})
	}
}

// edit replaces the content of the file at p by edit's result.
func edit(t *testing.T, p string, edit func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteLine replaces line n (1-based) of the file at p by text.
func rewriteLine(t *testing.T, p string, n int, text string) {
	t.Helper()
	edit(t, p, func(b []byte) []byte {
		lines := strings.Split(string(b), "\n")
		lines[n-1] = text
		return []byte(strings.Join(lines, "\n"))
	})
}

// TestErrors: bad flags name the flag (and list the kinds), and a
// malformed data set gives an error naming the file and its line (for a
// JSON file, its byte offset or entry).
func TestErrors(t *testing.T) {
	kinds := "cub200, cars196, sop, inaturalist2018, folder"
	tests := []struct {
		name string
		kind string // the fixture to write ("" for none)
		args []string
		// line text replaces line `line` of the fixture's file `file`: the
		// error must name file:line.
		file string
		line int
		text string
		// remove deletes the fixture's file remove: the error must name
		// listing:line (the file itself when listing is "").
		remove, listing string
		// spoil damages the fixture written at data otherwise and returns
		// the text the error must hold.
		spoil func(t *testing.T, data string) string
		want  string
	}{
		{name: "no dataset", args: []string{"-data", "x"}, want: "-dataset is required: one of " + kinds},
		{name: "unknown dataset", args: []string{"-dataset", "mnist", "-data", "x"}, want: `-dataset "mnist": unknown data set; the kinds are ` + kinds},
		{name: "no data", args: []string{"-dataset", "sop"}, want: "-data is required: the Stanford_Online_Products directory"},
		{name: "no data folder", args: []string{"-dataset", "folder"}, want: "-data is required: a directory with one sub-directory of images per class"},
		{name: "missing dir", args: []string{"-dataset", "cars196", "-data", "/nonexistent/cars"}, want: "/nonexistent/cars/names.csv"},
		{name: "blocks", args: []string{"-dataset", "sop", "-data", "x", "-blocks", "4,x"}, want: "-blocks"},
		{name: "size", args: []string{"-dataset", "sop", "-data", "x", "-size", "4", "-blocks", "4,4,4"}, want: "too small"},
		{name: "embedding", args: []string{"-dataset", "sop", "-data", "x", "-embedding", "0"}, want: "-embedding"},
		{name: "workers", args: []string{"-dataset", "sop", "-data", "x", "-workers", "-1"}, want: "-workers"},
		{name: "classes", args: []string{"-dataset", "sop", "-data", "x", "-test-classes", "x"}, want: "-test-classes"},
		{name: "loss", args: []string{"-dataset", "sop", "-data", "x", "-loss", "nope"}, want: "valid names"},
		{name: "overlap", kind: runner.KindCars196, args: []string{"-train-classes", "1,99"}, want: "class 99 is in both"},
		{name: "folder one list", kind: runner.KindFolder, args: []string{"-train-classes", "0"}, want: "give both -train-classes and -test-classes or neither"},

		{name: "cub images.txt", kind: runner.KindCUB200, file: "images.txt", line: 3, text: "3"},
		// NewCUB does not look for the images: Load names the one missing.
		{name: "cub missing image", kind: runner.KindCUB200, remove: path.Join("images", testkit.CUBClassDir(2), "Bird_2_0001.jpg")},
		{name: "cars196 names.csv", kind: runner.KindCars196, file: "names.csv", line: 2, text: ""},
		{name: "cars196 anno_train.csv", kind: runner.KindCars196, file: "anno_train.csv", line: 2, text: "00003.jpg,1,2,30,40,two"},
		{name: "cars196 anno_test.csv", kind: runner.KindCars196, file: "anno_test.csv", line: 4, text: "00008.jpg,1,2,30,40,197"},
		{name: "cars196 missing image", kind: runner.KindCars196, remove: path.Join("car_data", "car_data", "test", testkit.Cars196Dir(101), "00022.jpg"), listing: "anno_test.csv", line: 11},
		{name: "sop Ebay_train.txt", kind: runner.KindSOP, file: "Ebay_train.txt", line: 5, text: "4 1 1"},
		{name: "sop Ebay_test.txt header", kind: runner.KindSOP, file: "Ebay_test.txt", line: 1, text: "13 11319 3 cabinet_final/x.JPG"},
		{name: "sop missing image", kind: runner.KindSOP, remove: "coffee_maker_final/111085134120_2.JPG", listing: "Ebay_test.txt", line: 8},
		{name: "inat train2018.json", kind: runner.KindINaturalist2018, spoil: func(t *testing.T, data string) string {
			p := filepath.Join(data, "train2018.json")
			edit(t, p, func(b []byte) []byte { return b[:40] })
			return p + ": byte "
		}},
		{name: "inat val2018.json syntax", kind: runner.KindINaturalist2018, spoil: func(t *testing.T, data string) string {
			p := filepath.Join(data, "val2018.json")
			i := 0
			edit(t, p, func(b []byte) []byte {
				i = bytes.Index(b, []byte(`"annotations"`))
				b[i] = '#'
				return b
			})
			return fmt.Sprintf("%s: byte %d", p, i+1)
		}},
		{name: "inat val2018.json entry", kind: runner.KindINaturalist2018, spoil: func(t *testing.T, data string) string {
			p := filepath.Join(data, "val2018.json")
			edit(t, p, func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"file_name":"train_val2018`), []byte(`"file_name":"../train_val2018`), 1)
			})
			return p + ": images[0]: file_name"
		}},
		{name: "inat split file", kind: runner.KindINaturalist2018, file: datasets.INaturalist2018SplitsDir + "/Inaturalist_test_set1.txt", line: 2, text: "train_val2018/Plantae/8/unknown.jpg"},
		{name: "inat missing image", kind: runner.KindINaturalist2018, remove: path.Join("train_val2018", "Plantae", "6", fmt.Sprintf("%032x.jpg", 6002)), listing: datasets.INaturalist2018SplitsDir + "/Inaturalist_train_set1.txt", line: 7},
		{name: "folder empty class", kind: runner.KindFolder, spoil: func(t *testing.T, data string) string {
			if err := os.MkdirAll(filepath.Join(data, "elder"), 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(data, "elder")
		}},
		{name: "folder broken image", kind: runner.KindFolder, spoil: func(t *testing.T, data string) string {
			p := filepath.Join(data, "banana", "banana_2.png")
			if err := os.WriteFile(p, []byte("not a PNG"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			want := tc.want
			if tc.kind != "" {
				data := writers[tc.kind](t, t.TempDir(), 4)
				switch {
				case tc.file != "":
					p := filepath.Join(data, filepath.FromSlash(tc.file))
					rewriteLine(t, p, tc.line, tc.text)
					want = fmt.Sprintf("%s:%d", p, tc.line)
				case tc.remove != "":
					p := filepath.Join(data, filepath.FromSlash(tc.remove))
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
					want = p
					if tc.listing != "" {
						want = fmt.Sprintf("%s:%d", filepath.Join(data, filepath.FromSlash(tc.listing)), tc.line)
					}
				case tc.spoil != nil:
					want = tc.spoil(t, data)
				}
				args = append([]string{"-dataset", tc.kind, "-data", data}, args...)
			}
			var stdout, stderr bytes.Buffer
			args = append(append(slices.Clone(small), args...), "-out", t.TempDir())
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want one holding %q", err, want)
			}
			var fe *datasets.FileError
			if tc.kind != "" && want != tc.want && !errors.As(err, &fe) && !errors.Is(err, gometric.ErrShape) && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v, want a *datasets.FileError, ErrShape or fs.ErrNotExist", err)
			}
			if want == tc.want && !errors.Is(err, gometric.ErrSetting) && !strings.Contains(want, "names.csv") {
				t.Errorf("err = %v, want ErrSetting", err)
			}
		})
	}
}

// TestHelp: -h lists every kind with its layout and source.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); err == nil {
		t.Fatal("-h: no error")
	}
	for _, k := range runner.ImageKinds() {
		if !strings.Contains(stderr.String(), "  "+k+": "+runner.ImageDataHelp(k)) {
			t.Errorf("-h lacks %s:\n%s", k, stderr.String())
		}
	}
}
