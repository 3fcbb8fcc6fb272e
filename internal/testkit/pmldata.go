package testkit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cars196Image is one image of a Cars196 fixture written by WriteCars196.
// It is a plain value, safe for concurrent use.
type Cars196Image struct {
	Class int    // its class id, 1 to 196
	Test  bool   // listed in anno_test.csv (and stored under test/) rather than anno_train.csv
	File  string // its file name, e.g. "00001.jpg"
	JPEG  []byte // the file's content
}

// Cars196Name is the name of class c (1 to 196) in names.csv. Even classes
// hold a "/" (as "Ram C/V Cargo Van Minivan 2012" does in the real file),
// which becomes "-" in their directory name (see Cars196Dir).
func Cars196Name(c int) string {
	if c%2 == 0 {
		return fmt.Sprintf("Make %03d C/V Van 2012", c)
	}
	return fmt.Sprintf("Make %03d Sedan 2012", c)
}

// Cars196Dir is the directory of class c under car_data/car_data/{train,test}/:
// its name with "/" replaced by "-", as PML's Cars196 builds it.
func Cars196Dir(c int) string { return strings.ReplaceAll(Cars196Name(c), "/", "-") }

// WriteCars196 writes the layout PML's Cars196 reads in dir: names.csv
// naming the 196 classes by Cars196Name; anno_train.csv and anno_test.csv
// listing the images in the order given as "<file>,<x1>,<y1>,<x2>,<y2>,<class>"
// (no header, as in the Kaggle archive); and each image at
// car_data/car_data/{train,test}/<Cars196Dir(class)>/<File>.
func WriteCars196(t testing.TB, dir string, images []Cars196Image) {
	t.Helper()
	var names, train, test strings.Builder
	for c := 1; c <= 196; c++ {
		fmt.Fprintf(&names, "%s\n", Cars196Name(c))
	}
	for k, im := range images {
		part, anno := "train", &train
		if im.Test {
			part, anno = "test", &test
		}
		writeFile(t, filepath.Join(dir, "car_data", "car_data", part, Cars196Dir(im.Class), filepath.FromSlash(im.File)), im.JPEG)
		fmt.Fprintf(anno, "%s,%d,%d,%d,%d,%d\n", im.File, 1+k%5, 2+k%3, 30+k%7, 40+k%11, im.Class)
	}
	writeFile(t, filepath.Join(dir, "names.csv"), []byte(names.String()))
	writeFile(t, filepath.Join(dir, "anno_train.csv"), []byte(train.String()))
	writeFile(t, filepath.Join(dir, "anno_test.csv"), []byte(test.String()))
}

// SOPImage is one image of a Stanford Online Products fixture written by
// WriteSOP. It is a plain value, safe for concurrent use.
type SOPImage struct {
	ID         int    // its image_id in its listing file
	Class      int    // its class_id
	SuperClass int    // its super_class_id, 1 to 12 in the real data
	Test       bool   // listed in Ebay_test.txt rather than Ebay_train.txt
	Rel        string // its path under Stanford_Online_Products/, e.g. "bicycle_final/111085122871_0.JPG"
	JPEG       []byte // the file's content
}

// SOPSuperDirs are the 12 super-class directories of Stanford Online
// Products, by super_class_id − 1.
var SOPSuperDirs = []string{"bicycle_final", "cabinet_final", "chair_final", "coffee_maker_final", "fan_final", "kettle_final",
	"lamp_final", "mug_final", "sofa_final", "stapler_final", "table_final", "toaster_final"}

