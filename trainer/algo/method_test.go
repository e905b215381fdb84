package algo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
)

func TestMethodTable(t *testing.T) {
	require.Equal(t, []string{GRPO, RRPO, SRPO}, Methods())
	require.Equal(t, []Variant{Variant1x4, Variant1x8, Variant2x4}, ResetVariants())
	for _, name := range Methods() {
		m, err := MethodNamed(name)
		require.NoError(t, err)
		require.Equal(t, name, m.Name)
		_, err = NewProcedure(m.Variant)
		require.NoError(t, err, "%s: its variant has a procedure", name)
		require.Equal(t, m.Resets(), m.Localizer != "", "%s: a method has a default localizer exactly when it resets", name)
		require.NoError(t, m.CheckLocalizer(m.Localizer), "%s takes its own default localizer", name)
	}
	_, err := MethodNamed("ppo")
	require.ErrorContains(t, err, `unknown method "ppo" (have [grpo rrpo srpo])`)

	grpo, _ := MethodNamed(GRPO)
	require.Equal(t, engine.LossClip, grpo.Loss)
	require.Equal(t, VariantGRPO, grpo.VariantFor("2x4"), "grpo ignores the layout")
	require.NoError(t, grpo.CheckLocalizer(""), "grpo needs no localizer")

	srpo, _ := MethodNamed(SRPO)
	require.Equal(t, Variant2x4, srpo.VariantFor("2x4"))
	require.NoError(t, srpo.CheckLocalizer("oracle"))
	require.ErrorContains(t, srpo.CheckLocalizer("random"), `srpo does not take localizer "random"`)
	require.ErrorContains(t, srpo.CheckLocalizer(""), "must be set for srpo")

	rrpo, _ := MethodNamed(RRPO)
	require.NoError(t, rrpo.CheckLocalizer("first"), "rrpo takes any plugin")
	require.ErrorContains(t, rrpo.CheckLocalizer("self"), "rrpo resets at random")
}
