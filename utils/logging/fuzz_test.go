package logging

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/gometric/gometric"
)

const epochSeed = "epoch,iterations,loss_mean,loss_last,zero_loss_iterations,mean_pos_pairs,mean_neg_pairs,mean_triplets,precision_at_1,mean_average_precision_at_r,train_seconds,eval_seconds,warnings\n" +
	"0,0,,,,,,,NaN,0.25,,1.500,precision_at_1: every query is lone\n" +
	"1,10,0.75,0.5,0,3,0,0,0.75,0.375,2.000,1.000,\n" +
	"2,10,0.5,0.25,1,3,4,0,,,2.000,,\n"

const iterSeed = "global_iteration,epoch,iteration,loss,pos_pairs,neg_pairs,triplets,batch_size,seconds,parts\n" +
	"0,1,0,0.5,3,4,0,16,0.0100,\n" +
	"1,1,1,0.25,0,0,7,16,0.0200,a=1;b=0.5\n"

// FuzzEpochs: the per-epoch reader never panics, fails only with
// ErrShape, and what it reads writes back to a file it reads the same.
func FuzzEpochs(f *testing.F) {
	f.Add([]byte(epochSeed))
	f.Add([]byte("epoch,iterations,loss_mean,loss_last,zero_loss_iterations,mean_pos_pairs,mean_neg_pairs,mean_triplets,train_seconds,eval_seconds,warnings\n1,1,1,1,0,0,0,0,1e9,,\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		metrics, recs, err := decodeEpochs(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, gometric.ErrShape) {
				t.Fatalf("error without ErrShape: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteEpochs(&buf, metrics, recs); err != nil {
			t.Fatal(err)
		}
		m2, r2, err := decodeEpochs(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(m2, metrics) || len(r2) != len(recs) {
			t.Fatalf("round trip: %q %d, want %q %d", m2, len(r2), metrics, len(recs))
		}
		for i := range recs {
			if r2[i].Epoch != recs[i].Epoch || (r2[i].Train == nil) != (recs[i].Train == nil) || (r2[i].Metrics == nil) != (recs[i].Metrics == nil) {
				t.Fatalf("record %d: %+v, want %+v", i, r2[i], recs[i])
			}
			for k, v := range recs[i].Metrics {
				if w := r2[i].Metrics[k].Scalar; w != v.Scalar && !(math.IsNaN(w) && math.IsNaN(v.Scalar)) && math.Abs(w-v.Scalar) > 1e-9*math.Abs(v.Scalar) {
					t.Fatalf("record %d %s: %v, want %v", i, k, w, v.Scalar)
				}
			}
		}
	})
}

// FuzzIterations: the per-iteration reader never panics, fails only with
// ErrShape, and keeps whole lines of epochs up to the last asked for.
func FuzzIterations(f *testing.F) {
	f.Add([]byte(iterSeed), 1)
	f.Add([]byte(iterSeed), 0)
	f.Add([]byte("global_iteration,epoch,iteration,loss,pos_pairs,neg_pairs,triplets,batch_size,seconds,parts\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, last int) {
		recs, keep, err := decodeIterations(data, last)
		if err != nil {
			if !errors.Is(err, gometric.ErrShape) {
				t.Fatalf("error without ErrShape: %v", err)
			}
			return
		}
		if keep < 0 || keep > len(data) {
			t.Fatalf("keep %d of %d bytes", keep, len(data))
		}
		again, _, err := decodeIterations(data[:keep], math.MaxInt)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("the kept bytes read %d lines (%v), want %d", len(again), err, len(recs))
		}
		for _, r := range recs {
			if r.Epoch > last {
				t.Fatalf("kept a line of epoch %d > %d", r.Epoch, last)
			}
		}
	})
}
