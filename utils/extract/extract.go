// Package extract computes the features of a data set through a frozen
// encoder once, into a datasets.Features file, resumably: the frozen-trunk
// workflow of PML's examples (a pretrained trunk, never trained, under a
// small embedder) with the trunk's work done once.
//
// PML has no counterpart: its examples keep the frozen trunk in the model
// and embed every image through it again at every epoch and every test
// (the trunk in eval mode inside trainer and tester, tester's
// get_all_embeddings). Here Features embeds each sample once, in batches
// of the tester's batching (testers.GlobalEmbeddingSpace, which reads the
// next batch while the current one is embedded), checkpoints the progress
// in a partial file beside the target so that a killed or cancelled run
// continues where it stopped, and writes a feature file that an embedder
// is then trained on (datasets.Features is a datasets.Dataset).
package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/testers"
	"github.com/schollz/progressbar/v3"
)

const comp = "extract.Features"

// PartialSuffix is appended to a target's path to name its partial file.
const PartialSuffix = ".partial"

// DefaultBatchSize and DefaultChunkSize are the sizes Options' zero
// values mean.
const (
	DefaultBatchSize = 32
	DefaultChunkSize = 1024
)

// Options are the settings of Features. The zero value means the
// defaults, documented per field. Options is a plain value, safe for
// concurrent reads (its Progress writer is as safe as it is).
type Options struct {
	// BatchSize is the number of samples embedded at once. If BatchSize is
	// 0, DefaultBatchSize (32, PML's tester batch_size) is used. A partial
	// file is continued only with the batch size it was made with (an
	// encoder's last bits may depend on the batch's composition).
	BatchSize int
	// ChunkSize is the number of samples per checkpoint: the partial file
	// gains one checksummed, fsynced chunk every ChunkSize samples
	// (rounded up to a multiple of BatchSize), and a cancelled or killed
	// run loses at most the chunk it was in. If ChunkSize is 0,
	// DefaultChunkSize (1024) is used. It may change between runs.
	ChunkSize int
	// Progress, when not nil, receives a progress bar.
	Progress io.Writer
	// Key identifies the encoder, e.g. a hash of its weights and of the
	// preprocessing (at most MaxKey bytes). It is recorded in the partial
	// file, which is continued only with the same Key.
	Key string
	// Overwrite deletes a target or a partial file that does not match
	// (other data, encoder, Key or batch size, or a damaged header) and
	// extracts again, instead of returning an error.
	Overwrite bool
}

// Result is what Features did. It is a plain value, safe for concurrent
// reads (its Features are read-only).
type Result struct {
	// Features are the extracted features, labelled as the data set.
	Features *datasets.Features
	// Reused is true when the target already held them (checked as
	// Features says) and nothing but the check was embedded.
	Reused bool
	// Resumed is the number of samples taken from a partial file.
	Resumed int
	// Discarded says why the end of a partial file was dropped and
	// extracted again ("" when nothing was): a chunk cut short (what a
	// killed run leaves) or damaged.
	Discarded string
}

// ErrMismatch is wrapped, beside gometric.ErrSetting, by the errors of a
// target or partial file made for other data or another encoder.
var ErrMismatch = errors.New("made for other data or another encoder")

