package trainers

import (
	"fmt"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/models"
)

// setModes is PML's BaseTrainer.set_to_train, run before every epoch:
// each model of the trainer that has train and eval modes
// (models.EvalModer: an MLP with dropout, a ResNet) is put in eval mode
// when FreezeThese names its role (the trainer's, or the Base's when a
// trainer freezes a role for a phase) and in train mode otherwise, so a frozen
// embedder passes gradients to the trunk without dropout. A frozen trunk
// runs Embed, which is always in eval mode.
func (b *Base) setModes() error {
	list := b.Components
	if b.components != nil {
		list = b.components
	}
	for _, c := range list() {
		m, ok := c.Model.(models.EvalModer)
		if c.Kind != ModelComponent || !ok || check.Nil(m) {
			continue
		}
		frozen := b.Frozen(c.Role) || (b.frozenRole != nil && b.frozenRole(c.Role))
		if err := m.SetEvalMode(frozen); err != nil {
			return fmt.Errorf("setting the %s's mode: %w", c.Role, err)
		}
	}
	return nil
}
