// Package datasets reads the data sets gometric trains and evaluates on:
// Fashion-MNIST (IDX files), CUB-200-2011, Cars196, Stanford Online
// Products and iNaturalist 2018 in the layouts PML reads
// (pytorch_metric_learning.datasets.CUB, Cars196, StanfordOnlineProducts
// and INaturalist2018), generic image folders (torchvision's ImageFolder)
// and precomputed feature files.
//
// Every data set implements Dataset: Len, Labels (one []int label per
// sample), SampleShape and Batch, which writes the samples asked for as
// one float32 block (N×C×H×W for images) ready for an encoder — the work
// of PML's torch Dataset, transforms and DataLoader. Index streams come
// from package samplers.
//
//   - Images holds unsigned-byte images in memory. LoadFashionMNIST reads
//     the 60,000 + 10,000 Fashion-MNIST images from the IDX files of
//     Debian's dataset-fashion-mnist package (DefaultFashionMNISTDir), and
//     Batch scales pixels to [0,1] and normalises them with Fashion-MNIST's
//     mean 0.2860 and std 0.3530 (Norm), as torchvision's ToTensor and
//     Normalize do. FashionMNISTSample returns a small real sample embedded
//     in the package (2,000 + 1,000 images, balanced), and
//     LoadFashionMNISTOrSample falls back to it where the package is not
//     installed. The sample is written by
//     `go run ./datasets/internal/gensample` (see datasets/sample/README.md).
//   - ImageFiles decodes image files on demand (with an optional LRU cache)
//     or all at once (Load), resized with golang.org/x/image/draw or
//     through torchvision's transforms (Transform). JPEGs decode to the
//     bytes torchvision's loader gets from Pillow on libjpeg-turbo (its
//     islow IDCT, fancy upsampling and colour conversion), so that
//     EvalTransform's output equals torchvision's. NewCUB
//     opens CUB-200-2011 with PML's class-disjoint split — classes 1–100
//     for training, 101–200 for testing —, NewCars196 Cars196 (classes
//     1–98 and 99–196), NewSOP Stanford Online Products (Ebay_train.txt
//     and Ebay_test.txt, with the super class as label level 1, see
//     ImageFiles.LabelsAt), NewINaturalist2018 iNaturalist 2018 (its
//     JSON files and Smooth-AP's split lists), and NewImageFolder a
//     root/<class>/<image> tree. Their splits are PML's "train", "test" and "train+test"
//     (SplitTrain, SplitTest, SplitTrainTest).
//   - Features holds precomputed feature vectors read from a small binary
//     format (version 2, "GMFEATS2", closed by a CRC-32 that every read
//     verifies; Save writes it atomically) or CSV, for training an MLP
//     head.
//
// FilterClasses, Relabel and Subset derive new data sets; ClassDisjoint
// builds a class-disjoint train/test pair (train on some classes, evaluate
// retrieval on others); ParseClassList reads class lists such as "0-4".
//
// Features, Images and ImageFiles are made by their constructors (New*,
// Load*, Read*): their zero values hold no samples and are refused with an
// error wrapping gometric.ErrSetting that names the constructors, and a
// method called on a nil one returns an error (or a zero value when it has
// no error result). All three are safe for concurrent use as long as their
// exported fields are not changed meanwhile. Label values may be any
// non-negative int: nothing is allocated by label value (ClassCounts is a
// map).
//
// Memory follows the input, never a count a file declares: IDX data and
// binary feature files are read in steps as their bytes arrive (a 4 KB
// file that declares gigabytes fails at its end having allocated a
// megabyte at most), an IDX file may declare at most MaxIDXBytes (1 GiB) and a feature
// file 16 GiB, and an image file whose header declares more than
// ImageFiles.MaxPixels pixels (DefaultMaxPixels, 2^25, when 0) is refused
// before it is decoded. Binary feature files carry a CRC-32 that every
// read verifies.
//
// Errors for bad input wrap the gometric sentinels. A malformed file gives
// a *FileError (wrapping ErrFormat and a sentinel) that names the file and
// the byte offset of a binary file or the line of a text file.
package datasets