// WriteSOP writes the layout of Stanford Online Products in dir (the
// directory holding Stanford_Online_Products/): Ebay_train.txt and
// Ebay_test.txt with their header line "image_id class_id super_class_id
// path" and one line per image in the order given, Ebay_info.txt listing
// every image (unused by PML), and each image at
// Stanford_Online_Products/<Rel>.
func WriteSOP(t testing.TB, dir string, images []SOPImage) {
	t.Helper()
	const header = "image_id class_id super_class_id path\n"
	sop := filepath.Join(dir, "Stanford_Online_Products")
	var train, test, info strings.Builder
	train.WriteString(header)
	test.WriteString(header)
	info.WriteString(header)
	for k, im := range images {
		list := &train
		if im.Test {
			list = &test
		}
		writeFile(t, filepath.Join(sop, filepath.FromSlash(im.Rel)), im.JPEG)
		fmt.Fprintf(list, "%d %d %d %s\n", im.ID, im.Class, im.SuperClass, im.Rel)
		fmt.Fprintf(&info, "%d %d %d %s\n", k+1, im.Class, im.SuperClass, im.Rel)
	}
	writeFile(t, filepath.Join(sop, "Ebay_train.txt"), []byte(train.String()))
	writeFile(t, filepath.Join(sop, "Ebay_test.txt"), []byte(test.String()))
	writeFile(t, filepath.Join(sop, "Ebay_info.txt"), []byte(info.String()))
}

// writeFile writes b to p, making its directory.
func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// INatImage is one image of an iNaturalist 2018 fixture written by
// WriteINaturalist2018. It is a plain value, safe for concurrent use.
type INatImage struct {
	ID       int    // its id in the JSON files
	Category int    // its category_id (0 to 8141 in the real data)
	Val      bool   // listed in val2018.json rather than train2018.json
	Split    string // "train" or "test": the split file listing it; "" for none
	Rel      string // its file_name, e.g. "train_val2018/Plantae/7477/3b60c9486db1d2ee875f11a669fbde4b.jpg"
	JPEG     []byte // the file's content
}

// WriteINaturalist2018 writes the layout PML's INaturalist2018 reads in
// dir: train2018.json and val2018.json (with "images", "annotations" and
// "categories", in the competition's form), each image at dir/<Rel>, and
// Inat_dataset_splits/Inaturalist_{train,test}_set1.txt listing the
// images of each split in the order given.
func WriteINaturalist2018(t testing.TB, dir string, images []INatImage) {
	t.Helper()
	type img struct {
		ID       int    `json:"id"`
		FileName string `json:"file_name"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
		License  int    `json:"license"`
	}
	type ann struct {
		ID         int `json:"id"`
		ImageID    int `json:"image_id"`
		CategoryID int `json:"category_id"`
	}
	type doc struct {
		Info        map[string]string `json:"info"`
		Images      []img             `json:"images"`
		Annotations []ann             `json:"annotations"`
		Categories  []map[string]any  `json:"categories"`
	}
	docs := [2]doc{}
	var lists [2]strings.Builder
	cats := map[int]bool{}
	for _, im := range images {
		k := 0
		if im.Val {
			k = 1
		}
		docs[k].Images = append(docs[k].Images, img{ID: im.ID, FileName: im.Rel, Width: 800, Height: 600})
		docs[k].Annotations = append(docs[k].Annotations, ann{ID: im.ID, ImageID: im.ID, CategoryID: im.Category})
		cats[im.Category] = true
		switch im.Split {
		case "train":
			fmt.Fprintf(&lists[0], "%s\n", im.Rel)
		case "test":
			fmt.Fprintf(&lists[1], "%s\n", im.Rel)
		}
		writeFile(t, filepath.Join(dir, filepath.FromSlash(im.Rel)), im.JPEG)
	}
	for k, name := range []string{"train2018.json", "val2018.json"} {
		docs[k].Info = map[string]string{"year": "2018", "description": "fixture"}
		for c := range cats {
			docs[k].Categories = append(docs[k].Categories, map[string]any{"id": c, "name": fmt.Sprintf("species %d", c)})
		}
		b, err := json.Marshal(docs[k])
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), b)
	}
	for k, split := range []string{"train", "test"} {
		writeFile(t, filepath.Join(dir, "Inat_dataset_splits", "Inaturalist_"+split+"_set1.txt"), []byte(lists[k].String()))
	}
}
