package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/internal/serve"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
)

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "build":
			return runIndexBuild(ctx, args[1:], stdout, stderr)
		case "search":
			return runIndexSearch(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "Usage: gometric index build|search [flags]\n\n  build   an index file from a feature file, or from a data set through a trained model\n  search  the nearest references of query vectors or images\n")
	return fmt.Errorf("index: want build or search: %w", gometric.ErrSetting)
}

// rowsOf is a feature file's rows as the inputs of an inference.Model of
// []float32 (views into its data, not copies).
func rowsOf(f *datasets.Features) [][]float32 {
	rows := make([][]float32, f.Len())
	for i := range rows {
		rows[i] = f.Row(i)
	}
	return rows
}

func parseMetric(s string) (knn.Metric, error) {
	switch strings.ToLower(s) {
	case "l2":
		return knn.L2, nil
	case "ip", "innerproduct":
		return knn.InnerProduct, nil
	}
	return 0, fmt.Errorf("-metric %q: want l2 or ip: %w", s, gometric.ErrSetting)
}

func runIndexBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index build", "(-features FILE | -dataset KIND [-data DIR] -weights FILE) -o FILE [flags]",
		"Builds an inference index (utils/inference's index file: the unit-length reference vectors, their labels,\n"+
			"the metric and the match threshold) from a feature file, or from a split of a data set embedded through a\n"+
			"trained model (kept in -embeddings, resumable, as gometric embed). -calibrate chooses the cosine threshold\n"+
			"of best F1 on pairs of a labelled feature file (inference.LabelPairs, Model.Calibrate); otherwise\n"+
			"-threshold is used.", stderr)
	features := fs.String("features", "", "the reference vectors: a feature file (datasets.Features, binary or CSV)")
	kind, f := dataFlags(fs)
	var mf runner.ModelFlags
	mf.Register(fs)
	split := fs.String("split", runner.SplitTest, "with -dataset: the split to index: train, test, or for images all")
	embeddings := fs.String("embeddings", "", "with -dataset: the feature file the embeddings are kept in (default: -o with .gmfeats appended)")
	out := fs.String("o", "", "the index file to write")
	metric := fs.String("metric", "l2", "the index's metric: l2 (squared L2 of unit vectors, FAISS's IndexFlatL2) or ip (inner product)")
	threshold := fs.Float64("threshold", inference.DefaultThreshold, "the match threshold: a cosine similarity")
	calibrate := fs.String("calibrate", "", "a labelled feature file to calibrate the threshold on (\"refs\": the references themselves)")
	pairs := fs.Int("calibrate-pairs", 20000, "-calibrate: the number of pairs drawn, half matching")
	seed := fs.Uint64("seed", 0, "-calibrate: the seed of the pairs")
	factory := fs.String("faiss", "", "also build a FAISS index by factory string (e.g. IVF1024,Flat; HNSW32; IVF256,PQ16; needs -tags faiss), trained on the references and saved in FAISS's format as -o with .faiss appended; index search and serve use it")
	faissParams := fs.String("faiss-param", "", "-faiss: search parameters saved with it, e.g. nprobe=16 or efSearch=128")
	recallK := fs.Int("recall-k", 10, "-faiss: the k of the recall@k against exact search")
	recallN := fs.Int("recall-queries", 1000, "-faiss: the queries of the recall: rows of -calibrate's file, else references (which find themselves)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-o is required: the index file to write: %w", gometric.ErrSetting)
	}
	m, err := parseMetric(*metric)
	if err != nil {
		return err
	}
	var refs *datasets.Features
	switch {
	case (*features == "") == (*kind == ""):
		return fmt.Errorf("give -features FILE or -dataset KIND with -weights (one of the two): %w", gometric.ErrSetting)
	case *features != "":
		if refs, err = datasets.LoadFeatures(*features); err != nil {
			return err
		}
	default:
		path := *embeddings
		if path == "" {
			path = *out + ".gmfeats"
		}
		progress := stderr
		if *quiet {
			progress = nil
		}
		if refs, err = runner.EmbedData(ctx, *kind, f, &mf, *split, path, runner.EmbedOptions{}, stdout, progress); err != nil {
			return err
		}
	}
	model := inference.NewModel(inference.Rows)
	model.Metric = m
	if model.MatchFinder = inference.NewMatchFinder(nil, *threshold); *calibrate != "" {
		val := refs
		if *calibrate != "refs" {
			if val, err = datasets.LoadFeatures(*calibrate); err != nil {
				return fmt.Errorf("-calibrate: %w", err)
			}
		}
		a, b, same, err := inference.LabelPairs(val.Labels(), *pairs, *seed)
		if err != nil {
			return fmt.Errorf("-calibrate: %w", err)
		}
		x, y := make([][]float32, len(a)), make([][]float32, len(b))
		for i := range a {
			x[i], y[i] = val.Row(a[i]), val.Row(b[i])
		}
		c, err := model.Calibrate(x, y, same)
		if err != nil {
			return fmt.Errorf("-calibrate: %w", err)
		}
		fmt.Fprintf(stdout, "calibrated on %d pairs (%d matching): cosine threshold %.4f, F1 %.4f, precision %.4f, recall %.4f\n",
			len(same), c.TP+c.FN, c.Threshold, c.F1, c.Precision, c.Recall)
	}
	params, err := serve.ParseFaissParams(*faissParams)
	if err != nil {
		return err
	}
	if *factory == "" && params != nil {
		return fmt.Errorf("-faiss-param is for -faiss: %w", gometric.ErrSetting)
	}
	var fi *knn.Faiss
	if *factory != "" {
		if !knn.FaissBuilt {
			return fmt.Errorf("-faiss %s: this binary was built without FAISS: run scripts/install-faiss.sh and build with -tags faiss (CGO_ENABLED=1): %w", *factory, gometric.ErrUnsupported)
		}
		model.NewIndex = func(dim int, metric knn.Metric) (knn.Index, error) {
			f, err := knn.NewFaiss(*factory, dim, metric)
			fi = f
			return f, err
		}
	}
	t0 := time.Now()
	if err := model.Train(ctx, rowsOf(refs), refs.Labels()); err != nil {
		return err
	}
	if err := model.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d × %d unit vectors, labelled, metric %s, cosine threshold %.4f\n", *out, model.Len(), refs.Dim(), *metric, model.MatchFinder.Threshold)
	if fi == nil {
		return nil
	}
	defer fi.Close()
	for _, p := range params {
		if err := fi.SetParameter(p.Name, p.Value); err != nil {
			return err
		}
	}
	fpath := *out + serve.FaissSuffix
	if err := fi.Save(fpath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: FAISS %s (%s), trained and filled in %.1f s\n", fpath, *factory, *faissParams, time.Since(t0).Seconds())
	// recall@k against exact search.
	qsrc, what := refs, "references (each finds itself)"
	if *calibrate != "" && *calibrate != "refs" {
		if qsrc, err = datasets.LoadFeatures(*calibrate); err != nil {
			return err
		}
		what = "rows of " + *calibrate
	}
	if *recallN < 1 || *recallK < 1 || *recallK > refs.Len() {
		return fmt.Errorf("-recall-queries %d, -recall-k %d: want at least 1 query and k in [1, %d]: %w", *recallN, *recallK, refs.Len(), gometric.ErrSetting)
	}
	n := min(*recallN, qsrc.Len())
	qrows := make([][]float32, n)
	for i := range qrows {
		qrows[i] = qsrc.Row(i * qsrc.Len() / n)
	}
	approx, err := model.NearestNeighbors(qrows, *recallK)
	if err != nil {
		return err
	}
	q, err := model.Embeddings(ctx, qrows)
	if err != nil {
		return err
	}
	all, err := model.Embeddings(ctx, rowsOf(refs))
	if err != nil {
		return err
	}
	t1 := time.Now()
	exact, err := knn.Search(q, all, *recallK, m)
	if err != nil {
		return err
	}
	te := time.Since(t1)
	r, err := knn.Recall(approx, exact)
	if err != nil {
		return err
	}
	t2 := time.Now()
	if _, err := fi.Search(q, *recallK); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recall@%d of FAISS %s against exact search: %.4f on %d queries (%s); search of the %d queries: FAISS %.1f ms, exact %.1f ms\n",
		*recallK, *factory, r, n, what, n, float64(time.Since(t2).Microseconds())/1e3, float64(te.Microseconds())/1e3)
	return nil
}