// Features embeds every sample of ds through enc, in order, and writes
// them with ds's labels to path as a datasets.Features file (binary, its
// version 2), atomically; it returns them.
//
// Resuming. While it runs, the features are checkpointed in
// path+PartialSuffix every ChunkSize samples (format below). When that
// file exists, Features continues from its last complete chunk; the
// result is byte for byte the file an uninterrupted run writes. The
// partial file records what it is for — the number of samples, the
// dimension, a SHA-256 of the labels, the batch size and Options.Key —
// and before it is continued the first batch of ds is embedded again and
// must give its first rows bit for bit (this catches another encoder or
// preprocessing when no Key is given, and an encoder that is not
// deterministic). A partial file that does not match is an error
// wrapping ErrMismatch and gometric.ErrSetting, one whose header is
// damaged (which no kill leaves: it is written whole) an error wrapping
// gometric.ErrShape; Features leaves both files as they are (delete the
// partial file, or set Overwrite): never a silently mixed file. Chunks
// are read in
// order while they are whole and their checksums match; the first that is
// cut short (a run killed while writing it) or damaged ends the progress
// kept: it and what follows are dropped and extracted again
// (Result.Discarded says so). When the feature file is written the
// partial file is removed.
//
// Reusing. When path already holds a feature file with ds's number of
// samples and labels, whose first rows the first batch re-embedded gives
// bit for bit, it is returned (Result.Reused) without extracting; one
// that does not match is an error wrapping ErrMismatch, one that does not
// read datasets.LoadFeatures' error (with Overwrite, either is extracted
// again).
//
// Cancelling ctx stops between batches and returns its error; the
// complete chunks stay in the partial file. All cores are used by enc's
// own parallelism and by the data set's Batch (ImageFiles decodes in
// parallel), which reads the next batch while enc embeds the current one.
// enc is called from one goroutine at a time; it and ds must not be
// changed meanwhile.
//
// The partial file, little-endian: a header
//
//	"GMFPART1"  8 bytes
//	uint64      N, the number of samples
//	uint32      D, the dimension
//	uint32      B, the batch size
//	32 bytes    SHA-256 of the N labels, each as an int64
//	uint32      K, the key's length (≤ MaxKey)
//	K bytes     the key
//	uint32      CRC-32 (IEEE) of the header's preceding bytes
//
// written with the first chunk through internal/atomicfile (so it exists
// whole or not at all), then chunks appended and fsynced one by one:
//
//	uint64      S, the first sample (the previous chunk's end; 0 first)
//	uint32      R, the number of samples (a multiple of B but for the last)
//	R·D float32 the features, sample after sample
//	uint32      CRC-32 (IEEE) of the chunk's preceding bytes
//
// Two calls must not extract to the same path at once (the partial file is
// not locked); calls for different paths are independent.
func Features(ctx context.Context, enc testers.Embedder, ds datasets.Dataset, path string, opts Options) (Result, error) {
	j, err := newJob(ctx, enc, ds, path, opts)
	if err != nil {
		return Result{}, err
	}
	return j.run()
}

// job is one call of Features.
type job struct {
	ctx     context.Context
	enc     testers.Embedder
	ds      datasets.Dataset
	path    string
	partial string
	opts    Options
	n       int
	batch   int
	chunk   int
	labels  []int
	print   [32]byte
	tester  *testers.GlobalEmbeddingSpace
	bar     *progressbar.ProgressBar
}

func newJob(ctx context.Context, enc testers.Embedder, ds datasets.Dataset, path string, opts Options) (*job, error) {
	switch {
	case ctx == nil:
		return nil, check.Settingf(comp, "nil context")
	case check.Nil(enc):
		return nil, check.Settingf(comp, "nil encoder")
	case check.Nil(ds):
		return nil, check.Settingf(comp, "nil dataset")
	case path == "":
		return nil, check.Settingf(comp, "empty path")
	case opts.BatchSize < 0:
		return nil, check.Settingf(comp, "BatchSize = %d, want at least 1 (0: %d)", opts.BatchSize, DefaultBatchSize)
	case opts.ChunkSize < 0:
		return nil, check.Settingf(comp, "ChunkSize = %d, want at least 1 (0: %d)", opts.ChunkSize, DefaultChunkSize)
	case len(opts.Key) > MaxKey:
		return nil, check.Settingf(comp, "Key of %d bytes, more than MaxKey = %d", len(opts.Key), MaxKey)
	case opts.BatchSize > 1<<30 || opts.ChunkSize > 1<<30:
		return nil, check.Settingf(comp, "BatchSize = %d, ChunkSize = %d: want at most 2^30", opts.BatchSize, opts.ChunkSize)
	}
	n := ds.Len()
	labels := ds.Labels()
	if n < 1 || len(labels) != n {
		return nil, check.Errorf(comp, gometric.ErrShape, "the data set has %d samples and %d labels: want as many, at least 1", n, len(labels))
	}
	if int64(n) > 1<<32-1 {
		return nil, check.Errorf(comp, gometric.ErrShape, "%d samples: a feature file holds at most 2^32-1", n)
	}
	for i, l := range labels {
		if l < 0 || l > 1<<31-1 {
			return nil, check.Errorf(comp, gometric.ErrLabels, "label %d of sample %d: a feature file holds labels in [0, 2^31-1]", l, i)
		}
	}
	j := &job{ctx: ctx, enc: enc, ds: ds, path: path, partial: path + PartialSuffix, opts: opts, n: n,
		batch: opts.BatchSize, chunk: opts.ChunkSize, labels: slices.Clone(labels)}
	if j.batch == 0 {
		j.batch = DefaultBatchSize
	}
	j.batch = min(j.batch, n)
	if j.chunk == 0 {
		j.chunk = DefaultChunkSize
	}
	j.chunk = (j.chunk + j.batch - 1) / j.batch * j.batch
	j.print = labelPrint(j.labels)
	j.tester = testers.NewGlobalEmbeddingSpace()
	j.tester.Normalize = false
	j.tester.BatchSize = j.batch
	return j, nil
}

