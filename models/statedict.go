package models

// StateTensor is one entry of a torch state_dict: a tensor with torch's
// shape (row-major, as torch's contiguous layout). Floating-point tensors
// are held in Data as float32 (torch's float16, bfloat16 and float64 are
// converted on reading), integer tensors (BatchNorm's int64
// num_batches_tracked) in Ints; exactly one of the two is non-nil, with
// as many values as the shape's product (1 for a scalar, whose Shape is
// empty). It is a plain value, safe for concurrent reads.
type StateTensor struct {
	Shape []int
	Data  []float32
	Ints  []int64
}

// StateDict is torch's state_dict (torch.nn.Module.state_dict()): the
// tensors of a model's parameters and buffers by their torch names, e.g.
// torchvision's "layer1.0.conv1.weight" or "bn1.running_mean". It is a
// plain map, safe for concurrent reads and not for concurrent writes.
type StateDict map[string]StateTensor
