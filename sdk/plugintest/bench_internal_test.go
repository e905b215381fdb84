package plugintest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuantile(t *testing.T) {
	var s []time.Duration
	for v := range 10 {
		s = append(s, time.Duration(v+1))
	}
	require.Equal(t, time.Duration(5), quantile(s, 0.5))
	require.Equal(t, time.Duration(9), quantile(s, 0.9))
	require.Equal(t, time.Duration(10), quantile(s, 0.99))
	require.Equal(t, time.Duration(1), quantile(s[:1], 0.99))
}