// mismatch is the error of a file that does not match the job.
func (j *job) mismatch(file, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s: %w (delete it, choose another path, or set Overwrite): %w",
		comp, file, fmt.Sprintf(format, args...), ErrMismatch, gometric.ErrSetting)
}

// embed returns the features of samples [start, end): the tester's
// batching over that window of the data set. count adds them to the
// progress bar.
func (j *job) embed(start, end int, count bool) (gometric.Matrix, error) {
	enc := j.enc
	if count && j.bar != nil {
		enc = testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
			y, err := j.enc.Embed(x)
			if err == nil {
				_ = j.bar.Add(x.Rows)
			}
			return y, err
		})
	}
	m, _, err := j.tester.Embeddings(j.ctx, enc, &window{ds: j.ds, off: start, n: end - start})
	if err != nil {
		if j.ctx.Err() != nil && errors.Is(err, j.ctx.Err()) {
			return m, err
		}
		return m, fmt.Errorf("%s: samples %d to %d: %w", comp, start, end, err)
	}
	return m, nil
}

// probe re-embeds the first batch and compares it with rows (the first
// rows of a file), bit for bit.
func (j *job) probe(file string, dim int, rows []float32) error {
	m, err := j.embed(0, j.batch, false)
	if err != nil {
		return err
	}
	if m.Cols != dim {
		return j.mismatch(file, "it holds features of dimension %d, the encoder gives %d", dim, m.Cols)
	}
	for i, v := range m.Data {
		if bitsDiffer(v, rows[i]) {
			return j.mismatch(file, "the first batch embeds to other features (sample %d, feature %d: %v in the file, %v now): another encoder or preprocessing, or one that is not deterministic",
				i/dim, i%dim, rows[i], v)
		}
	}
	return nil
}

func bitsDiffer(a, b float32) bool {
	return a != b || (a == 0 && 1/a != 1/b)
}

func (j *job) run() (Result, error) {
	if res, done, err := j.reuse(); done || err != nil {
		return res, err
	}
	var res Result
	p, err := j.resume()
	if err != nil {
		return res, err
	}
	res.Resumed, res.Discarded = int(p.rows), p.bad
	if j.opts.Progress != nil {
		j.bar = progressbar.NewOptions(j.n,
			progressbar.OptionSetWriter(j.opts.Progress),
			progressbar.OptionSetDescription("extracting features"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		_ = j.bar.Set(int(p.rows))
		defer func() {
			_ = j.bar.Exit()
			fmt.Fprintln(j.opts.Progress)
		}()
	}
	data, err := j.extract(&p)
	if err != nil {
		return res, err
	}
	f, err := datasets.NewFeatures(int(p.hdr.dim), data, j.labels)
	if err != nil {
		return res, fmt.Errorf("%s: %w", comp, err)
	}
	if err := f.Save(j.path); err != nil {
		return res, fmt.Errorf("%s: %w", comp, err)
	}
	if err := os.Remove(j.partial); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("%s: %w", comp, err)
	}
	res.Features = f
	return res, nil
}

// reuse returns the target's features when it holds a matching file.
func (j *job) reuse() (Result, bool, error) {
	if _, err := os.Stat(j.path); errors.Is(err, fs.ErrNotExist) {
		return Result{}, false, nil
	}
	f, err := datasets.LoadFeatures(j.path)
	switch {
	case err == nil && f.Len() != j.n:
		err = j.mismatch(j.path, "it holds %d samples, the data set %d", f.Len(), j.n)
	case err == nil && !slices.Equal(f.Labels(), j.labels):
		err = j.mismatch(j.path, "its labels differ from the data set's")
	case err == nil:
		err = j.probe(j.path, f.Dim(), f.Data())
	default:
		err = fmt.Errorf("%s: %w", comp, err)
	}
	if err == nil {
		if err := os.Remove(j.partial); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Result{}, false, fmt.Errorf("%s: %w", comp, err)
		}
		return Result{Features: f, Reused: true}, true, nil
	}
	if j.ctx.Err() != nil || !j.opts.Overwrite {
		return Result{}, false, err
	}
	if err := os.Remove(j.path); err != nil {
		return Result{}, false, fmt.Errorf("%s: %w", comp, err)
	}
	return Result{}, false, nil
}

