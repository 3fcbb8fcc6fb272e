// Command images trains an embedding from scratch on any of PML's image
// data sets, or on a folder of images, with the class-disjoint split PML
// uses for it, and evaluates retrieval on the test classes (query =
// reference), with the same loop, flags and outputs as examples/cub200:
//
//	go run ./examples/images -dataset cub200 -data /path/to/CUB_200_2011
//	go run ./examples/images -dataset cars196 -data /path/to/stanford-car-dataset-by-classes-folder
//	go run ./examples/images -dataset sop -data /path/to/Stanford_Online_Products
//	go run ./examples/images -dataset inaturalist2018 -data /path/to/inaturalist2018
//	go run ./examples/images -dataset folder -data /path/to/images -train-classes 0-9 -test-classes 10-19
//
// The data sets are read in the layouts PML's datasets classes read, and
// split as PML splits them:
//
//   - cub200: CUB-200-2011 (images.txt, image_class_labels.txt,
//     classes.txt, images/...); classes 1–100 for training, 101–200 for
//     testing.
//   - cars196: Cars196 as Kaggle's stanford-car-dataset-by-classes-folder
//     archive unpacks (names.csv, anno_train.csv, anno_test.csv,
//     car_data/car_data/{train,test}/<class name>/...); classes 1–98
//     for training, 99–196 for testing, each from both annotation files.
//   - sop: Stanford Online Products (Ebay_train.txt, Ebay_test.txt,
//     <super class>_final/...); the images of Ebay_train.txt for training
//     (classes 1–11,318), of Ebay_test.txt for testing (11,319–22,634).
//   - inaturalist2018: iNaturalist 2018 (train2018.json, val2018.json,
//     train_val2018/...) with Smooth-AP's split files
//     (Inat_dataset_splits/Inaturalist_{train,test}_set1.txt): the images
//     of the train list for training, of the test list for testing.
//   - folder: a directory with one sub-directory of images per class
//     (torchvision's ImageFolder), labelled 0, 1, ... in sorted order of
//     the directory names; the lower half of the classes for training,
//     the upper half for testing.
//
// -train-classes and -test-classes (e.g. 1-50) choose other classes, by
// the data set's class ids (the folder's labels); for the PML data sets a
// list not given keeps its default split's classes, for a folder both or
// neither are given. The program cannot download the data: without -data
// it says where each set comes from.
//
// The images are decoded, resized to -size × -size (centre crop, ImageNet
// normalisation) and, with -preload (the default), kept in memory, 3·size²
// bytes each (SOP's 120,053 images take 1.5 GB at -size 64, iNaturalist
// 2018's 461,939 take 5.7 GB: use -preload=false to decode at every batch
// instead). The model is the ConvNet from scratch of examples/cub200
// (-size, -blocks, -embedding), trained with MetricLossOnly and the
// runner's flags (-loss, -miner, -epochs, -batch, -m, -iters, -lr,
// -trainer, -embedder, -lr-schedule, -val-every, -patience, -resume, -out,
// ...; see -h). Ctrl-C stops training between two iterations and saves
// the current weights to interrupted.gmw.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gometric/gometric/internal/runner"
)

func main() { runner.Main("images", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, opts, c := runner.NewImageFlagSet("images", stderr, "the data set's directory (see -h for each -dataset's layout)",
		"the data set's training split; for a folder the lower half of the classes",
		"the data set's test split; for a folder the upper half of the classes")
	kind := fs.String("dataset", "", "the data set: one of "+strings.Join(runner.ImageKinds(), ", "))
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: images -dataset KIND -data DIR [flags]\n\n"+
			"Trains a ConvNet on the training classes of an image data set and evaluates retrieval on its test classes.\n\n"+
			"-data for each -dataset:\n")
		for _, k := range runner.ImageKinds() {
			fmt.Fprintf(stderr, "  %s: %s\n", k, runner.ImageDataHelp(k))
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	return runner.TrainImages(ctx, *kind, c, *opts, stdout, stderr)
}