// neighbour is one search result as search -json and serve print it.
type neighbour struct {
	Index    int     `json:"index"`
	Label    *int    `json:"label,omitempty"`
	Distance float32 `json:"distance"`
	Match    bool    `json:"match"`
}

func runIndexSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index search", "-index FILE (-query FILE | -image FILE[,FILE...] -weights FILE) [flags]",
		"Searches the k nearest references of every query: the rows of a feature file, or images embedded\n"+
			"through a trained model. Prints per query the references' indices, labels, distances (squared L2\n"+
			"of unit vectors, or inner products) and whether each matches under the index's threshold; with a\n"+
			"labelled query file, also the P@1 of the labels.", stderr)
	index := fs.String("index", "", "the index file (gometric index build)")
	query := fs.String("query", "", "the query vectors: a feature file (datasets.Features)")
	images := fs.String("image", "", "query images, comma-separated (with -weights: the model that made the index)")
	var mf runner.ModelFlags
	mf.Register(fs)
	k := fs.Int("k", 5, "neighbours per query")
	faissParams := fs.String("faiss-param", "", "with the FAISS index beside -index: search parameters, e.g. nprobe=16")
	asJSON := fs.Bool("json", false, "print one JSON object per query")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	if *index == "" {
		return fmt.Errorf("-index is required: %w", gometric.ErrSetting)
	}
	model, how, err := serve.OpenIndex(*index, *faissParams)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d references, %s\n", *index, model.Len(), how)
	var rows [][]float32
	var qlabels []int
	switch {
	case (*query == "") == (*images == ""):
		return fmt.Errorf("give -query FILE or -image FILE (one of the two): %w", gometric.ErrSetting)
	case *query != "":
		q, err := datasets.LoadFeatures(*query)
		if err != nil {
			return err
		}
		rows, qlabels = rowsOf(q), q.Labels()
	default:
		m, err := mf.Open()
		if err != nil {
			return err
		}
		var data [][]byte
		for _, p := range strings.Split(*images, ",") {
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("-image: %w", err)
			}
			data = append(data, b)
		}
		x, err := m.EmbedImages(data, 0)
		if err != nil {
			return err
		}
		for i := range x.Rows {
			rows = append(rows, x.Data[i*x.Cols:(i+1)*x.Cols])
		}
	}
	res, err := model.NearestNeighbors(rows, *k)
	if err != nil {
		return err
	}
	th, err := model.MatchFinder.IndexThreshold()
	if err != nil {
		return err
	}
	bound, err := th.Bound(model.Metric, model.NormalizeEmbeddings)
	if err != nil {
		return err
	}
	labels := model.Labels()
	hits := 0
	enc := json.NewEncoder(stdout)
	for q := range rows {
		ns := make([]neighbour, res.K)
		for j := range ns {
			i := res.Indices[q*res.K+j]
			d := res.Distances[q*res.K+j]
			ns[j] = neighbour{Index: i, Distance: d, Match: bound.Match(d)}
			if labels != nil {
				ns[j].Label = &labels[i]
			}
		}
		if qlabels != nil && labels != nil && labels[ns[0].Index] == qlabels[q] {
			hits++
		}
		if *asJSON {
			if err := enc.Encode(map[string]any{"query": q, "neighbors": ns}); err != nil {
				return err
			}
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "query %d", q)
		if qlabels != nil {
			fmt.Fprintf(&b, " (label %d)", qlabels[q])
		}
		b.WriteString(":")
		for _, n := range ns {
			fmt.Fprintf(&b, "  %d", n.Index)
			if n.Label != nil {
				fmt.Fprintf(&b, " [%d]", *n.Label)
			}
			fmt.Fprintf(&b, " %.4f", n.Distance)
			if n.Match {
				b.WriteString(" match")
			}
		}
		fmt.Fprintln(stdout, b.String())
	}
	if qlabels != nil && labels != nil && !*asJSON {
		fmt.Fprintf(stdout, "P@1 of the query labels: %.4f (%d of %d)\n", float64(hits)/float64(len(rows)), hits, len(rows))
	}
	return ctx.Err()
}