// resume reads the partial file (an empty partial when there is none or
// Overwrite drops it) and cuts it to its complete chunks.
func (j *job) resume() (partial, error) {
	fresh := partial{hdr: header{n: int64(j.n), batch: int64(j.batch), labels: j.print, key: j.opts.Key}}
	f, err := os.Open(j.partial)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return fresh, fmt.Errorf("%s: %w", comp, err)
	}
	p, err := readPartial(f)
	f.Close()
	if err == nil {
		err = j.matches(p)
	} else {
		err = fmt.Errorf("%s: %s: %w: %w", comp, j.partial, err, gometric.ErrShape)
	}
	if err != nil {
		if j.ctx.Err() != nil || !j.opts.Overwrite {
			return fresh, err
		}
		if err := os.Remove(j.partial); err != nil {
			return fresh, fmt.Errorf("%s: %w", comp, err)
		}
		return fresh, nil
	}
	if p.rows == 0 {
		// Not even the first chunk is whole: start again.
		if err := os.Remove(j.partial); err != nil {
			return fresh, fmt.Errorf("%s: %w", comp, err)
		}
		fresh.bad = p.bad
		return fresh, nil
	}
	if st, err := os.Stat(j.partial); err != nil {
		return fresh, fmt.Errorf("%s: %w", comp, err)
	} else if st.Size() != p.valid {
		if err := os.Truncate(j.partial, p.valid); err != nil {
			return fresh, fmt.Errorf("%s: %w", comp, err)
		}
		if p.bad == "" {
			p.bad = fmt.Sprintf("%d bytes after the last sample", st.Size()-p.valid)
		}
	}
	return p, nil
}

// matches checks that a partial file is for this job.
func (j *job) matches(p partial) error {
	h := p.hdr
	switch {
	case h.n != int64(j.n):
		return j.mismatch(j.partial, "it is for %d samples, the data set has %d", h.n, j.n)
	case h.labels != j.print:
		return j.mismatch(j.partial, "it is for other labels (SHA-256 %x, the data set's %x)", h.labels[:6], j.print[:6])
	case h.key != j.opts.Key:
		return j.mismatch(j.partial, "it is for the encoder with Key %q, not %q", clip(h.key), clip(j.opts.Key))
	case h.batch != int64(j.batch):
		return j.mismatch(j.partial, "it was embedded in batches of %d, not %d (give that BatchSize to continue it)", h.batch, j.batch)
	case p.rows == 0:
		return nil
	}
	return j.probe(j.partial, int(h.dim), p.data)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// extract embeds the samples after p's and returns all the features,
// appending a chunk to the partial file every j.chunk samples.
func (j *job) extract(p *partial) ([]float32, error) {
	var data []float32
	if p.rows > 0 {
		data = make([]float32, int64(j.n)*p.hdr.dim)
		copy(data, p.data)
	}
	var file *os.File
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	for s := int(p.rows); s < j.n; s += j.chunk {
		e := min(s+j.chunk, j.n)
		m, err := j.embed(s, e, true)
		if err != nil {
			return nil, err
		}
		if s == 0 {
			if !fits(int64(j.n), int64(m.Cols)) {
				return nil, check.Errorf(comp, gometric.ErrShape, "%d samples of dimension %d do not fit a feature file (at most 16 GiB)", j.n, m.Cols)
			}
			p.hdr.dim = int64(m.Cols)
			data = make([]float32, j.n*m.Cols)
		}
		copy(data[s*m.Cols:], m.Data)
		rec := encodeRecord(int64(s), e-s, m.Data)
		if s == 0 {
			err = atomicfile.Write(j.partial, func(w io.Writer) error {
				_, err := io.Copy(w, io.MultiReader(bytes.NewReader(encodeHeader(p.hdr)), bytes.NewReader(rec)))
				return err
			})
		} else {
			if file == nil {
				if file, err = os.OpenFile(j.partial, os.O_WRONLY|os.O_APPEND, 0); err != nil {
					return nil, fmt.Errorf("%s: %w", comp, err)
				}
			}
			if _, err = file.Write(rec); err == nil {
				err = file.Sync()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", comp, j.partial, err)
		}
	}
	return data, nil
}

// window is samples [off, off+n) of a data set.
type window struct {
	ds     datasets.Dataset
	off, n int
}

func (w *window) Len() int           { return w.n }
func (w *window) Labels() []int      { return w.ds.Labels()[w.off : w.off+w.n] }
func (w *window) SampleShape() []int { return w.ds.SampleShape() }

func (w *window) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	shifted := make([]int, len(idx))
	for k, i := range idx {
		if i < 0 || i >= w.n {
			return gometric.Matrix{}, nil, check.Errorf(comp, gometric.ErrIndex, "index %d outside [0, %d)", i, w.n)
		}
		shifted[k] = w.off + i
	}
	return w.ds.Batch(shifted, dst)
}
